/**
 * The product's imports point one way, down the layers of ARCHITECTURE.md, and never in a circle:
 * cli → program → commands → workflows/checks → facts → pve, transport, config; ui and errors are
 * the ground (anything may import them, they import only each other). The lab is a room of its own:
 * the product reaches it only from commands/lab, lazily (a dynamic import, or types that vanish at
 * run time) and through its doors, and the lab may use only the product modules of its declared face
 * below, which its own TypeScript project (src/lab/tsconfig.json) is all it compiles besides the lab.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../../src');

/** The product modules the lab may import: this list may only shrink. */
const LAB_FACE = [
  'errors.ts',
];

/** The lab modules the product may load (lazily, from commands/lab): `pvx lab` itself and what completion needs. */
const LAB_DOORS = [
  'lab/fault-names.ts',
  'lab/guest-ids.ts',
  'lab/index.ts',
  'lab/layout.ts',
  'lab/sim/core/versions.ts',
  'lab/state.ts',
];

/** The layer of a product module: a module may import its own layer and those below it. */
function layerOf(rel: string): number {
  const top = rel.split('/')[0] as string;
  // the entry, the build step that renders the root help through the program ahead of time, and the bundler
  if (rel === 'cli.ts' || rel === 'root-help.ts' || rel === 'write-root-help.ts' || top === 'build') return 0;
  if (rel === 'program.ts') return 1;
  if (top === 'commands' || top === 'schema' || rel === 'context.ts') return 2;
  if (top === 'workflows' || top === 'checks') return 3;
  if (top === 'facts') return 4;
  if (top === 'pve' || top === 'transport' || top === 'config') return 5;
  if (top === 'ui' || rel === 'errors.ts') return 6;
  throw new Error(`${rel}: a module outside every layer (add its folder to the layer table)`);
}

