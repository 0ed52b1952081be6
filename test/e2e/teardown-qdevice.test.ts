/**
 * A two-node cluster with a QDevice torn down and restored, on a lab of its own (e2eq,
 * 10.77.23.0/24, 2 nodes and a QNetd host with Debian's corosync-qnetd; the QDevice is set up with
 * the nodes' own pvecm). Teardown must remove the QDevice before any node leaves (pve-docs,
 * pvecm.adoc); the restore puts corosync.conf with its device section and the node certificates
 * back and must have the QDevice vote again. Runs the built bin/pvx.js; needs root.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labRemnants, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvxAsync, type CliResult } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'e2eq';
const SUBNET = '10.77.23.0/24';
const QNETD = '10.77.23.5';
const NODES = ['pve1', 'pve2'];
const CLUSTER = 'e2eq-c';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const log = (line: string): void => void labLog.push(line);

let info: LabInfo;
let env: Record<string, string>;

function cli(args: string[]): Promise<CliResult> {
  return pvxAsync(['-i', info.inventory, ...args], env);
}

async function sh(node: string, script: string): Promise<string> {
  const r = await labExec(LAB, node, ['sh', '-c', script], { timeoutMs: 300_000 });
  if (r.exitCode !== 0) throw new Error(`${node}: ${script}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** `corosync-quorumtool -s` of a node once `ok` accepts it (the tool exits 2 while not quorate). */
async function quorumWhen(node: string, ok: (text: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await labExec(LAB, node, ['corosync-quorumtool', '-s'], { timeoutMs: 20_000 });
    if (ok(r.stdout)) return r.stdout;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

const withDevice = (t: string) => /^Expected votes: +3$/m.test(t) && /^Total votes: +3$/m.test(t) && /^Flags: +Quorate Qdevice *$/m.test(t);

// the certificate exchange of pvecm qdevice setup is a few dozen ssh round trips: minutes on a loaded machine
describe.skipIf(!isRoot)('a cluster with a QDevice torn down and restored (e2eq)', () => {
  let backup = '';

  beforeAll(async () => {
    await labDown(LAB, log);
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET, qdevice: true }, log);
    const dir = tmpDir('pvx-e2eq-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    const r = await cli(['cluster', 'create', CLUSTER, '--nodes', NODES.join(','), '--password-file', info.rootPasswordFile]);
    expect(r.code, r.stderr).toBe(0);
    await sh('pve1', `pvecm qdevice setup ${QNETD}`);
    for (const n of NODES) await quorumWhen(n, withDevice, `the QDevice vote on ${n}`);
  }, 600_000);

  afterAll(async () => {
    await labDown(LAB, log);
    expect(await labRemnants(LAB)).toEqual({ netns: [], links: [], mounts: [], pids: [] });
  });

  it('tears the cluster down, removing the QDevice first: both nodes standalone, corosync-qdevice stopped', { timeout: 600_000 }, async () => {
    const r = await cli(['--yes', 'cluster', 'teardown']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`remove the QDevice (QNetd host ${QNETD}) from cluster '${CLUSTER}' first`);
    const sets = readdirSync(path.join(env['PVX_STATE_DIR']!, 'backups'));
    expect(sets).toHaveLength(1);
    backup = path.join(env['PVX_STATE_DIR']!, 'backups', sets[0]!);
    for (const n of NODES) {
      expect(await sh(n, 'test -e /etc/corosync/corosync.conf && echo clustered || echo standalone'), n).toBe('standalone\n');
      const active = await labExec(LAB, n, ['systemctl', 'is-active', 'corosync-qdevice']);
      expect(active.stdout.trim(), n).toBe('inactive');
    }
  });

  it('restores both nodes on the first run, and the QDevice votes again', { timeout: 600_000 }, async () => {
    const r = await cli(['--yes', '--json', 'cluster', 'restore', backup]);
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    expect(JSON.parse(r.stdout).result).toMatchObject({ outcome: 'restored', restored: NODES });
    for (const n of NODES) {
      const q = await quorumWhen(n, withDevice, `the QDevice vote on ${n} after the restore`);
      expect(q).toMatch(/^ +0 +1 +Qdevice$/m);
      expect((await sh(n, 'systemctl is-active corosync-qdevice')).trim(), n).toBe('active');
    }
    const conf = await sh('pve1', 'cat /etc/pve/corosync.conf');
    expect(conf).toContain(`      host: ${QNETD}\n`);
  });
});
