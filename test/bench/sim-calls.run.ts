// CPU (user + sys, the tool and its children) per call of the simulated PVE tools pvx calls most,
// inside a node of a 3-node lab cluster: each through the installed wrapper (the one-file bundle)
// and through the unbundled dist/lab/sim/main.js, against `node -e 0`. Totals of N calls from
// bash's `times`, so the 10 ms tick of one call averages out. Prints ratios from one run; asserts
// nothing. Lab name and subnet: PVX_BENCH_LAB / PVX_BENCH_SUBNET (defaults below).
import { it } from 'vitest';
import { labDown, labExec, labUp } from '../../src/lab/index.js';
import { formClusterWithPvecm } from '../helpers/lab-cluster.js';

const LAB = process.env['PVX_BENCH_LAB'] ?? 'benchs';
const SUBNET = process.env['PVX_BENCH_SUBNET'] ?? '10.77.23.0/24';
const CALLS = Number(process.env['PVX_BENCH_CALLS'] ?? 15);
const log = (): void => undefined;

const TOOLS: string[][] = [
  ['pveversion'],
  ['pvecm', 'status'],
  ['pvesh', 'get', '/cluster/status', '--output-format', 'json'],
  ['pvesh', 'get', '/cluster/resources', '--output-format', 'json'],
  ['qm', 'list'],
  ['ha-manager', 'status'],
];

// Runs `"$@"` $1 times (stdin /dev/null, output discarded), then `times` (not in a pipeline: a
// subshell would report its own, empty, children); its last line is the children's user and sys.
const PER_CALL = `n=$1; shift
for i in $(seq "$n"); do "$@" >/dev/null 2>&1 </dev/null; done
times
`;

const seconds = (t: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  if (!m) throw new Error(`unexpected times(1) field '${t}'`);
  return Number(m[1]) * 60 + Number(m[2]);
};

async function cpuPerCall(argv: string[]): Promise<number> {
  const r = await labExec(LAB, 'pve1', ['bash', '-c', PER_CALL, 'per-call', String(CALLS), ...argv], { timeoutMs: 600_000 });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  const [user = '', sys = ''] = (r.stdout.trim().split('\n').pop() ?? '').trim().split(/\s+/);
  return ((seconds(user) + seconds(sys)) * 1000) / CALLS;
}

it.skipIf(process.getuid?.() !== 0)('simulated tools: CPU per call, bundle vs ES modules vs node -e 0', async () => {
  try {
    const info = await labUp({ name: LAB, nodes: 3, subnet: SUBNET }, log);
    await formClusterWithPvecm(LAB, info, ['pve1', 'pve2', 'pve3']);
    const wrapper = (await labExec(LAB, 'pve1', ['cat', '/etc/pvx-lab/bin/pvecm'])).stdout;
    const entry = / (\S+\/dist\/lab\/sim\/)(\S+) pvecm /.exec(wrapper);
    if (!entry) throw new Error(`unexpected wrapper:\n${wrapper}`);
    const main = `${entry[1]}main.js`;
    const base = await cpuPerCall(['node', '-e', '0']);
    const rows: string[] = [];
    for (const t of TOOLS) {
      const viaWrapper = await cpuPerCall(t);
      const viaMain = await cpuPerCall(['node', main, ...t]);
      rows.push(
        `  ${t.join(' ').padEnd(52)} ${viaWrapper.toFixed(0).padStart(5)} ms  (x${(viaWrapper / base).toFixed(2)} node -e 0)` +
          `   main.js ${viaMain.toFixed(0).padStart(5)} ms  (wrapper/main.js ${(viaWrapper / viaMain).toFixed(2)})`,
      );
    }
    process.stdout.write(
      `\nsimulated tool calls on a lab node, CPU per call (mean of ${CALLS}); the wrapper runs ${entry[2]}\n` +
        `  node -e 0 ${' '.repeat(43)} ${base.toFixed(0).padStart(5)} ms\n${rows.join('\n')}\n`,
    );
  } finally {
    await labDown(LAB, log);
  }
}, 900_000);
