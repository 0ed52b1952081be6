/** Every fixture says where it comes from: one row of test/fixtures/pve/SOURCES.md per file. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const SOURCES = path.join(FIXTURES, 'pve', 'SOURCES.md');

/** Files under a fixtures directory, as paths relative to test/fixtures/. */
function files(dir: string): string[] {
  return readdirSync(path.join(FIXTURES, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(FIXTURES, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((f) => f !== 'pve/SOURCES.md')
    .sort();
}

/** The table rows of SOURCES.md: file and provenance. */
function rows(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(SOURCES, 'utf8').split('\n')) {
    const m = /^\| (\S+) \| (.*) \|$/.exec(line);
    if (m && m[1] !== 'file' && !m[1]!.startsWith('---')) out.set(m[1]!, m[2]!);
  }
  return out;
}

describe('test/fixtures/pve/SOURCES.md', () => {
  const listed = rows();
  const present = [...files('pve'), ...files('host')];

  it('finds the fixtures and the rows (the walk and the table are read at all)', () => {
    expect(present).toContain('pve/pvecm-status/pve9-3node-cluster-validation.txt');
    expect(present).toContain('host/ip-o-addr-debian12.txt');
    expect(listed.size).toBeGreaterThan(0);
  });

  it('lists every fixture file', () => {
    expect(present.filter((f) => !listed.has(f))).toEqual([]);
  });

  it('lists no file that is not there', () => {
    expect([...listed.keys()].filter((f) => !present.includes(f))).toEqual([]);
  });

  it('says for each whether it is real (and from where) or constructed (and why)', () => {
    const vague = [...listed].filter(([, p]) => !/^(real|constructed) — \S/.test(p)).map(([f]) => f);
    expect(vague).toEqual([]);
  });
});
