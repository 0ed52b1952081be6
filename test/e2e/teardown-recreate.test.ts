/**
 * A cluster torn down and created again on the same nodes, on a lab of its own (e2er, 10.77.21.0/24,
 * 3 nodes; real sshd, real corosync, simulated pmxcfs/pvecm/qm). The guests live on the first node,
 * so the other two may join again; what could stop them is the copy of the first node's folder each
 * one keeps when it is separated, which `pvecm add` counts as guests of its own. The teardown removes
 * those folders once they are in its verified backup; a stale config put back by hand is named by
 * preflight. Runs the built bin/pvx.js; needs root.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvxAsync, type CliResult } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'e2er';
const SUBNET = '10.77.21.0/24';
const NODES = ['pve1', 'pve2', 'pve3'];
const FIRST = 'e2er-a';
const SECOND = 'e2er-b';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const log = (line: string): void => void labLog.push(line);

let info: LabInfo;
let env: Record<string, string>;

/** Run the built CLI (a teardown takes longer than the synchronous helper waits). */
function cli(args: string[]): Promise<CliResult> {
  return pvxAsync(['-i', info.inventory, ...args], env);
}

async function sh(node: string, script: string): Promise<string> {
  const r = await labExec(LAB, node, ['sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(`${node}: ${script}: ${r.stderr}`);
  return r.stdout;
}

/** The node folders under a node's /etc/pve/nodes, and every guest config in them. */
async function pveNodes(node: string): Promise<{ folders: string[]; configs: string[] }> {
  const out = await sh(node, 'ls /etc/pve/nodes; echo --; find /etc/pve/nodes -mindepth 3 -maxdepth 3 -name "*.conf" | sort');
  const [folders = '', configs = ''] = out.split('--\n');
  return { folders: folders.split('\n').filter(Boolean).sort(), configs: configs.split('\n').filter(Boolean) };
}

describe.skipIf(!isRoot)('a cluster torn down and created again on the same nodes (e2er)', () => {
  beforeAll(async () => {
    await labDown(LAB, log);
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET }, log);
    const dir = tmpDir('pvx-e2er-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    const r = await cli(['cluster', 'create', FIRST, '--nodes', NODES.join(','), '--password-file', info.rootPasswordFile]);
    expect(r.code, r.stderr).toBe(0);
    for (const argv of [
      ['qm', 'create', '100', '--name', 'web', '--memory', '512', '--scsi0', 'local-lvm:4'],
      ['pct', 'create', '101', 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', '--hostname', 'dns', '--memory', '256', '--rootfs', 'local-lvm:2'],
    ]) {
      const made = await labExec(LAB, 'pve1', argv);
      expect(made.exitCode, made.stderr).toBe(0);
    }
    // half-written files, as a node separated while PVE wrote (<file>.tmp.<pid>, renamed once written)
    // keeps them in its database: no backup holds them, and they must not keep a folder from removal
    await sh('pve1', 'echo "{\\"half" > /etc/pve/nodes/pve1/lrm_status.tmp.999; echo "{\\"half" > /etc/pve/nodes/pve2/lrm_status.tmp.998');
    for (const n of NODES) await sh(n, 'test -f /etc/pve/nodes/pve1/lrm_status.tmp.999 && test -f /etc/pve/nodes/pve2/lrm_status.tmp.998');
    // every member sees the first node's guests in its /etc/pve
    for (const n of NODES) expect((await pveNodes(n)).configs).toEqual(['/etc/pve/nodes/pve1/lxc/101.conf', '/etc/pve/nodes/pve1/qemu-server/100.conf']);
  });

  afterAll(async () => {
    await labDown(LAB, log);
  });

  it('tears down: each node keeps only its own folder; the others are in its verified backup', async () => {
    const r = await cli(['--yes', '--json', 'cluster', 'teardown']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.result.outcome).toBe('torn-down');
    const others = (n: string) => NODES.filter((o) => o !== n).map((o) => `/etc/pve/nodes/${o}`);
    expect(doc.result.nodes.map((n: { name: string; foldersRemoved?: string[] }) => [n.name, n.foldersRemoved]), JSON.stringify(doc.result)).toEqual(NODES.map((n) => [n, others(n)]));
    for (const n of NODES) {
      const held = await pveNodes(n);
      expect(held.folders, n).toEqual([n]);
      expect(held.configs, n).toEqual(n === 'pve1' ? ['/etc/pve/nodes/pve1/lxc/101.conf', '/etc/pve/nodes/pve1/qemu-server/100.conf'] : []);
      // the copy: in the node's archive on this workstation and on the node, as the system's tar lists it
      const b = doc.result.backups.nodes.find((x: { node: string }) => x.node === n);
      const listing = spawnSync('tar', ['-tzf', b.file], { encoding: 'utf8' }).stdout.split('\n');
      expect(listing).toEqual(expect.arrayContaining(['etc/pve/nodes/pve1/qemu-server/100.conf', 'etc/pve/nodes/pve1/lxc/101.conf']));
      expect(await sh(n, `tar -tzf ${b.nodeFile}`)).toContain('etc/pve/nodes/pve1/qemu-server/100.conf');
    }
    expect(doc.result.notes).toContainEqual(expect.stringMatching(/^pve2: removed the other nodes' folders \/etc\/pve\/nodes\/pve1, \/etc\/pve\/nodes\/pve3 \(copies in /));
    expect(readdirSync(path.join(env['PVX_STATE_DIR']!, 'backups'))).toHaveLength(1);
  });

  it('preflight names a guest config left in another node\'s folder, and passes once it is gone', async () => {
    await sh('pve3', 'mkdir -p /etc/pve/nodes/old9/qemu-server && printf "name: ghost\\nmemory: 512\\n" > /etc/pve/nodes/old9/qemu-server/900.conf');
    const r = await cli(['--json', 'preflight', '--for', 'create', '--nodes', NODES.join(','), '--cluster-name', SECOND]);
    expect(r.code).toBe(3);
    const fails = JSON.parse(r.stdout).result.checks.filter((c: { status: string }) => c.status === 'fail');
    expect(fails).toEqual([
      expect.objectContaining({
        id: 'no-guests',
        node: 'pve3',
        message: expect.stringContaining('in the folders of other nodes, left from an earlier cluster: /etc/pve/nodes/old9/qemu-server/900.conf (VM 900 (ghost))'),
        hint: expect.stringContaining('rm -r /etc/pve/nodes/old9'),
      }),
    ]);
    await sh('pve3', 'rm -r /etc/pve/nodes/old9');
    const ok = await cli(['--json', 'preflight', '--for', 'create', '--nodes', NODES.join(','), '--cluster-name', SECOND]);
    expect(ok.code, ok.stdout).toBe(0);
  });

  it('creates a cluster again on the same nodes; the guests are still on the first node', async () => {
    const r = await cli(['cluster', 'create', SECOND, '--nodes', NODES.join(','), '--password-file', info.rootPasswordFile]);
    expect(r.stderr, r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    const s = JSON.parse((await cli(['--json', 'cluster', 'status'])).stdout);
    expect(s.result.cluster.name).toBe(SECOND);
    expect(s.result.quorum.quorate).toBe(true);
    expect(s.result.nodes.map((n: { name: string; online: boolean }) => [n.name, n.online])).toEqual(NODES.map((n) => [n, true]));
    for (const n of NODES) {
      const held = await pveNodes(n);
      expect(held.folders, n).toEqual(NODES);
      expect(held.configs, n).toEqual(['/etc/pve/nodes/pve1/lxc/101.conf', '/etc/pve/nodes/pve1/qemu-server/100.conf']);
    }
  });
});
