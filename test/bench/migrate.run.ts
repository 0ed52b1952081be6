// `pvx migrate` of 24 guests between two nodes of a lab (benchm, 10.77.18.0/24), one at a time and
// four at a time. Every guest is a running 1.5 GiB VM on shared storage moved with --bwlimit 256, so
// the sim spends the same time on each (6 simulated seconds, scaled by PVX_SIM_TIME_SCALE to 3 s);
// pvx's own reads and the sim's process start-ups come on top. The makespan ratio parallel-4 /
// parallel-1 shows what the pool buys (ideal 0.25). Prints; asserts nothing.
import path from 'node:path';
import { it } from 'vitest';
import { labDown, labExec, labUp } from '../../src/lab/index.js';
import { pvx } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'benchm';
const SUBNET = '10.77.18.0/24';
const GUESTS = 24;
const TIME_SCALE = '0.5';
const log = (): void => undefined;

async function sh(node: string, argv: string[], input?: string): Promise<string> {
  const r = await labExec(LAB, node, argv, { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
  if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

it.skipIf(process.getuid?.() !== 0)('migrate: --parallel 4 against --parallel 1', async () => {
  const dir = tmpDir('pvx-bench-migrate-');
  const env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
  try {
    await labDown(LAB, log);
    const info = await labUp({ name: LAB, nodes: 2, subnet: SUBNET }, log);
    for (const n of ['pve1', 'pve2']) await sh(n, ['sh', '-c', `echo PVX_SIM_TIME_SCALE=${TIME_SCALE} >> /etc/environment`]);
    const made = pvx(['-i', info.inventory, 'cluster', 'create', LAB, '--nodes', 'pve1,pve2', '--password-file', info.rootPasswordFile], env);
    // no cluster is formed behind pvx's back: a failed create is the bench's result
    if (made.code !== 0) throw new Error(`pvx cluster create failed (${made.code}): ${made.stdout}\n${made.stderr}`);
    for (let i = 0; i < GUESTS; i++) {
      const id = String(1000 + i);
      await sh('pve1', ['qm', 'create', id, '--name', `bench${id}`, '--memory', '1536', '--scsi0', 'labshare:1']);
      await sh('pve1', ['qm', 'start', id]);
    }
    const ids = `1000-${1000 + GUESTS - 1}`;
    const timed = (to: string, parallel: number): number => {
      const t0 = performance.now();
      const r = pvx(['-i', info.inventory, '--json', 'migrate', ids, '--to', to, '--online', '--bwlimit', '256', '--parallel', String(parallel)], env);
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`pvx migrate --parallel ${parallel} failed (${r.code}): ${r.stdout}\n${r.stderr}`);
      return ms;
    };
    const one = timed('pve2', 1);
    const four = timed('pve1', 4);
    process.stdout.write(
      `\nmigrate ${GUESTS} running VMs between 2 lab nodes (each 3 s of simulated transfer, scale ${TIME_SCALE})\n` +
        `  --parallel 1  ${(one / 1000).toFixed(1)} s\n` +
        `  --parallel 4  ${(four / 1000).toFixed(1)} s\n` +
        `  makespan ratio parallel-4 / parallel-1: ${(four / one).toFixed(2)} (target <= 0.35, ideal 0.25)\n`,
    );
  } finally {
    await labDown(LAB, log);
  }
}, 600_000);
