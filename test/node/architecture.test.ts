import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

// The two products in src/: the authorization server, and the resource-server library that
// checks its tokens elsewhere (Node, another Worker). The library never loads server code.

/** The resource-server library: the `/verify`, `/hono` and `/express` package entries. */
const RESOURCE_SERVER_ENTRIES = ['src/verify/index.ts', 'src/middleware/hono.ts', 'src/middleware/express.ts'];

/** Server modules: a folder (ending in `/`) or a file. The library must not import them, even through other modules. */
const SERVER_MODULES = [
  'src/authority/',
  'src/clients/',
  'src/grants/',
  'src/http/',
  'src/metadata/',
  'src/principal/',
  'src/rate-limit/',
  'src/routes/',
  'src/storage/',
  'src/tokens/',
  'src/ui/',
  'src/create-mcp-auth.ts',
  'src/env.ts',
  'src/events.ts',
  'src/events-sink.ts',
  'src/index.ts',
  'src/lib.ts',
  'src/options.ts',
  'src/services.ts',
];

/** Packages only the Workers runtime has: the library runs in Node too. */
const WORKERS_ONLY_PACKAGES = ['cloudflare:'];

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Edge {
  /** A repository-relative path of a source file, or the bare package specifier. */
  to: string;
  /** `import type`, `export type`, or every name imported with `type`: erased from the emitted JavaScript's bindings. */
  typeOnly: boolean;
}

type ImportGraph = Map<string, Edge[]>;

function sourceFiles(root: string, dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(root, path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path.split(sep).join('/')] : [];
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `./x.js` → `dir/x.ts` or `dir/x/index.ts`, as the compiler resolves it (moduleResolution Bundler). */
function resolveRelative(root: string, from: string, specifier: string): string {
  const base = join(dirname(from), specifier).split(sep).join('/');
  const stem = base.replace(/\.(js|ts)$/, '');
  const found = [`${stem}.ts`, `${base}/index.ts`].find((candidate) => isFile(join(root, candidate)));
  if (!found) throw new Error(`${from}: import '${specifier}' resolves to no source file`);
  return found;
}

function isTypeOnlyDeclaration(statement: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isImportDeclaration(statement)) {
    const clause = statement.importClause;
    if (!clause) return false; // import './x.js': evaluated for its effects
    if (clause.isTypeOnly) return true;
    const names = clause.namedBindings;
    return !clause.name && names !== undefined && ts.isNamedImports(names) && names.elements.length > 0 && names.elements.every((name) => name.isTypeOnly);
  }
  if (statement.isTypeOnly) return true;
  const names = statement.exportClause;
  return names !== undefined && ts.isNamedExports(names) && names.elements.length > 0 && names.elements.every((name) => name.isTypeOnly);
}

/** The imports of every source file under `dir`: static imports, re-exports and `import()` calls. */
function importGraph(root: string, dir: string): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of sourceFiles(root, dir)) {
    const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const edges: Edge[] = [];
    const add = (specifier: string, typeOnly: boolean) => {
      edges.push({ to: specifier.startsWith('.') ? resolveRelative(root, file, specifier) : specifier, typeOnly });
    };
    const visit = (node: ts.Node): void => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        add(node.moduleSpecifier.text, isTypeOnlyDeclaration(node));
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const [specifier] = node.arguments;
        if (specifier && ts.isStringLiteralLike(specifier)) add(specifier.text, false);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
        add(node.argument.literal.text, true);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    graph.set(file, edges);
  }
  return graph;
}

function isServerModule(path: string, serverModules: readonly string[]): boolean {
  return serverModules.some((entry) => (entry.endsWith('/') ? path.startsWith(entry) : path === entry));
}

/** Every import chain (type-only ones included) from an entry to a forbidden module, shortest first. */
function forbiddenChains(graph: ImportGraph, entries: readonly string[], forbidden: (path: string) => boolean): string[] {
  const chains: string[] = [];
  const reached = new Map<string, string[]>(entries.map((entry) => [entry, [entry]]));
  const queue = [...entries];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const chain = reached.get(file)!;
    if (forbidden(file)) {
      chains.push(chain.join(' → '));
      continue;
    }
    for (const edge of graph.get(file) ?? []) {
      if (reached.has(edge.to)) continue;
      reached.set(edge.to, [...chain, edge.typeOnly ? `${edge.to} (type-only)` : edge.to]);
      queue.push(edge.to);
    }
  }
  return chains;
}

