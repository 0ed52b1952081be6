import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli.js';
import { FakeHa } from '../helpers/fake-ha.js';
import { writeInventory } from '../helpers/run-cli.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';
import { sample } from '../unit/checks/scenario.js';
import type { ExecResult, Transport } from '../../src/transport/types.js';

async function pvx(args: string[], t: Transport, nodes = ['pve1', 'pve2', 'pve3']) {
  const io = testIO({ tty: false });
  const state = tmpDir('pvx-state-');
  const inv = writeInventory(nodes);
  const code = await run(['-i', inv, ...args], { io, env: { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run') }, cwd: state, transportFactory: () => t });
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

function cluster(major: 8 | 9): FakeHa {
  return new FakeHa(major).with(
    { vmid: 100, type: 'qemu', node: 'pve1', running: true },
    { vmid: 101, type: 'qemu', node: 'pve2', running: false },
    { vmid: 102, type: 'qemu', node: 'pve3', running: true, storage: 'local-lvm' },
    { vmid: 103, type: 'lxc', node: 'pve1', running: false },
  );
}

describe('pvx ha add', () => {
  it('PVE 9: adds each guest in the state it is in and makes a node-affinity rule; a stopped guest stays stopped', async () => {
    const fc = cluster(9);
    const r = await pvx(['ha', 'add', '100', '101', '--nodes', 'pve2,pve1:2'], fc);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(fc.mutations()).toEqual([
      'pve1: ha-manager add vm:100 --state started',
      'pve1: ha-manager add vm:101 --state stopped',
      expect.stringMatching(/^pve1: ha-manager rules add node-affinity pvx-[0-9a-f]{8} --resources vm:100,vm:101 --nodes pve1:2,pve2 --strict 0$/),
    ]);
    expect(fc.running(101)).toBe(false);
    expect(fc.running(100)).toBe(true);
    expect(r.stderr).toContain('vm:101: it is stopped: added with --state stopped so HA does not start it');
    expect(r.stdout).toMatch(/added vm:100 \(started\), vm:101 \(stopped\) to HA with rule pvx-[0-9a-f]{8} \(pve1:2,pve2\)/);
    // waited for the HA stack before calling it done
    expect(fc.calls.some((c) => c.argv.join(' ') === 'ha-manager status')).toBe(true);
    fc.verify();
  });

  it('PVE 8: makes an HA group first and adds with --group; a second add with the same preference reuses it', async () => {
    const fc = cluster(8);
    const r = await pvx(['ha', 'add', '100', '--nodes', 'pve1:2,pve2', '--strict', '--max-relocate', '2'], fc);
    expect(r.code).toBe(0);
    const [groupadd, add] = fc.mutations();
    const id = /groupadd (pvx-[0-9a-f]{8})/.exec(groupadd ?? '')?.[1];
    expect(groupadd).toBe(`pve1: ha-manager groupadd ${id} --nodes pve1:2,pve2 --restricted 1`);
    expect(add).toBe(`pve1: ha-manager add vm:100 --state started --group ${id} --max_relocate 2`);
    const again = await pvx(['ha', 'add', '101', '--nodes', 'pve2,pve1:2', '--strict', '--state', 'started'], fc);
    expect(again.code).toBe(0);
    expect(fc.mutations().slice(2)).toEqual([`pve1: ha-manager add vm:101 --state started --group ${id}`]);
    expect(fc.running(101)).toBe(true);
    fc.verify();
  });

  it('--dry-run shows the commands of the detected version and changes nothing', async () => {
    const nine = cluster(9);
    const r9 = await pvx(['--dry-run', '--json', 'ha', 'add', '100', '--nodes', 'pve1'], nine);
    expect(r9.code).toBe(0);
    const doc9 = JSON.parse(r9.stdout);
    expect(doc9.result.pve).toBe(9);
    expect(doc9.result.plan.map((s: { command: string[] }) => s.command.slice(0, 4).join(' '))).toEqual(['ha-manager add vm:100 --state', 'ha-manager rules add node-affinity', 'ha-manager status']);
    expect(nine.mutations()).toEqual([]);
    const eight = cluster(8);
    const r8 = await pvx(['--dry-run', 'ha', 'add', '100', '--nodes', 'pve1'], eight);
    expect(r8.stdout).toContain('PVE 8: node preferences as HA groups');
    expect(r8.stdout).toMatch(/ha-manager groupadd pvx-[0-9a-f]{8} --nodes pve1 --restricted 0\n/);
    expect(eight.mutations()).toEqual([]);
    nine.verify();
    eight.verify();
  });

  it('refuses a guest whose disk is on local storage, with the reason and the fix; nothing changes (exit 3)', async () => {
    const fc = cluster(9);
    const r = await pvx(['ha', 'add', '100', '102'], fc);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('vm:102 (on pve3): scsi0 is on local storage local-lvm (lvmthin): HA could not restart the guest on pve1, pve2; move it to shared storage (qm disk move 102 scsi0 <shared storage>)');
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('accepts local ZFS replicated to every candidate node, with a warning about data loss', async () => {
    const fc = cluster(9).with({ vmid: 104, type: 'qemu', node: 'pve1', running: false, storage: 'tank' });
    fc.replication.set(104, ['pve2']);
    const partial = await pvx(['ha', 'add', '104'], fc);
    expect(partial.code).toBe(3);
    expect(partial.stderr).toContain('replicate it to pve3 (pvx replication add 104 --to pve3) or move it to shared storage');
    fc.replication.set(104, ['pve2', 'pve3']);
    const r = await pvx(['ha', 'add', '104'], fc);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('vm:104: scsi0 is on local ZFS storage tank, replicated to pve2, pve3: a recovery loses what changed since the last sync');
    fc.verify();
  });

  it('reads the replication jobs it can and warns about a pvesr row it cannot; an unread job never counts as replication', async () => {
    const fc = cluster(9).with({ vmid: 104, type: 'qemu', node: 'pve1', running: false, storage: 'tank' });
    fc.replication.set(104, ['pve2']);
    fc.pvesrExtraRows.push('104-1                local/pve3                 */15     -      yes   (new column)');
    const refused = await pvx(['--json', 'ha', 'add', '104'], fc);
    expect(refused.code).toBe(3);
    expect(JSON.parse(refused.stdout).error.message).toContain('replicate it to pve3 (pvx replication add 104 --to pve3) or move it to shared storage');
    expect(fc.mutations()).toEqual([]);
    fc.replication.set(104, ['pve2', 'pve3']);
    const r = await pvx(['--json', 'ha', 'add', '104'], fc);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).warnings).toContain("pve1: a row of pvesr list pvx could not read, left out: '104-1                local/pve3                 */15     -      yes   (new column)'");
    fc.verify();
  });

  it('refuses a VM disk given as a host path, naming the disk and the fix; nothing changes (exit 3)', async () => {
    const fc = cluster(9).with({ vmid: 104, type: 'qemu', node: 'pve1', running: true, disks: ['scsi0: labshare:vm-104-disk-0,size=8G', 'scsi1: /dev/sdb'] });
    const r = await pvx(['--json', 'ha', 'add', '100', '104'], fc);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.message).toContain(
      'vm:104 (on pve1): scsi1 is the host disk /dev/sdb: HA could not start the VM on pve2, pve3, and PVE refuses to migrate it ("local file/device"); copy it onto shared storage (qm disk import 104 /dev/sdb <shared storage>, then use that volume as scsi1), or, if /dev/sdb is the same shared device on every node, add shared=1 to scsi1',
    );
    expect(doc.error.details.guests.map((g: { sid: string; outcome: string }) => [g.sid, g.outcome])).toEqual([
      ['vm:100', 'added'],
      ['vm:104', 'refused'],
    ]);
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('adds a VM whose cloud-init drive is on local storage every node has (PVE writes it anew where the VM starts)', async () => {
    const fc = cluster(9).with({ vmid: 105, type: 'qemu', node: 'pve2', running: true, disks: ['ide2: local-lvm:vm-105-cloudinit,media=cdrom', 'scsi0: labshare:vm-105-disk-0,size=8G'] });
    const r = await pvx(['ha', 'add', '105'], fc);
    expect(r.code).toBe(0);
    expect(fc.mutations()).toEqual(['pve1: ha-manager add vm:105 --state started']);
    fc.verify();
  });

  it('refuses a two-node cluster (HA needs three votes); nothing changes', async () => {
    const fc = new FakeHa(9, ['pve1', 'pve2']).with({ vmid: 100, type: 'qemu', node: 'pve1', running: true });
    const r = await pvx(['ha', 'add', '100'], fc, ['pve1', 'pve2']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ha-votes: the cluster has only 2 expected vote(s)');
    expect(r.stderr).toContain('then: pvx cluster qdevice add <host>');
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('is a no-op for a guest that is an HA resource already', async () => {
    const fc = cluster(9);
    expect((await pvx(['ha', 'add', '100'], fc)).code).toBe(0);
    const before = fc.mutations().length;
    const r = await pvx(['--json', 'ha', 'add', '100'], fc);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).result.guests).toEqual([expect.objectContaining({ sid: 'vm:100', outcome: 'unchanged' })]);
    expect(fc.mutations()).toHaveLength(before);
    fc.verify();
  });

  it('exits 4 naming the undo command when the HA stack does not take the change', async () => {
    const fc = cluster(9);
    fc.crm = 'stuck';
    const r = await pvx(['ha', 'add', '100', '--timeout', '1'], fc);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/the HA stack did not settle within 1 s: vm:100 is queued on pve1 \(want started\)/);
    expect(r.stderr).toMatch(/undo with: pvx -i \S+ ha remove 100/);
    fc.verify();
  });

  it.each([
    [['ha', 'add', 'abc'], "'abc' is not a guest selector"],
    [['ha', 'add', '99'], "'99' is not a VMID"],
    [['ha', 'add', '100', '--nodes', 'pve1:high'], 'the priority of pve1 must be a whole number'],
    [['ha', 'add', '100', '--nodes', 'pve1,pve1'], '--nodes names pve1 twice'],
    [['ha', 'add', '100', '--nodes', 'pve7'], "--nodes: pve7 is not in the inventory"],
    [['ha', 'add', '100', '--strict'], '--strict needs --nodes'],
    [['ha', 'add', '100', '--state', 'running'], '--state must be one of started, stopped, disabled, ignored'],
    [['ha', 'add', '100', '--max-restart', '-1'], '--max-restart must be a whole number'],
    [['ha', 'set', '100'], 'nothing to change'],
    [['ha', 'budget', '101'], 'is not an availability percentage'],
  ])('bad input %j exits 2 before any command runs', async (args, message) => {
    const fc = cluster(9);
    const r = await pvx(args, fc);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(fc.calls).toEqual([]);
  });

  it('an unknown VMID exits 2 after the read, before any change', async () => {
    const fc = cluster(9);
    const r = await pvx(['ha', 'add', '100', '555'], fc);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no such guest(s) in the cluster: 555');
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });
});

describe('pvx ha set and remove', () => {
  it('set --state waits for the HA stack; set --nodes on PVE 9 moves the resource to a rule of that preference', async () => {
    const fc = cluster(9);
    await pvx(['ha', 'add', '100', '101', '--nodes', 'pve1,pve2'], fc);
    const n = fc.mutations().length;
    const s = await pvx(['ha', 'set', '101', '--state', 'started'], fc);
    expect(s.code).toBe(0);
    expect(fc.running(101)).toBe(true);
    const p = await pvx(['ha', 'set', '101', '--nodes', 'pve3:5'], fc);
    expect(p.code).toBe(0);
    const rest = fc.mutations().slice(n);
    expect(rest[0]).toBe('pve1: ha-manager set vm:101 --state started');
    expect(rest[1]).toMatch(/^pve1: ha-manager rules set node-affinity pvx-[0-9a-f]{8} --resources vm:100$/);
    expect(rest[2]).toMatch(/^pve1: ha-manager rules add node-affinity pvx-[0-9a-f]{8} --resources vm:101 --nodes pve3:5 --strict 0$/);
    expect(fc.rules.size).toBe(2);
    fc.verify();
  });

  it('set refuses a guest that is not an HA resource (exit 2)', async () => {
    const fc = cluster(9);
    const r = await pvx(['ha', 'set', '100', '--state', 'stopped'], fc);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('vm:100 is not an HA resource');
    expect(fc.mutations()).toEqual([]);
    fc.verify();
  });

  it('remove on PVE 8 also removes the group pvx made once nothing uses it; the guests keep their state', async () => {
    const fc = cluster(8);
    await pvx(['ha', 'add', '100', '101', '--nodes', 'pve1,pve2'], fc);
    const group = [...fc.groups.keys()][0];
    const one = await pvx(['ha', 'remove', '100'], fc);
    expect(one.code).toBe(0);
    expect(fc.groups.has(group!)).toBe(true);
    const r = await pvx(['ha', 'remove', '101', '103'], fc);
    expect(r.code).toBe(0);
    expect(fc.mutations().slice(-2)).toEqual(['pve1: ha-manager remove vm:101', `pve1: ha-manager groupremove ${group}`]);
    expect(fc.groups.size).toBe(0);
    expect(r.stdout).toContain('ct:103 on pve1: unchanged (not an HA resource: nothing to remove)');
    expect(fc.running(100)).toBe(true);
    expect(fc.running(101)).toBe(false);
    fc.verify();
  });
});

/** A transport that answers `ha-manager status` with a fixed text, for the status renderings. */
function statusOnly(text: string): Transport & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async exec(node: string, argv: readonly string[]): Promise<ExecResult> {
      calls.push(`${node}: ${argv.join(' ')}`);
      if (argv.join(' ') !== 'ha-manager status') throw new Error(`unexpected ${argv.join(' ')}`);
      return { exitCode: 0, stdout: text, stderr: '', durationMs: 1 };
    },
  };
}

describe('pvx ha status', () => {
  it('reads the PVE 9.2 sample: master with load CRS, fencing, watchdogs, services; and the availability table', async () => {
    const t = statusOnly(sample('pve/ha-manager-status/pve9.2-dynamic-crs-3node.txt'));
    const r = await pvx(['--json', 'ha', 'status'], t);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.result.master).toMatchObject({ node: 'proxmox', state: 'active', crsMode: 'dynamic', loadImbalancePercent: 2.9 });
    expect(doc.result.fencing).toEqual({ state: 'armed', watchdog: 'CRM watchdog active' });
    expect(doc.result.lrms.map((l: { node: string; watchdog: string }) => [l.node, l.watchdog])).toEqual([
      ['proxmox', 'watchdog standby'],
      ['pve2', 'watchdog active'],
      ['pve3', 'watchdog standby'],
    ]);
    expect(doc.result.services).toEqual([{ sid: 'vm:200', type: 'vm', vmid: 200, node: 'pve2', state: 'stopped' }]);
    expect(doc.result.availability[0].percent).toBe(99);
    expect(doc.result.availability[0].year).toBeCloseTo(315_360, 6);
    expect(t.calls).toEqual(['pve1: ha-manager status']);
  });

  it('renders the PVE 8 sample for a person (no watchdog column) with what redundancy buys', async () => {
    const r = await pvx(['ha', 'status'], statusOnly(sample('pve/ha-manager-status/pve8-2node-lab.txt')));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Master   proxmox (active, Wed Feb  7 13:30:06 2024)');
    expect(r.stdout).toMatch(/^LRM +STATE +LAST SEEN$/m);
    expect(r.stdout).toMatch(/^vm:100 +proxmox2 +started$/m);
    expect(r.stdout).toMatch(/^99 % +3\.65 days/m);
    expect(r.stdout).toMatch(/^99\.99999 % +3\.15 s/m);
  });

  it('reads the rest when the master line is one pvx does not know: exit 0 with a warning naming the line', async () => {
    const text = sample('pve/ha-manager-status/pve8-2node-lab.txt').replace('master proxmox (active, Wed Feb  7 13:30:06 2024)', 'master proxmox');
    const t = statusOnly(text);
    const r = await pvx(['--json', 'ha', 'status'], t);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.result.master).toBeNull();
    expect(doc.result.lrms.map((l: { node: string }) => l.node)).toEqual(['proxmox', 'proxmox2']);
    expect(doc.result.services).toEqual([{ sid: 'vm:100', type: 'vm', vmid: 100, node: 'proxmox2', state: 'started' }]);
    expect(doc.warnings).toEqual(['a line of ha-manager status pvx does not know: master proxmox']);
    const human = await pvx(['ha', 'status'], statusOnly(text));
    expect(human.code).toBe(0);
    expect(human.stderr).toContain('a line of ha-manager status pvx does not know: master proxmox');
    expect(human.stdout).toMatch(/^vm:100 +proxmox2 +started$/m);
  });

  it('exits 5 when the node has no quorum', async () => {
    const r = await pvx(['--json', 'ha', 'status'], statusOnly("quorum No quorum on node 'pve1'!\n"));
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout).error.code).toBe('NOT_QUORATE');
  });
});

describe('pvx ha budget', () => {
  it('prints the downtime a target allows, with no node asked', async () => {
    const t = statusOnly('');
    const r = await pvx(['--json', 'ha', 'budget', '99.99%'], t);
    expect(r.code).toBe(0);
    const b = JSON.parse(r.stdout).result.budget;
    expect(b.percent).toBe(99.99);
    expect(b.year).toBeCloseTo(3153.6, 6);
    expect(b.week).toBeCloseTo(60.48, 6);
    expect(t.calls).toEqual([]);
    const human = await pvx(['ha', 'budget', '99.9'], t);
    expect(human.stdout).toContain('99.9 % availability allows 8.76 hours of downtime a year, 43.8 minutes a month, 10.08 minutes a week (1.44 minutes a day).');
  });
});
