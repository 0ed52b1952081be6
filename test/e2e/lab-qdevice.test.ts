/**
 * A real QDevice in the lab (lab h3a, 10.88.4.0/24): `lab up --qdevice` adds a QNetd host with
 * sshd and Debian's corosync-qnetd; a 2-node cluster formed with the nodes' own pvecm gets the
 * QDevice with `pvecm qdevice setup` (real certutils over root ssh, real corosync-qdevice), keeps
 * quorum on one node thanks to the QNetd vote, refuses what pvecm.pm refuses, and loses the vote
 * with `pvecm qdevice remove`. `lab down` leaves nothing behind. Needs root.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labFault, labRemnants, labStatus, labUp, type LabInfo } from '../../src/lab/index.js';
import { formClusterWithPvecm } from '../helpers/lab-cluster.js';

const LAB = 'h3a';
const SUBNET = '10.88.4.0/24';
const QNETD = '10.88.4.5';
const NODES = ['pve1', 'pve2'];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function sh(node: string, argv: string[]): Promise<string> {
  const r = await labExec(LAB, node, argv, { timeoutMs: 150_000 });
  if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(' ')} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** `corosync-quorumtool -s` of a node once `ok` accepts it (the tool exits 2 while not quorate). */
async function quorumWhen(node: string, ok: (text: string) => boolean, what: string): Promise<string> {
  return until(what, async () => {
    const r = await labExec(LAB, node, ['corosync-quorumtool', '-s'], { timeoutMs: 20_000 });
    return ok(r.stdout) ? r.stdout : undefined;
  });
}