/** Import cycles whose every step loads a module's bindings (type-only imports excluded), each as a chain. */
function valueCycles(graph: ImportGraph): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const edge of graph.get(file) ?? []) {
      if (edge.typeOnly || !graph.has(edge.to)) continue;
      const seen = state.get(edge.to);
      if (seen === 'open') cycles.push([...path.slice(path.indexOf(edge.to)), edge.to].join(' → '));
      else if (seen === undefined) visit(edge.to);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

describe('architecture of src/', () => {
  const graph = importGraph(ROOT, 'src');

  it('the resource-server library (/verify, /hono, /express) imports no server module, even transitively', () => {
    for (const entry of RESOURCE_SERVER_ENTRIES) expect(graph.has(entry), `${entry} exists`).toBe(true);
    const chains = forbiddenChains(graph, RESOURCE_SERVER_ENTRIES, (path) => isServerModule(path, SERVER_MODULES));
    expect(chains).toEqual([]);
  });

  it('the resource-server library imports no Workers-only package (it runs in Node too)', () => {
    const chains = forbiddenChains(graph, RESOURCE_SERVER_ENTRIES, (path) => WORKERS_ONLY_PACKAGES.some((prefix) => path.startsWith(prefix)));
    expect(chains).toEqual([]);
  });

  it('src/ has no import cycle except through type-only imports', () => {
    expect(valueCycles(graph)).toEqual([]);
  });
});

describe('the architecture checks themselves, on a small source tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'mcp-auth-edge-architecture-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('src/verify/index.ts', "export { check } from './check.js';\nexport type { Shape } from '../shared/shape.js';\n");
  write('src/verify/check.ts', "import { helper } from '../shared/helper.js';\nexport const check = helper;\n");
  write('src/shared/helper.ts', "export const helper = async () => (await import('../routes/token.js')).token;\n");
  write('src/shared/shape.ts', "import type { check } from '../verify/index.js';\nexport type Shape = typeof check;\n");
  write('src/routes/token.ts', "import { type Row } from '../storage/index.js';\nexport const token: Row | undefined = undefined;\n");
  write('src/storage/index.ts', "import { token } from '../routes/token.js';\nexport type Row = typeof token;\n");
  write('src/a.ts', "import { b } from './b.js';\nexport const a = () => b;\n");
  write('src/b.ts', "import { a } from './a.js';\nimport 'cloudflare:workers';\nexport const b = () => a;\n");
  const fixture = importGraph(root, 'src');

  it('names the whole chain to a server module, through a dynamic import()', () => {
    const chains = forbiddenChains(fixture, ['src/verify/index.ts'], (path) => isServerModule(path, ['src/routes/', 'src/storage/']));
    expect(chains).toEqual(['src/verify/index.ts → src/verify/check.ts → src/shared/helper.ts → src/routes/token.ts']);
  });

  it('counts a type-only import as an import of the module', () => {
    const chains = forbiddenChains(fixture, ['src/routes/token.ts'], (path) => isServerModule(path, ['src/storage/']));
    expect(chains).toEqual(['src/routes/token.ts → src/storage/index.ts (type-only)']);
  });

  it('finds a value cycle and ignores cycles closed by a type-only import', () => {
    // verify/index ⇄ shared/shape and routes/token ⇄ storage/index are closed by type-only imports.
    expect(valueCycles(fixture)).toEqual(['src/a.ts → src/b.ts → src/a.ts']);
  });

  it('finds a Workers-only package behind a relative import', () => {
    const chains = forbiddenChains(fixture, ['src/a.ts'], (path) => path.startsWith('cloudflare:'));
    expect(chains).toEqual(['src/a.ts → src/b.ts → cloudflare:workers']);
  });

  it('reads every source file of the tree', () => {
    expect([...fixture.keys()].sort().map((path) => relative('src', path))).toEqual([
      'a.ts',
      'b.ts',
      'routes/token.ts',
      'shared/helper.ts',
      'shared/shape.ts',
      'storage/index.ts',
      'verify/check.ts',
      'verify/index.ts',
    ]);
  });
});
