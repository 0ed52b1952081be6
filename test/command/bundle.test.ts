/**
 * The one-file build (dist/bundle/) that bin/pvx.js runs: it keeps the lab and errors.js outside as
 * the files dist/ has, so an error the lab throws is an instance of the CLI's own classes, and it
 * finds the files shipped beside the code (schemas/, completions/, package.json) from its depth.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const BUNDLE = path.join(ROOT, 'dist', 'bundle');
const chunks = (): string[] => readdirSync(BUNDLE).filter((f) => f.endsWith('.js'));

async function runBundled(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { run } = (await import(pathToFileURL(path.join(BUNDLE, 'cli.js')).href)) as { run: (a: string[], o: object) => Promise<number> };
  let out = '';
  let err = '';
  const stream = () => new PassThrough();
  const io = {
    stdout: stream(), stderr: stream(), stdin: stream(), stdoutIsTTY: false, stderrIsTTY: false, stdinIsTTY: false, color: false,
    out: (t: string) => void (out += t),
    err: (t: string) => void (err += t),
  };
  const code = await run(args, { io, env: { ...process.env, NO_COLOR: '1' } });
  return { code, out, err };
}

describe.skipIf(!existsSync(path.join(BUNDLE, 'cli.js')))('the bundled CLI', () => {
  it('has no copy of errors.js and reaches the lab and errors.js as the files in dist/', () => {
    const outside = new Set<string>();
    for (const f of chunks()) {
      const text = readFileSync(path.join(BUNDLE, f), 'utf8');
      expect(text, f).not.toMatch(/class PvxError\b/);
      for (const m of text.matchAll(/(?:from |import\()"(\.\.\/[^"]+)"/g)) outside.add(m[1] as string);
    }
    expect(outside).toContain('../errors.js');
    expect([...outside].some((p) => p.startsWith('../lab/'))).toBe(true);
    for (const p of outside) {
      expect(p, 'only the lab and errors.js are kept out').toMatch(/^\.\.\/(errors\.js$|lab\/)/);
      expect(existsSync(path.join(BUNDLE, p)), p).toBe(true);
    }
  });

  it('finds package.json, schemas/ and completions/ from dist/bundle/', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const v = await runBundled(['--version']);
    expect(v.out.trim()).toBe(pkg.version);
    const s = await runBundled(['schema', 'cluster', 'status']);
    expect(s.code, s.err).toBe(0);
    expect(s.out).toBe(readFileSync(path.join(ROOT, 'schemas', 'cluster-status.json'), 'utf8'));
    const c = await runBundled(['completion', 'bash']);
    expect(c.out).toBe(readFileSync(path.join(ROOT, 'completions', 'pvx.bash'), 'utf8'));
  });
});
