/**
 * The simulator stands in for Proxmox VE, so it must not reuse pvx's own code: a bug in a shared
 * parser or writer would be mirrored on both sides and never show. Every module under src/lab/sim
 * may import node: builtins, npm packages and lab files (src/lab), nothing else of pvx.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const LAB = path.join(ROOT, 'src', 'lab');
const SIM = path.join(LAB, 'sim');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Module specifiers of a source text: static imports and re-exports (also `import type`), side-effect imports, import(). */
function specifiers(source: string): string[] {
  const out: string[] = [];
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of source.matchAll(re)) if (m[1] !== undefined) out.push(m[1]);
  return out;
}

/** The file a relative specifier names (`./x.js` is the source `./x.ts`); undefined for builtins and packages. */
function resolveLocal(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return path.resolve(path.dirname(from), spec).replace(/\.js$/, '.ts');
}

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** `file: specifier` for every import of `file` that leaves src/lab. */
function escapes(file: string, source: string): string[] {
  const bad: string[] = [];
  for (const spec of specifiers(source)) {
    const target = resolveLocal(file, spec);
    if (target !== undefined && !inside(LAB, target)) bad.push(`${path.relative(ROOT, file)}: ${spec}`);
  }
  return bad;
}

describe('simulator imports', () => {
  const files = tsFiles(SIM);

  it('finds the simulator sources', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files).toContain(path.join(SIM, 'core', 'cluster.ts'));
  });

  it('recognises every form of import that leaves src/lab', () => {
    const file = path.join(SIM, 'core', 'x.ts');
    const source = [
      "import { a } from '../../../pve/parse/corosync-conf.js';",
      "import type { B } from '../../../transport/process.js';",
      "export { c } from '../../../config/paths.js';",
      "import '../../../ui/side-effect.js';",
      "const m = await import('../../../transport/quote.js');",
      "import {\n  d,\n} from '../../../errors.js';",
      "import path from 'node:path';",
      "import { execa } from 'execa';",
      "import { labPaths } from '../../layout.js';",
      "import { Die } from './errors.js';",
    ].join('\n');
    expect(escapes(file, source)).toEqual([
      'src/lab/sim/core/x.ts: ../../../pve/parse/corosync-conf.js',
      'src/lab/sim/core/x.ts: ../../../transport/process.js',
      'src/lab/sim/core/x.ts: ../../../config/paths.js',
      'src/lab/sim/core/x.ts: ../../../errors.js',
      'src/lab/sim/core/x.ts: ../../../ui/side-effect.js',
      'src/lab/sim/core/x.ts: ../../../transport/quote.js',
    ]);
  });

  it('no simulator module imports pvx code outside src/lab', () => {
    const bad = files.flatMap((f) => escapes(f, readFileSync(f, 'utf8')));
    expect(bad).toEqual([]);
  });

  it('no lab module the simulator loads reaches pvx parsers or configuration', () => {
    // the lab's own modules may start processes through pvx's process seam, but nothing that reads
    // or writes a PVE format may be reachable from the simulator
    const seen = new Set<string>();
    const queue = [...files];
    const reached: string[] = [];
    while (queue.length > 0) {
      const f = queue.pop() as string;
      if (seen.has(f)) continue;
      seen.add(f);
      if (!inside(LAB, f)) {
        reached.push(path.relative(ROOT, f));
        continue;
      }
      for (const spec of specifiers(readFileSync(f, 'utf8'))) {
        const t = resolveLocal(f, spec);
        if (t !== undefined) queue.push(t);
      }
    }
    expect(reached.filter((f) => /^src\/(pve|config|commands|workflows|checks)\//.test(f))).toEqual([]);
  });
});
