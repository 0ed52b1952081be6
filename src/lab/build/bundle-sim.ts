/**
 * Bundles the simulated PVE tools (dist/lab/sim/main.js and everything it imports) into one
 * CommonJS file, dist/lab/sim/bundle.cjs, which lab nodes run instead of main.js: a lab call starts
 * a fresh Node process, and resolving and linking ~40 ES modules cost more CPU than most tools' own
 * work. Runs after tsc (npm run build). Without a bundler the lab keeps main.js.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const entry = path.join(root, 'dist', 'lab', 'sim', 'main.js');
const out = path.join(root, 'dist', 'lab', 'sim', 'bundle.cjs');

/** Build the bundle; a missing bundler leaves the lab on main.js (reported, not fatal). */
async function bundle(): Promise<void> {
  rmSync(out, { force: true });
  let rolldown: typeof import('rolldown');
  try {
    rolldown = await import('rolldown');
  } catch {
    process.stderr.write('bundle-sim: no bundler (rolldown) installed; lab nodes will run dist/lab/sim/main.js\n');
    return;
  }
  if (!existsSync(entry)) throw new Error(`bundle-sim: ${entry} is missing; run tsc first`);
  await rolldown.build({
    input: entry,
    platform: 'node',
    logLevel: 'warn',
    output: { file: out, format: 'cjs', codeSplitting: false },
  });
}

await bundle();
