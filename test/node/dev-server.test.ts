import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/** `npm run dev` as a newcomer runs it: the real npm script, wrangler dev and workerd. */
interface DevServer {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the output once it contains `text`; rejects if the server exits first. */
  waitFor: (text: string) => Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once every process holding the output pipes (npm, sh, node, wrangler) has ended. */
  outputClosed: Promise<void>;
}

const started: DevServer[] = [];
const dirs: string[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts an npm script in its own process group, as a terminal would, with its own local state. */
function startDev(script: string, args: string[], env: Record<string, string> = {}): DevServer {
  const persistTo = mkdtempSync(join(tmpdir(), 'mcp-auth-edge-dev-'));
  dirs.push(persistTo);
  const child = spawn('npm', ['run', '--silent', script, '--', ...args, '--persist-to', persistTo], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', PORT: '', ISSUER: '', ...env },
  });
  let output = '';
  const waiters: { text: string; resolve: (out: string) => void; reject: (err: Error) => void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const w of waiters.splice(0))
        w.reject(new Error(`npm run ${script} exited (code ${code}, signal ${signal}) before printing "${w.text}":\n${output}`));
      resolve({ code, signal });
    }),
  );
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const w of [...waiters]) {
      if (!output.includes(w.text)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(output);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const closed = (stream: NodeJS.ReadableStream) => new Promise<void>((resolve) => stream.once('close', resolve));
  const server: DevServer = {
    child,
    output: () => output,
    exited,
    outputClosed: Promise.all([closed(child.stdout!), closed(child.stderr!)]).then(() => undefined),
    waitFor: (text) =>
      output.includes(text)
        ? Promise.resolve(output)
        : child.exitCode !== null
          ? Promise.reject(new Error(`npm run ${script} had exited:\n${output}`))
          : new Promise((resolve, reject) => waiters.push({ text, resolve, reject })),
  };
  started.push(server);
  return server;
}

/** The processes of the group (npm, node, wrangler, workerd) still running; ended ones not yet reaped (zombies) do not count. */
function runningInGroup(pgid: number): string[] {
  const ps = spawnSync('ps', ['-eo', 'pgid=,stat=,args='], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([group, stat]) => Number(group) === pgid && !stat?.startsWith('Z'))
    .map((fields) => fields.slice(2).join(' '));
}

/** Whether something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    }).on('error', () => resolve(false));
  });
}

/** Ctrl-C: SIGINT to the whole foreground process group, as the terminal sends it; resolves when its processes have ended. */
async function pressCtrlC(server: DevServer) {
  process.kill(-server.child.pid!, 'SIGINT');
  await Promise.all([server.exited, server.outputClosed]);
}

afterEach(async () => {
  for (const server of started.splice(0)) {
    if (runningInGroup(server.child.pid!).length > 0) {
      process.kill(-server.child.pid!, 'SIGKILL');
      await Promise.all([server.exited, server.outputClosed]);
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const READY = 'mcp-auth-edge is ready at';

describe('npm run dev', () => {
  it('--port N serves the issuer http://localhost:N, prints the next steps, and Ctrl-C stops every process', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const issuer = `http://localhost:${port}`;
    const server = startDev('dev', ['--port', String(port)]);
    const output = await server.waitFor('stop:      Ctrl-C');

    expect(output).toContain(`${READY} ${issuer}`);
    expect(output).toContain(`metadata:  ${issuer}/.well-known/oauth-authorization-server`);
    expect(output).toContain(`resource:  ${issuer}/mcp`);
    expect(output).toContain('development sign-in');
    const metadata = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.token_endpoint).toBe(`${issuer}/token`);
    const resource = (await (await fetch(`${issuer}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(resource.resource).toBe(`${issuer}/mcp`);

    await pressCtrlC(server);
    expect(runningInGroup(server.child.pid!)).toEqual([]);
    expect(await listening(port)).toBe(false);
  });

  it(
    'PORT=N serves the issuer http://localhost:N; a request for another origin gets 421 and a log line that says what to set',
    { timeout: 90_000 },
    async () => {
      const port = await freePort();
      const issuer = `http://localhost:${port}`;
      const server = startDev('dev', [], { PORT: String(port) });
      await server.waitFor(`${READY} ${issuer}`);

      const metadata = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe(issuer);
      // RFC 9110 §15.5.20: the same server reached as 127.0.0.1 is not the issuer's origin.
      const misdirected = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`);
      expect(misdirected.status).toBe(421);
      const output = await server.waitFor('request origin differs from the issuer origin');
      expect(output).toMatch(/answered 421: use the issuer origin, or set ISSUER to the origin clients reach \(npm run dev: PORT=<port> sets both\)/);
      expect(output).toContain(`"requestOrigin":"http://127.0.0.1:${port}","issuerOrigin":"${issuer}"`);

      // A process manager stops the npm process alone: the signal is passed on to wrangler and workerd.
      process.kill(server.child.pid!, 'SIGTERM');
      await Promise.all([server.exited, server.outputClosed]);
      expect(runningInGroup(server.child.pid!)).toEqual([]);
      expect(await listening(port)).toBe(false);
    },
  );

  it('refuses a port that is not a number, and a loopback ISSUER on another port, naming the variable', () => {
    const run = (args: string[], env: Record<string, string>) =>
      spawnSync(process.execPath, ['scripts/dev.mjs', ...args], { encoding: 'utf8', env: { ...process.env, PORT: '', ISSUER: '', ...env } });
    const badFlag = run(['--port', '80a'], {});
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toContain('--port must be a port number from 1 to 65535, not "80a"');
    const badVariable = run([], { PORT: '70000' });
    expect(badVariable.status).toBe(2);
    expect(badVariable.stderr).toContain('PORT must be a port number from 1 to 65535, not "70000"');
    const mismatch = run(['--port', '8799'], { ISSUER: 'http://localhost:8787' });
    expect(mismatch.status).toBe(2);
    expect(mismatch.stderr).toContain('ISSUER http://localhost:8787 names port 8787 but the server listens on 8799');
  });
});

describe('npm run dev:example', () => {
  it('--port N serves the example MCP server under http://localhost:N and prints how to connect a client', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const issuer = `http://localhost:${port}`;
    const server = startDev('dev:example', ['--port', String(port)]);
    const output = await server.waitFor('stop:      Ctrl-C');

    expect(output).toContain(`MCP:       ${issuer}/mcp`);
    expect(output).toContain(`claude mcp add --transport http mcp-auth-edge-example ${issuer}/mcp`);
    expect(output).toContain('npx @modelcontextprotocol/inspector');
    const metadata = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata.issuer).toBe(issuer);
    const mcp = await fetch(`${issuer}/mcp`, { method: 'POST' });
    expect(mcp.status).toBe(401);
    expect(mcp.headers.get('www-authenticate')).toContain(`resource_metadata="${issuer}/.well-known/oauth-protected-resource/mcp"`);

    await pressCtrlC(server);
    expect(runningInGroup(server.child.pid!)).toEqual([]);
    expect(await listening(port)).toBe(false);
  });
});
