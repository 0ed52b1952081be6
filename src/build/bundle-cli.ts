/**
 * Bundles the CLI (dist/cli.js and every module it imports, the packages included) into
 * dist/bundle/: one file for what every command loads, one per lazily imported part. Node 20
 * resolves, reads and links each ES module on its own, and yaml alone is 72 CommonJS files: the
 * bundle cuts about a fifth of what a command spends before its first ssh (measured: 141 against
 * 177 ms above a bare Node start). bin/pvx.js runs dist/bundle/cli.js
 * when it exists, else dist/cli.js. Runs after tsc (npm run build).
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(dist, 'cli.js');
const out = path.join(dist, 'bundle');

/**
 * Modules kept out of the bundle, imported from dist/ as they are: the lab (a separate program
 * with its own files beside it, loaded only by `pvx lab`), and errors.js, the one module the lab
 * and the CLI share, so an error the lab throws is still an `instanceof` of the CLI's classes.
 */
function keptOut(file: string): boolean {
  return file === path.join(dist, 'errors.js') || file.startsWith(path.join(dist, 'lab') + path.sep);
}

/** Build the bundle; without a bundler the CLI runs from dist/cli.js (reported, not fatal). */
async function bundle(): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  let rolldown: typeof import('rolldown');
  try {
    rolldown = await import('rolldown');
  } catch {
    process.stderr.write('bundle-cli: no bundler (rolldown) installed; pvx runs from dist/cli.js\n');
    return;
  }
  if (!existsSync(entry)) throw new Error(`bundle-cli: ${entry} is missing; run tsc first`);
  await rolldown.build({
    input: { cli: entry },
    platform: 'node',
    logLevel: 'warn',
    plugins: [
      {
        name: 'kept-out',
        resolveId(source: string, importer: string | undefined) {
          if (!importer || !source.startsWith('.')) return null;
          const file = path.resolve(path.dirname(importer), source);
          if (!keptOut(file)) return null;
          // every chunk sits in dist/bundle/, so one relative path fits all of them
          return { id: path.relative(out, file).split(path.sep).join('/'), external: true };
        },
      },
    ],
    output: { dir: out, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
  });
}

await bundle();