interface Edge {
  from: string;
  to: string;
  dynamic: boolean;
  typeOnly: boolean;
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import of a file: static (import/export … from), side-effect and dynamic. */
function importsOf(file: string): Edge[] {
  const text = fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|\s)\/\/.*$/gm, '$1');
  const from = path.relative(SRC, file);
  const edges: Edge[] = [];
  const add = (spec: string, dynamic: boolean, typeOnly: boolean) => {
    if (!spec.startsWith('.')) return;
    const to = path.relative(SRC, path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    edges.push({ from, to, dynamic, typeOnly });
  };
  for (const m of text.matchAll(/(?:^|[;\n])\s*(import|export)(\s+type)?\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g)) {
    add(m[3] as string, false, Boolean(m[2]));
  }
  for (const m of text.matchAll(/\bimport\(\s*['"`]([^'"`]+)['"`]\s*\)/g)) add(m[1] as string, true, false);
  return edges;
}

const files = sources(SRC);
const edges = files.flatMap(importsOf);
const isLab = (rel: string) => rel.startsWith('lab/');

/** Product → lab arrows that are wrong: not from commands/lab, not lazy (dynamic or type-only), or not to a door. */
function intoLab(all: readonly Edge[]): string[] {
  return all
    .filter((e) => !isLab(e.from) && isLab(e.to))
    .filter((e) => !e.from.startsWith('commands/lab/') || !(e.dynamic || e.typeOnly) || !LAB_DOORS.includes(e.to))
    .map((e) => `${e.from} → ${e.to}`);
}

/** The product modules the lab reaches outside its face, whatever the kind of import. */
function outOfLab(all: readonly Edge[]): string[] {
  return [...new Set(all.filter((e) => isLab(e.from) && !isLab(e.to)).map((e) => e.to))].filter((m) => !LAB_FACE.includes(m));
}

/** The face and every product module it imports in turn, sorted: what the lab's project compiles besides the lab. */
function faceClosure(all: readonly Edge[]): string[] {
  const seen = new Set<string>(LAB_FACE);
  const todo = [...LAB_FACE];
  for (let m = todo.pop(); m !== undefined; m = todo.pop()) {
    for (const e of all) {
      if (e.from === m && !isLab(e.to) && !seen.has(e.to)) {
        seen.add(e.to);
        todo.push(e.to);
      }
    }
  }
  return [...seen].sort();
}

/** Strongly connected groups of more than one module (Tarjan), as sorted lists. */
function circles(all: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of all) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  let i = 0;
  const visit = (v: string) => {
    index.set(v, i);
    low.set(v, i++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (next.get(v) ?? []).includes(v)) out.push(group.sort());
    }
  };
  for (const f of files.map((f) => path.relative(SRC, f))) if (!index.has(f)) visit(f);
  return out;
}

describe('imports of src/', () => {
  it('finds the imports it judges (the scanner itself works)', () => {
    expect(edges.some((e) => e.from === 'cli.ts' && e.to === 'program.ts' && !e.dynamic)).toBe(true);
    expect(edges.some((e) => e.dynamic)).toBe(true);
    expect(edges.some((e) => e.typeOnly)).toBe(true);
    for (const e of edges) expect(fs.existsSync(path.join(SRC, e.to)), `${e.from} imports a missing ${e.to}`).toBe(true);
  });

  it('have no circle', () => {
    expect(circles(edges)).toEqual([]);
  });

  it('point down the layers of the product', () => {
    const against = edges
      .filter((e) => !isLab(e.from) && !isLab(e.to))
      .filter((e) => layerOf(e.to) < layerOf(e.from) || (layerOf(e.from) === 6 && layerOf(e.to) !== 6))
      .map((e) => `${e.from} → ${e.to}`);
    expect(against).toEqual([]);
  });

  it('reach the lab only from commands/lab, only lazily, and only through its doors', () => {
    expect(intoLab(edges)).toEqual([]);
  });

  it('leave the lab only through its declared face', () => {
    expect(outOfLab(edges)).toEqual([]);
  });

  it('give the lab project exactly its face and what the face imports, so the compiler holds the same line', () => {
    const lab = JSON.parse(fs.readFileSync(path.join(SRC, 'lab/tsconfig.json'), 'utf8')) as { files: string[]; include: string[]; compilerOptions: { composite?: boolean } };
    const listed = lab.files.map((f) => path.relative(SRC, path.resolve(SRC, 'lab', f))).sort();
    expect(listed).toEqual(faceClosure(edges));
    expect(lab.include).toEqual(['./**/*.ts']);
    expect(lab.compilerOptions.composite).toBe(true);
    const root = JSON.parse(fs.readFileSync(path.join(SRC, '../tsconfig.json'), 'utf8')) as { exclude: string[]; references: Array<{ path: string }> };
    expect(root.exclude).toEqual(['src/lab/**']);
    expect(root.references).toEqual([{ path: './src/lab' }]);
  });

  it('judge the lab boundary by these rules (each wrong arrow is caught)', () => {
    const e = (from: string, to: string, kind: 'static' | 'dynamic' | 'type' = 'static'): Edge => ({ from, to, dynamic: kind === 'dynamic', typeOnly: kind === 'type' });
    expect(
      intoLab([
        e('commands/lab/run.ts', 'lab/index.ts', 'dynamic'),
        e('commands/lab/render.ts', 'lab/index.ts', 'type'),
        e('commands/lab/run.ts', 'lab/up.ts', 'dynamic'),
        e('commands/lab/run.ts', 'lab/index.ts'),
        e('commands/cluster/create.ts', 'lab/index.ts', 'dynamic'),
        e('cli.ts', 'lab/layout.ts', 'type'),
      ]),
    ).toEqual(['commands/lab/run.ts → lab/up.ts', 'commands/lab/run.ts → lab/index.ts', 'commands/cluster/create.ts → lab/index.ts', 'cli.ts → lab/layout.ts']);
    expect(outOfLab([e('lab/up.ts', 'errors.ts'), e('lab/up.ts', 'lab/names.ts'), e('lab/up.ts', 'context.ts', 'type'), e('lab/sim/main.ts', 'commands/lab/run.ts', 'dynamic')])).toEqual([
      'context.ts',
      'commands/lab/run.ts',
    ]);
  });

  it('import no execa: the product runs its processes on transport/stream-process.ts, the lab on lab/process.ts', () => {
    const bare = /(?:from\s+|import\s*\(\s*|import\s+)['"]execa['"]/;
    expect(bare.test("import { execa } from 'execa';")).toBe(true);
    expect(files.filter((f) => bare.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(SRC, f))).toEqual([]);
    const pkg = JSON.parse(fs.readFileSync(path.join(SRC, '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('execa');
  });
});
