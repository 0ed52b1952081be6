// A 3-node `pvx cluster create` on a fresh lab (preflight, create, two joins with quorum waits,
// verification from every node) against the same native commands typed by hand over plain ssh in
// sequence on another fresh lab: pvecm create, read the join information, pvecm add twice, one
// pvecm status. The ratio is pvx's own overhead (preflight, checks, waits). Prints; asserts nothing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'vitest';
import { labDown, labPaths, labUp, type LabInfo } from '../../src/lab/index.js';
import { runProcess } from '../../src/lab/process.js';
import { pvx } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'benchc';
const SUBNET = '10.77.19.0/24';
const log = (): void => undefined;

async function ssh(info: LabInfo, node: string, argv: string[], input?: string): Promise<string> {
  const paths = labPaths(LAB);
  const addr = info.nodes.find((n) => n.name === node)!.address;
  const r = await runProcess(
    'ssh',
    ['-F', '/dev/null', '-i', paths.clientKey, '-o', `UserKnownHostsFile=${paths.knownHosts}`, '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', `root@${addr}`, ...argv],
    { timeoutMs: 600_000, ...(input !== undefined ? { input } : {}) },
  );
  if (r.exitCode !== 0 && argv[0] !== 'pvecm') throw new Error(`${argv.join(' ')} on ${node}: ${r.stderr}`);
  return r.stdout;
}

it.skipIf(process.getuid?.() !== 0)('cluster create: pvx vs the native commands by hand', async () => {
  const dir = tmpDir('pvx-bench-create-');
  try {
    let info = await labUp({ name: LAB, nodes: 3, subnet: SUBNET }, log);
    const t0 = performance.now();
    const r = pvx(['-i', info.inventory, 'cluster', 'create', 'bench', '--nodes', 'pve1,pve2,pve3', '--password-file', info.rootPasswordFile], {
      PVX_STATE_DIR: path.join(dir, 'state'),
      PVX_RUNTIME_DIR: path.join(dir, 'run'),
    });
    const pvxMs = performance.now() - t0;
    if (r.code !== 0) throw new Error(`pvx cluster create failed (${r.code}): ${r.stderr}`);

    await labDown(LAB, log);
    info = await labUp({ name: LAB, nodes: 3, subnet: SUBNET }, log);
    const password = readFileSync(info.rootPasswordFile, 'utf8');
    const addr = (n: string) => info.nodes.find((x) => x.name === n)!.address;
    const t1 = performance.now();
    await ssh(info, 'pve1', ['pvecm', 'create', 'bench', '--link0', addr('pve1')]);
    const join = JSON.parse(await ssh(info, 'pve1', ['pvesh', 'get', '/cluster/config/join', '--output-format', 'json'])) as { nodelist: Array<{ name: string; pve_fp: string }> };
    const fp = join.nodelist.find((n) => n.name === 'pve1')!.pve_fp;
    for (const n of ['pve2', 'pve3']) await ssh(info, n, ['pvecm', 'add', addr('pve1'), '--fingerprint', fp, '--link0', addr(n)], password);
    const status = await ssh(info, 'pve1', ['pvecm', 'status']);
    const handMs = performance.now() - t1;
    if (!/^Nodes: +3$/m.test(status)) throw new Error(`the hand-made cluster did not form:\n${status}`);

    process.stdout.write(
      `\ncluster create, 3 lab nodes (one run each)\n` +
        `  pvx cluster create (preflight, create, 2 joins, quorum waits, verify)  ${(pvxMs / 1000).toFixed(1)} s\n` +
        `  the native commands by hand over ssh, in sequence                    ${(handMs / 1000).toFixed(1)} s\n` +
        `  ratio pvx/by hand: ${(pvxMs / handMs).toFixed(2)}\n`,
    );
  } finally {
    await labDown(LAB, log);
  }
}, 600_000);
