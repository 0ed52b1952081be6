/**
 * A whole cluster torn down and restored on its first run, on a lab of its own (e2ef,
 * 10.77.22.0/24, 3 nodes; real sshd and corosync, the per-node pmxcfs with its own config.db).
 * After a teardown each node writes to its own database alone; when the nodes meet again pmxcfs
 * gives all of them the database with the most writes, so the restore must decide which one wins
 * and must not lose a guest created while the nodes were apart. Runs the built bin/pvx.js; needs root.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvxAsync, type CliResult } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'e2ef';
const SUBNET = '10.77.22.0/24';
const NODES = ['pve1', 'pve2', 'pve3'];
const CLUSTER = 'e2ef-c';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const log = (line: string): void => void labLog.push(line);

let info: LabInfo;
let env: Record<string, string>;

function cli(args: string[]): Promise<CliResult> {
  return pvxAsync(['-i', info.inventory, ...args], env);
}

async function sh(node: string, script: string): Promise<string> {
  const r = await labExec(LAB, node, ['sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(`${node}: ${script}: ${r.stderr}`);
  return r.stdout;
}

/** Every guest configuration a node's /etc/pve holds. */
async function configs(node: string): Promise<string[]> {
  return (await sh(node, 'find /etc/pve/nodes -mindepth 3 -maxdepth 3 -name "*.conf" | sort')).split('\n').filter(Boolean);
}

const BEFORE = ['/etc/pve/nodes/pve1/qemu-server/100.conf', '/etc/pve/nodes/pve2/lxc/101.conf'];
const NEW_ON_PVE3 = '/etc/pve/nodes/pve3/qemu-server/300.conf';

describe.skipIf(!isRoot)('a whole cluster torn down and restored (e2ef)', () => {
  let backup = '';

  beforeAll(async () => {
    await labDown(LAB, log);
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET }, log);
    const dir = tmpDir('pvx-e2ef-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    const r = await cli(['cluster', 'create', CLUSTER, '--nodes', NODES.join(','), '--password-file', info.rootPasswordFile]);
    expect(r.code, r.stderr).toBe(0);
    for (const [node, argv] of [
      ['pve1', ['qm', 'create', '100', '--name', 'web', '--memory', '512', '--scsi0', 'local-lvm:4']],
      ['pve2', ['pct', 'create', '101', 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', '--hostname', 'dns', '--memory', '256', '--rootfs', 'local-lvm:2']],
    ] as const) {
      const made = await labExec(LAB, node, [...argv]);
      expect(made.exitCode, made.stderr).toBe(0);
    }
    for (const n of NODES) expect(await configs(n)).toEqual(BEFORE);
  });

  afterAll(async () => {
    await labDown(LAB, log);
  });

  it('tears the cluster down; pve3 then creates a guest of its own while standalone', async () => {
    const r = await cli(['--yes', 'cluster', 'teardown']);
    expect(r.code, r.stderr).toBe(0);
    const sets = readdirSync(path.join(env['PVX_STATE_DIR']!, 'backups'));
    expect(sets).toHaveLength(1);
    backup = path.join(env['PVX_STATE_DIR']!, 'backups', sets[0]!);
    expect(await configs('pve1'), r.stderr).toEqual([BEFORE[0]]);
    expect(await configs('pve2'), r.stderr).toEqual([BEFORE[1]]);
    const made = await labExec(LAB, 'pve3', ['qm', 'create', '300', '--name', 'later', '--memory', '256']);
    expect(made.exitCode, made.stderr).toBe(0);
    expect(await configs('pve3')).toEqual([NEW_ON_PVE3]);
  });

  it('refuses the restore (exit 3) naming the guest created since the backup, with nothing changed', async () => {
    const r = await cli(['--yes', 'cluster', 'restore', backup]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('pve3: VM 300 (created since the backup)');
    expect(r.stderr).toContain('--keep-changes');
    // pve3 is still standalone with its guest
    expect(await sh('pve3', 'test -e /etc/corosync/corosync.conf && echo clustered || echo standalone')).toBe('standalone\n');
    expect(await configs('pve3')).toEqual([NEW_ON_PVE3]);
  });

  it('restores every node on the first run with --keep-changes: quorate, and every node holds every guest configuration', async () => {
    const r = await cli(['--yes', '--json', 'cluster', 'restore', backup, '--keep-changes']);
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.result).toMatchObject({ outcome: 'restored', restored: NODES, changesTreatment: 'keep', guestChanges: [{ node: 'pve3', type: 'qemu', vmid: 300, change: 'created' }] });
    expect(doc.result.databases).toEqual(NODES.map((node) => ({ node, database: 'backup' })));
    const s = JSON.parse((await cli(['--json', 'cluster', 'status'])).stdout);
    expect(s.result.cluster.name).toBe(CLUSTER);
    expect(s.result.quorum.quorate).toBe(true);
    expect(s.result.nodes.map((n: { name: string; online: boolean }) => [n.name, n.online])).toEqual(NODES.map((n) => [n, true]));
    for (const n of NODES) {
      expect(await configs(n), n).toEqual([...BEFORE, NEW_ON_PVE3]);
      // the node's own database from before the restore is kept
      expect(await sh(n, 'ls -d /var/lib/pve-cluster/config.db.before-restore-*/config.db | wc -l'), n).toBe('1\n');
    }
    // a write on one member reaches the others: one cluster database again
    await sh('pve2', 'echo "# restored" > /etc/pve/restore-check.txt');
    for (const n of NODES) expect(await sh(n, 'cat /etc/pve/restore-check.txt'), n).toBe('# restored\n');
  });
});
