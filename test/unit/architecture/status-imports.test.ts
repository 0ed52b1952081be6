/**
 * What `cluster status` loads before it reads a node: zod's import costs more than the rest of the
 * command's start-up, so the inventory and the membership read check well-formed input without it
 * (zod is required only to explain a document they did not accept).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../../src');

/** Static, non-type imports of a source file: relative ones resolved, packages by name. */
function staticImports(file: string): { local: string[]; packages: string[] } {
  const text = fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|\s)\/\/.*$/gm, '$1');
  const local: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(/(?:^|[;\n])\s*(?:import|export)(\s+type)?\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g)) {
    if (m[1]) continue;
    const spec = m[2] as string;
    if (spec.startsWith('.')) local.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    else packages.push(spec);
  }
  return { local, packages };
}

/** Every package reached through static imports from these modules, with the module that imports it. */
function packagesReached(entries: string[]): Map<string, string> {
  const seen = new Set<string>();
  const out = new Map<string, string>();
  const todo = entries.map((e) => path.join(SRC, e));
  while (todo.length > 0) {
    const f = todo.pop() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    const { local, packages } = staticImports(f);
    for (const p of packages) if (!out.has(p)) out.set(p, path.relative(SRC, f));
    todo.push(...local);
  }
  return out;
}

describe('cluster status start-up', () => {
  it('finds the packages it judges (the scanner itself works)', () => {
    const reached = packagesReached(['config/inventory.ts', 'pve/parse/json.ts']);
    expect(reached.get('yaml')).toBe('config/inventory.ts');
    expect(reached.get('zod')).toBe('pve/parse/json.ts');
  });

  it('loads no zod on the way to reading the nodes', () => {
    const reached = packagesReached([
      'cli.ts', 'program.ts', 'context.ts', 'commands/cluster/status.ts', 'commands/cluster/render-status.ts',
      // the early start: the inventory, the transport and the read, before the command loads
      'commands/shared/early-reads.ts', 'config/inventory.ts', 'transport/prefetch.ts', 'facts/node-read.ts',
    ]);
    expect(reached.has('zod') ? `zod, imported by ${reached.get('zod')}` : 'no zod').toBe('no zod');
  });

  it('loads no commander before the early read starts (cli.ts imports it only with the command tree)', () => {
    const reached = packagesReached(['cli.ts', 'commands/shared/early-reads.ts', 'config/inventory.ts', 'transport/prefetch.ts', 'facts/node-read.ts', 'context.ts']);
    expect(reached.has('commander') ? `commander, imported by ${reached.get('commander')}` : 'no commander').toBe('no commander');
  });
});
