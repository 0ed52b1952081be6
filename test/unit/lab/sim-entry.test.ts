import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { simEntry } from '../../../src/lab/node-setup.js';
import { tmpDir } from '../../helpers/tmp.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function app(files: Record<string, number>): string {
  const dir = tmpDir('pvx-sim-entry-');
  dirs.push(dir);
  mkdirSync(path.join(dir, 'dist/lab/sim'), { recursive: true });
  for (const [f, mtime] of Object.entries(files)) {
    const p = path.join(dir, 'dist/lab/sim', f);
    writeFileSync(p, '');
    utimesSync(p, mtime, mtime);
  }
  return dir;
}

describe('simEntry', () => {
  it('runs the bundle when it is at least as new as main.js', () => {
    expect(simEntry(app({ 'main.js': 1000, 'bundle.cjs': 1000 }))).toBe('dist/lab/sim/bundle.cjs');
    expect(simEntry(app({ 'main.js': 1000, 'bundle.cjs': 2000 }))).toBe('dist/lab/sim/bundle.cjs');
  });

  it('runs main.js when the bundle is missing or older (a tsc-only rebuild)', () => {
    expect(simEntry(app({ 'main.js': 1000 }))).toBe('dist/lab/sim/main.js');
    expect(simEntry(app({ 'main.js': 2000, 'bundle.cjs': 1000 }))).toBe('dist/lab/sim/main.js');
  });
});