// the certificate exchange is a few dozen ssh round trips: on a loaded 2-core machine it takes minutes
describe.skipIf(!isRoot)('a QNetd host and pvecm qdevice in the lab (h3a)', () => {
  const log: string[] = [];
  let info: LabInfo;
  let oddCount: { exitCode: number; stdout: string; stderr: string } | undefined;

  beforeAll(async () => {
    await labDown(LAB, (l) => void log.push(l));
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET, qdevice: true }, (l) => void log.push(l));
    // while pve1 is the only member, the node count is odd
    await formClusterWithPvecm(LAB, info, NODES, 120_000, async () => {
      oddCount = await labExec(LAB, 'pve1', ['pvecm', 'qdevice', 'setup', QNETD]);
    });
  });

  afterAll(async () => {
    await labDown(LAB, (l) => void log.push(l));
    const left = await labRemnants(LAB);
    expect(left).toEqual({ netns: [], links: [], mounts: [], pids: [] });
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(/pvx-h3a-/);
  });

  it('brings up the QNetd host with sshd and corosync-qnetd, and lab status reports it', async () => {
    expect(info.qnetd).toEqual({ name: 'qnetd', address: QNETD });
    const st = await labStatus(LAB);
    expect(st.qnetd).toMatchObject({ name: 'qnetd', address: QNETD, running: true, sshd: true, qnetd: true });
    // a PVE node has no corosync-qnetd package, so no /etc/corosync/qnetd (the host's is hidden)
    for (const node of NODES) expect((await labExec(LAB, node, ['test', '-e', '/etc/corosync/qnetd'])).exitCode, node).toBe(1);
  });

  it('sets up the QDevice: 3 expected and total votes, the Qdevice flags and row', { timeout: 420_000 }, async () => {
    const started = Date.now();
    const out = await sh('pve1', ['pvecm', 'qdevice', 'setup', QNETD]);
    log.push(`pvecm qdevice setup took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const step of [
      'INFO: initializing qnetd server',
      'INFO: copying CA cert and initializing on all nodes',
      'INFO: generating cert request',
      'INFO: copying exported cert request to qnetd server',
      'INFO: sign and export cluster cert',
      'INFO: copy exported CRT',
      'INFO: import certificate',
      'INFO: copy and import pk12 cert to all nodes',
      'INFO: add QDevice to cluster configuration',
      "INFO: start and enable corosync qdevice daemon on node 'pve1'...",
      "INFO: start and enable corosync qdevice daemon on node 'pve2'...",
    ]) {
      expect(out).toContain(`\n${step}\n`);
    }
    expect(out).toContain("node 'pve2': pk12util: PKCS12 IMPORT SUCCESSFUL");
    const conf = await sh('pve1', ['cat', '/etc/pve/corosync.conf']);
    expect(conf).toContain(`  device {\n    model: net\n    net {\n      algorithm: ffsplit\n      host: ${QNETD}\n      tls: on\n    }\n    votes: 1\n  }\n`);
    expect(conf).toMatch(/config_version: 3\n/);
    for (const node of NODES) {
      const q = await quorumWhen(node, (t) => /^Total votes: +3$/m.test(t), `3 votes on ${node}`);
      expect(q).toMatch(/^Expected votes: +3$/m);
      expect(q).toMatch(/^Flags: +Quorate Qdevice *$/m);
      expect(q).toMatch(/^ +0 +1 +Qdevice$/m);
      expect(q).toMatch(new RegExp(`^ +\\d +1 +A,V,NMW ${node} \\(local\\)$`, 'm'));
      expect((await sh(node, ['systemctl', 'is-active', 'corosync-qdevice'])).trim()).toBe('active');
    }
    const status = await sh('pve1', ['pvecm', 'status']);
    expect(status).toContain('    Nodeid      Votes    Qdevice Name\n');
    expect(status).toMatch(/^0x00000001 +1 +A,V,NMW 10\.88\.4\.11 \(local\)$/m);
    expect(status).toMatch(/^0x00000000 +1 +Qdevice$/m);
  });

  it('refused a setup while the cluster had one node (odd count, no --force)', () => {
    expect(oddCount).toMatchObject({ exitCode: 255, stdout: '', stderr: 'Clusters with an odd node count are not officially supported!\n' });
  });

  it('refuses a second setup without --force', async () => {
    const r = await labExec(LAB, 'pve1', ['pvecm', 'qdevice', 'setup', QNETD]);
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toBe('QDevice already configured!\n');
  });

  it('keeps the remaining node quorate through the QNetd vote when the other is cut off', { timeout: 300_000 }, async () => {
    await labFault(LAB, 'pve2', 'down');
    const q = await quorumWhen('pve1', (t) => /^Nodes: +1$/m.test(t), 'pve1 alone in its partition');
    expect(q).toMatch(/^Quorate: +Yes$/m);
    expect(q).toMatch(/^Expected votes: +3$/m);
    expect(q).toMatch(/^Total votes: +2$/m);
    expect(q).toMatch(/^ +0 +1 +Qdevice$/m);
    const refused = await labExec(LAB, 'pve1', ['pvecm', 'qdevice', 'remove']);
    expect(refused.exitCode).toBe(255);
    expect(refused.stderr).toBe('All nodes must be online! Node pve2 is offline, aborting.\n');
    await labFault(LAB, 'pve2', 'heal');
    await quorumWhen('pve1', (t) => /^Nodes: +2$/m.test(t) && /^Total votes: +3$/m.test(t), 'pve2 back with the QDevice vote');
    // corosync is whole again; pmxcfs takes writes once its members have synced their databases
    await until('a writable /etc/pve on pve1 and pve2', async () => {
      for (const node of NODES) {
        const r = await labExec(LAB, node, ['sh', '-c', 'echo x > /etc/pve/heal-check.tmp && rm /etc/pve/heal-check.tmp'], { timeoutMs: 20_000 });
        if (r.exitCode !== 0) return undefined;
      }
      return true;
    });
  });

  it('removes the QDevice: expected votes back to 2, corosync-qdevice stopped, then refuses a second remove', { timeout: 300_000 }, async () => {
    const out = await sh('pve1', ['pvecm', 'qdevice', 'remove']);
    expect(out).toMatch(/\nRemoved Qdevice\.\n$/);
    const conf = await sh('pve1', ['cat', '/etc/pve/corosync.conf']);
    expect(conf).not.toContain('device {');
    for (const node of NODES) {
      const q = await quorumWhen(node, (t) => /^Expected votes: +2$/m.test(t), `2 expected votes on ${node}`);
      expect(q).toMatch(/^Total votes: +2$/m);
      expect(q).not.toContain('Qdevice');
      const active = await labExec(LAB, node, ['systemctl', 'is-active', 'corosync-qdevice']);
      expect(active.stdout.trim()).toBe('inactive');
      expect((await labExec(LAB, node, ['test', '-e', '/etc/corosync/qdevice'])).exitCode).toBe(1);
    }
    const again = await labExec(LAB, 'pve1', ['pvecm', 'qdevice', 'remove']);
    expect(again.exitCode).toBe(255);
    expect(again.stderr).toBe('No QDevice configured!\n');
  });
});
