// docs/security.md names the test behind every defence: each named test must exist, so the
// document stays true when tests are renamed or removed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Reference {
  file: string;
  name: string;
}

/** `dir/file.test.ts › name; › other name` in the table's test column. */
function references(markdown: string): Reference[] {
  const found: Reference[] = [];
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('| **')) continue;
    const cells = line.split(' | ');
    const column = cells[cells.length - 1]!.replace(/ \|$/, '');
    let file: string | undefined;
    for (const part of column.split(/;\s*/)) {
      const match = /^(?:((?:worker|node)\/[\w.-]+\.ts)\s*(?:\([^)]*\))?\s*)?(?:›\s*(.*))?$/.exec(part.trim());
      if (!match) continue;
      if (match[1]) file = match[1];
      if (file && match[2]) found.push({ file, name: match[2] });
      else if (file && match[1] && !match[2]) found.push({ file, name: '' });
    }
  }
  return found;
}

/** The literal part of a cited name: up to a placeholder, an ellipsis or a parenthesised remark. */
function literal(name: string): string {
  return name
    .replace(/^the `?([^`]*)`? (table|tests)$/, '$1')
    .replace(/^…/, '')
    .split(/<|…| \(and | \(every/)[0]!
    .replace(/`/g, '')
    .trim();
}

describe('docs/security.md', () => {
  const markdown = readFileSync('docs/security.md', 'utf8');
  const cited = references(markdown);

  it('names a test for every threat row', () => {
    const rows = markdown.split('\n').filter((line) => line.startsWith('| **'));
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows) expect(row, row.slice(0, 80)).toMatch(/(worker|node)\/[\w.-]+\.ts/);
  });

  it.each(cited.map((r) => [`${r.file} › ${r.name || '(whole file)'}`, r] as const))('cites an existing test: %s', (_label, reference) => {
    const source = readFileSync(`test/${reference.file}`, 'utf8');
    const text = literal(reference.name);
    if (text) expect(source, `${reference.file} has no test named like "${text}"`).toContain(text);
  });
});
