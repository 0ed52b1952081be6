// Start-up cost: `pvx --version`, `pvx --help` and a completion request against `node -e 0`, medians from one run.
// Prints ratios; not a test. Run after `npm run build`: node test/bench/startup.mjs [runs]
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const runs = Number(process.argv[2] ?? 25);
const bin = path.resolve(new URL('../../bin/pvx.js', import.meta.url).pathname);
const cases = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'pvx --version': [process.execPath, [bin, '--version']],
  'pvx --help': [process.execPath, [bin, '--help']],
  "pvx __complete -- cluster ''": [process.execPath, [bin, '__complete', '--', 'cluster', '']],
};

function once([file, args]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (const c of Object.values(cases)) once(c); // warm the file cache
for (let i = 0; i < runs; i++) for (const [k, c] of Object.entries(cases)) samples[k].push(once(c));

const base = median(samples['node -e 0']);
for (const k of Object.keys(cases)) {
  const m = median(samples[k]);
  process.stdout.write(`${k.padEnd(30)} median ${m.toFixed(1)} ms   ratio to node -e 0: ${(m / base).toFixed(2)}\n`);
}
process.stdout.write(`target: pvx adds at most half of Node's own start-up (ratio <= 1.5)\n`);
