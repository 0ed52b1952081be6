import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeTransport, type Script } from '../helpers/fake-transport.js';
import { nodeReadScript } from '../helpers/node-read.js';
import { nodeReadArgv } from '../../src/facts/node-read.js';
import type { ExecResult } from '../../src/transport/types.js';
import { runInProcess, writeInventory } from '../helpers/run-cli.js';

const FIX = path.resolve(new URL('../fixtures/pve', import.meta.url).pathname);
const STATUS = readFileSync(path.join(FIX, 'corosync-quorumtool/pve9-3node-cluster-validation-siH.txt'), 'utf8');
const CONF = readFileSync(path.join(FIX, 'corosync-conf/labcluster-3node-constructed.conf'), 'utf8');
const MEMBERS = readFileSync(path.join(FIX, 'pmxcfs/members-3node-constructed.json'), 'utf8');
const VERSION = 'installed 9.0.6\n';
const NAMES = ['proxmox', 'pve2', 'pve3'];

/** A node's read: its corosync.conf, quorumtool's answer (absent: no corosync.conf), .members and the pve-manager version. */
function scripts(node: string, quorum: Partial<ExecResult> | undefined, members: Partial<ExecResult> = { stdout: MEMBERS }): Script[] {
  return [nodeReadScript(node, { ...(quorum ? { conf: { stdout: CONF }, quorum } : {}), members, version: { stdout: VERSION } })];
}

describe('pvx cluster status (in-process, fake transport)', () => {
  it('renders a table for a person; colour off without a TTY', async () => {
    const inv = writeInventory(NAMES);
    const t = new FakeTransport(NAMES.flatMap((n) => scripts(n, { stdout: STATUS })));
    const r = await runInProcess(['-i', inv, 'cluster', 'status'], t);
    t.verify();
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'Cluster  labcluster  (config version 3, knet, secure auth on)',
        'Quorum   quorate: 3 of 3 votes, quorum 2  (as seen from proxmox)',
        '',
        'NODE     ID  VOTES  STATE   ADDRESS       PVE',
        'proxmox  1   1      online  192.168.1.47  9.0.6',
        'pve2     2   1      online  192.168.1.48  9.0.6',
        'pve3     3   1      online  192.168.1.49  9.0.6',
        '',
      ].join('\n'),
    );
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(r.stderr).toBe('✔ read 3 node(s)\n');
  });

  it('--json prints one document and nothing on stderr', async () => {
    const inv = writeInventory(NAMES);
    const t = new FakeTransport(NAMES.flatMap((n) => scripts(n, { stdout: STATUS })));
    const r = await runInProcess(['-i', inv, '--json', 'cluster', 'status'], t, { tty: true });
    t.verify();
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.result.nodes).toHaveLength(3);
    expect(doc.result.source).toBe('proxmox');
  });

  it('shows an offline member and stays quorate (exit 0) when one corosync is down', async () => {
    const inv = writeInventory(NAMES);
    const two = STATUS.replace('Nodes:            3', 'Nodes:            2').replace('Total votes:      3', 'Total votes:      2').replace(/0x00000003 .*\n/, '');
    const cs = MEMBERS.replace('"pve3": { "id": 3, "online": 1', '"pve3": { "id": 3, "online": 0');
    const t = new FakeTransport([
      ...scripts('proxmox', { stdout: two }, { stdout: cs }),
      ...scripts('pve2', { stdout: two }, { stdout: cs }),
      ...scripts('pve3', { exitCode: 1, stderr: 'Cannot initialize CMAP service\n' }, { stdout: cs.replace('"nodename": "proxmox"', '"nodename": "pve3"') }),
    ]);
    const r = await runInProcess(['-i', inv, '--json', 'cluster', 'status'], t);
    t.verify();
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.result.quorum).toEqual({ quorate: true, expectedVotes: 3, totalVotes: 2, quorum: 2 });
    expect(doc.result.nodes.find((n: { name: string }) => n.name === 'pve3')).toMatchObject({ online: false, votes: null });
    expect(doc.warnings).toEqual(['pve3: corosync is not running (Cannot initialize CMAP service)']);
  });

  it('shows the members it could read and warns about a membership row it could not (exit 0)', async () => {
    const inv = writeInventory(NAMES);
    const odd = `${STATUS}0x00000004          1 192.168.1.50 (new state)\n`;
    const t = new FakeTransport([...scripts('proxmox', { stdout: odd }), ...['pve2', 'pve3'].flatMap((n) => scripts(n, { stdout: STATUS }))]);
    const r = await runInProcess(['-i', inv, '--json', 'cluster', 'status'], t);
    t.verify();
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.result.nodes.map((n: { name: string; online: boolean }) => [n.name, n.online])).toEqual([['proxmox', true], ['pve2', true], ['pve3', true]]);
    expect(doc.warnings).toEqual(["proxmox: a membership row of pvecm status pvx could not read, left out: '0x00000004          1 192.168.1.50 (new state)'"]);
  });

  it('warns about a partitioned member and speaks for the quorate side', async () => {
    const inv = writeInventory(NAMES);
    const alone = STATUS.replace('Quorate:          Yes', 'Quorate:          No').replace('Nodes:            3', 'Nodes:            1')
      .replace('Total votes:      3', 'Total votes:      1').replace('Quorum:           2', 'Quorum:           2 Activity blocked')
      .replace(/0x00000001 .*\n0x00000002 .*\n/, '');
    const t = new FakeTransport([
      ...scripts('proxmox', { stdout: STATUS }),
      ...scripts('pve2', { stdout: STATUS }),
      ...scripts('pve3', { exitCode: 2, stdout: alone }),
    ]);
    const r = await runInProcess(['-i', inv, 'cluster', 'status'], t);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('pve3 sees 1 member(s) and is NOT quorate (partitioned from proxmox?)');
  });

  it('exits 6 with the unreachable node named, and still shows the rest', async () => {
    const inv = writeInventory(NAMES);
    const t = new FakeTransport([
      ...scripts('proxmox', { stdout: STATUS }),
      ...scripts('pve2', { stdout: STATUS }),
      { node: 'pve3', argv: nodeReadArgv(), unreachable: true },
    ]);
    const r = await runInProcess(['-i', inv, 'cluster', 'status'], t);
    t.verify();
    expect(r.code).toBe(6);
    expect(r.stdout).toContain('pve3: unreachable: cannot reach pve3 over SSH: Connection refused');
    expect(r.stderr).toContain('error: cannot reach pve3 over SSH');
  });

  it('reports standalone nodes plainly', async () => {
    const inv = writeInventory(['pve1']);
    const t = new FakeTransport(scripts('pve1', undefined, { stdout: readFileSync(path.join(FIX, 'pmxcfs/members-standalone-constructed.json'), 'utf8') }));
    const r = await runInProcess(['-i', inv, 'cluster', 'status'], t);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('pve1: standalone (not in a cluster), PVE 9.0.6\n');
  });

  it('rejects a node not in the inventory before any command (exit 2)', async () => {
    const inv = writeInventory(NAMES);
    const t = new FakeTransport([]);
    const r = await runInProcess(['-i', inv, '--json', 'cluster', 'status', '--node', 'pve7'], t);
    expect(r.code).toBe(2);
    expect(t.calls).toEqual([]);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'USAGE', message: expect.stringContaining("node 'pve7' is not in the inventory") });
  });

  it('without an inventory, says how to give one (exit 2)', async () => {
    const r = await runInProcess(['cluster', 'status'], undefined, { env: { XDG_CONFIG_HOME: '/nonexistent' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: no inventory');
    expect(r.stderr).toContain('pvx lab inventory');
  });
});
