import { describe, expect, it } from 'vitest';
import { executePlan } from '../../../src/workflows/execute.js';
import { guestFilesArgv } from '../../../src/facts/guest-files.js';
import type { TeardownInput } from '../../../src/workflows/teardown/decide.js';
import type { NodeBackup } from '../../../src/workflows/teardown/backup.js';
import {
  clusterTracesArgv,
  delnodeStep,
  expectedStep,
  folderFilesArgv,
  parseClusterTraces,
  planTeardown,
  qdeviceRemoveStep,
  removeStaleFoldersStep,
  separationSteps,
  staleFolders,
  stopLeftoverPmxcfsArgv, stopPmxcfsArgv,
  type SeparationRecord,
} from '../../../src/workflows/teardown/plan.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { fakeTiming, member, scriptedReader, standalone } from './cluster-plans.helpers.js';

const ALL = ['pve1', 'pve2', 'pve3'];
const noRead = scriptedReader({});

function input(o: Partial<TeardownInput> = {}): TeardownInput {
  return {
    cluster: 'prod',
    last: 'pve1',
    others: [{ node: 'pve3', configured: true }, { node: 'pve2', configured: true }],
    removeOnly: [],
    quorum: { configured: ALL.map((name) => ({ name, votes: 1 })), online: ALL, expectedVotes: 3 },
    nodes: [],
    ...o,
  };
}

const SEPARATION = [
  'systemctl stop pve-cluster',
  'systemctl stop corosync',
  'stop-leftover-pmxcfs',
  'pmxcfs -l',
  'rm -f /etc/pve/corosync.conf',
  'find /etc/corosync -mindepth 1 -delete',
  'stop-pmxcfs',
  'systemctl start pve-cluster',
  'find /var/lib/corosync -mindepth 1 -delete',
  'check',
];

function shape(steps: ReturnType<typeof planTeardown>['plan']['steps']): string[] {
  return steps.map((s) => {
    const cmd = s.argv.join(' ') === stopPmxcfsArgv().join(' ') ? 'stop-pmxcfs' : s.argv.join(' ') === stopLeftoverPmxcfsArgv().join(' ') ? 'stop-leftover-pmxcfs' : s.argv.join(' ') === guestFilesArgv().join(' ') ? 'check' : s.argv.join(' ');
    return `${s.node}: ${cmd}`;
  });
}

describe('the teardown plan', () => {
  it('separates the others one by one, removes each on the last node, sets expected votes where the last node would be alone, then separates it', () => {
    const td = planTeardown(input(), { guestsBefore: new Map() }, { read: noRead, timing: fakeTiming() });
    expect(shape(td.plan.steps)).toEqual([
      ...SEPARATION.map((c) => `pve3: ${c}`),
      'pve1: pvecm delnode pve3',
      ...SEPARATION.map((c) => `pve2: ${c}`),
      'pve1: pvecm expected 1',
      'pve1: pvecm delnode pve2',
      ...SEPARATION.map((c) => `pve1: ${c}`),
    ]);
    expect(td.expectedBefore).toEqual(['pve2']);
    expect(td.firstStepOf).toEqual(new Map([['pve3', 0], ['pve2', 11], ['pve1', 23]]));
    expect(td.plan.steps.filter((s) => !s.mutates).map((s) => s.title)).toEqual([
      'check that pve3 is standalone and kept its 0 guest configuration(s)',
      'check that pve2 is standalone and kept its 0 guest configuration(s)',
      'check that pve1 is standalone and kept its 0 guest configuration(s)',
    ]);
  });

  it('removes down nodes first while the cluster is quorate, and counts votes', () => {
    const td = planTeardown(
      input({ others: [{ node: 'pve3', configured: true }], removeOnly: ['pve2'], quorum: { configured: [{ name: 'pve1', votes: 2 }, { name: 'pve2', votes: 1 }, { name: 'pve3', votes: 1 }], online: ['pve1', 'pve3'], expectedVotes: 4 } }),
      { guestsBefore: new Map() },
      { read: noRead, timing: fakeTiming() },
    );
    // pve1 has 2 of the 3 votes left once pve2 is gone: it stays quorate alone
    expect(shape(td.plan.steps).filter((s) => s.includes('pvecm'))).toEqual(['pve1: pvecm delnode pve2', 'pve1: pvecm delnode pve3']);
  });

  it('sets the expected votes before the first removal when the last node starts without quorum', () => {
    const td = planTeardown(input({ others: [], removeOnly: ['pve2', 'pve3'], quorum: { configured: ALL.map((name) => ({ name, votes: 1 })), online: ['pve1'], expectedVotes: 3 } }), { guestsBefore: new Map() }, {
      read: noRead,
      timing: fakeTiming(),
    });
    // each removal gives corosync a new nodelist, and with it the expected votes of the nodes left
    expect(shape(td.plan.steps).slice(0, 4)).toEqual(['pve1: pvecm expected 1', 'pve1: pvecm delnode pve2', 'pve1: pvecm expected 1', 'pve1: pvecm delnode pve3']);
  });

  it('does not remove anyone when no corosync runs on the last node, nor nodes the cluster no longer lists', () => {
    const td = planTeardown(input({ others: [{ node: 'pve3', configured: false }], quorum: undefined }), { guestsBefore: new Map() }, { read: noRead, timing: fakeTiming() });
    expect(shape(td.plan.steps).some((s) => s.includes('pvecm'))).toBe(false);
  });
});

describe('the teardown plan: QDevice and the other nodes\' folders', () => {
  const backups = () => new Map<string, NodeBackup>(ALL.map((n) => [n, { node: n, nodeDir: '/b', nodeFile: `/b/${n}.tar.gz`, have: [], missing: [], files: [], verified: true }]));

  it('removes the QDevice before anything else, and counts the expected votes without its vote afterwards', () => {
    // 3 nodes and a device: corosync expects 4; once the device is gone it expects 3 again
    const q = { configured: ALL.map((name) => ({ name, votes: 1 })), online: ALL, expectedVotes: 4 };
    const td = planTeardown(input({ quorum: q, qdevice: { host: '10.0.0.50' } }), { guestsBefore: new Map() }, { read: noRead, timing: fakeTiming() });
    expect(td.plan.steps[0]).toMatchObject({ node: 'pve1', argv: ['pvecm', 'qdevice', 'remove'], mutates: true, title: "remove the QDevice (QNetd host 10.0.0.50) from cluster 'prod' first (on pve1)" });
    // pve1 and pve2 hold 2 of 3 votes when pve3 leaves: no pvecm expected then (with the device's vote counted they would need it)
    expect(shape(td.plan.steps).filter((s) => s.includes('pvecm'))).toEqual(['pve1: pvecm qdevice remove', 'pve1: pvecm delnode pve3', 'pve1: pvecm expected 1', 'pve1: pvecm delnode pve2']);
    expect(td.firstStepOf.get('pve3')).toBe(1);
  });

  it('has no QDevice step without a QDevice', () => {
    const td = planTeardown(input(), { guestsBefore: new Map() }, { read: noRead, timing: fakeTiming() });
    expect(shape(td.plan.steps).some((s) => s.includes('qdevice'))).toBe(false);
  });

  it('removes the other nodes\' folders after each node\'s check, once it has a backup to rely on', () => {
    const nodes = ALL.map((name) => ({ name, role: 'separate' as const, inInventory: true, configured: true, online: true, detail: '' }));
    // pve2 also holds the folder of a node removed long ago, with a guest in it; a name pmxcfs would not keep is left alone
    const guestFolders = new Map([['pve2', ['old9', 'pve2', 'bad name']]]);
    const td = planTeardown(input({ nodes }), { guestsBefore: new Map(), guestFolders, backups: backups() }, { read: noRead, timing: fakeTiming() });
    const rm = td.plan.steps.filter((s) => s.argv[0] === 'rm' && s.argv[1] === '-rf');
    expect(rm.map((s) => `${s.node}: ${s.argv.join(' ')}`)).toEqual([
      'pve3: rm -rf -- /etc/pve/nodes/pve1 /etc/pve/nodes/pve2',
      'pve2: rm -rf -- /etc/pve/nodes/old9 /etc/pve/nodes/pve1 /etc/pve/nodes/pve3',
      'pve1: rm -rf -- /etc/pve/nodes/pve2 /etc/pve/nodes/pve3',
    ]);
    expect(rm.every((s) => s.mutates)).toBe(true);
    // right after the check that the node is standalone
    const i = td.plan.steps.indexOf(rm[0]!);
    expect(td.plan.steps[i - 1]?.title).toBe('check that pve3 is standalone and kept its 0 guest configuration(s)');
    expect(td.plan.steps[i + 1]?.argv).toEqual(['pvecm', 'delnode', 'pve3']);
    expect(staleFolders('pve1', { nodes: [] }, ['pve1'])).toEqual([]);

    const without = planTeardown(input({ nodes }), { guestsBefore: new Map() }, { read: noRead, timing: fakeTiming() });
    expect(without.plan.steps.some((s) => s.argv[0] === 'rm' && s.argv[1] === '-rf')).toBe(false);
  });
});

describe('teardown steps at run time', () => {
  it('removes the other nodes\' folders whose every file is in the verified backup (half-written files aside), keeps the others, and checks they are gone', async () => {
    const folders = ['/etc/pve/nodes/pve1', '/etc/pve/nodes/pve3'];
    const record: SeparationRecord = { node: 'pve2', guestsBefore: [], standalone: true };
    const backup: NodeBackup = {
      node: 'pve2',
      nodeDir: '/b',
      nodeFile: '/b/pve2.tar.gz',
      have: [],
      missing: [],
      files: ['etc/pve/nodes/pve1/lrm_status', 'etc/pve/nodes/pve1/qemu-server/100.conf', 'etc/pve/nodes/pve3/lrm_status'],
      verified: true,
    };
    const step = removeStaleFoldersStep('pve2', folders, record, () => backup);
    const t = new FakeTransport([
      { node: 'pve2', argv: clusterTracesArgv(), result: { stdout: '' } },
      {
        node: 'pve2',
        argv: folderFilesArgv(folders),
        // lrm_status.tmp.4242: the node was separated while pve1's LRM was writing; the backup leaves such files out
        result: { stdout: 'dir /etc/pve/nodes/pve1\nfile /etc/pve/nodes/pve1/lrm_status\nfile /etc/pve/nodes/pve1/lrm_status.tmp.4242\nfile /etc/pve/nodes/pve1/qemu-server/100.conf\ndir /etc/pve/nodes/pve3\nfile /etc/pve/nodes/pve3/lrm_status\nfile /etc/pve/nodes/pve3/qemu-server/105.conf\n' },
      },
      { node: 'pve2', argv: ['rm', '-rf', '--', '/etc/pve/nodes/pve1'] },
      { node: 'pve2', argv: folderFilesArgv(['/etc/pve/nodes/pve1']), result: { stdout: '' } },
    ]);
    const run = await executePlan({ title: 't', steps: [step] }, t);
    expect(run.ok).toBe(true);
    t.verify();
    expect(t.calls.find((c) => c.argv[0] === 'rm')?.opts.mutates).toBe(true);
    expect(record.foldersRemoved).toEqual(['/etc/pve/nodes/pve1']);
    expect(record.foldersKept).toEqual([{ folder: '/etc/pve/nodes/pve3', why: 'not in the backup of pve2: /etc/pve/nodes/pve3/qemu-server/105.conf' }]);
  });

  it('removes nothing on a node that still has cluster traces, or without a verified backup', async () => {
    const folders = ['/etc/pve/nodes/pve1'];
    const record: SeparationRecord = { node: 'pve2', guestsBefore: [], standalone: true };
    const traced = new FakeTransport([{ node: 'pve2', argv: clusterTracesArgv(), result: { stdout: 'file /etc/pve/corosync.conf\n' } }]);
    const run = await executePlan({ title: 't', steps: [removeStaleFoldersStep('pve2', folders, record, () => undefined)] }, traced);
    expect(run.failed?.message).toBe('pve2 still has /etc/pve/corosync.conf: its /etc/pve may still be the cluster\'s, so nothing was removed');
    traced.verify();

    const unverified = new FakeTransport([
      { node: 'pve2', argv: clusterTracesArgv(), result: { stdout: '' } },
      { node: 'pve2', argv: folderFilesArgv(folders), result: { stdout: 'dir /etc/pve/nodes/pve1\nfile /etc/pve/nodes/pve1/lrm_status\n' } },
    ]);
    const none: NodeBackup = { node: 'pve2', nodeDir: '/b', nodeFile: '/b/pve2.tar.gz', have: [], missing: [], files: ['etc/pve/nodes/pve1/lrm_status'], verified: false };
    const events: string[] = [];
    const r2 = await executePlan({ title: 't', steps: [removeStaleFoldersStep('pve2', folders, record, () => none)] }, unverified, { onEvent: (e) => void events.push(e.type) });
    expect(r2.ok).toBe(true);
    expect(events).toEqual(['started', 'skipped']);
    unverified.verify();
    expect(record.foldersRemoved).toEqual([]);
  });

  it('removes the QDevice and waits until corosync no longer reports one; one already gone is fine; an offline node is not', async () => {
    const timing = fakeTiming();
    const withDevice = member('pve1', 'prod', ['pve1', 'pve2'], { qdevice: { votes: 1, voting: true } });
    const without = member('pve1', 'prod', ['pve1', 'pve2']);
    const t = new FakeTransport([{ node: 'pve1', argv: ['pvecm', 'qdevice', 'remove'], result: { stdout: '\nRemoved Qdevice.\n' } }]);
    const step = qdeviceRemoveStep('pve1', 'prod', '10.0.0.50', { read: scriptedReader({ pve1: [withDevice, without] }), timing });
    expect((await executePlan({ title: 't', steps: [step] }, t)).ok).toBe(true);
    t.verify();
    expect(t.calls[0]?.opts.mutates).toBe(true);

    const gone = new FakeTransport([{ node: 'pve1', argv: ['pvecm', 'qdevice', 'remove'], result: { exitCode: 255, stderr: 'No QDevice configured!\n' } }]);
    const events: string[] = [];
    const r = await executePlan({ title: 't', steps: [qdeviceRemoveStep('pve1', 'prod', undefined, { read: scriptedReader({ pve1: [without] }), timing })] }, gone, { onEvent: (e) => void events.push(e.type) });
    expect(r.ok).toBe(true);
    expect(events).toEqual(['started', 'skipped']);

    const offline = new FakeTransport([{ node: 'pve1', argv: ['pvecm', 'qdevice', 'remove'], result: { exitCode: 255, stderr: 'All nodes must be online! Node pve2 is offline, aborting.\n' } }]);
    const f = await executePlan({ title: 't', steps: [qdeviceRemoveStep('pve1', 'prod', undefined, { read: noRead, timing })] }, offline);
    expect(f.failed?.message).toBe('pvecm qdevice remove failed: All nodes must be online! Node pve2 is offline, aborting.');
  });

  it('skips pvecm expected when the last node is quorate without the node that left, and sets it otherwise', async () => {
    const timing = fakeTiming();
    const quorate = member('pve1', 'prod', ['pve1', 'pve2'], { online: ['pve1'] });
    const read = scriptedReader({ pve1: [quorate] });
    let run = await executePlan({ title: 't', steps: [expectedStep('pve1', 'pve2', 1, { read, timing })] }, new FakeTransport([]));
    expect(run.ok).toBe(true);

    const lost = member('pve1', 'prod', ['pve1', 'pve2'], { online: ['pve2', 'pve1'], quorate: false });
    const gone = member('pve1', 'prod', ['pve1', 'pve2'], { online: ['pve1'], quorate: false });
    const back = member('pve1', 'prod', ['pve1', 'pve2'], { online: ['pve1'] });
    const read2 = scriptedReader({ pve1: [lost, gone, gone, back] });
    const t = new FakeTransport([{ node: 'pve1', argv: ['pvecm', 'expected', '1'] }]);
    run = await executePlan({ title: 't', steps: [expectedStep('pve1', 'pve2', 1, { read: read2, timing })] }, t);
    expect(run.ok).toBe(true);
    t.verify();
    expect(t.calls[0]?.opts.mutates).toBe(true);
  });

  it('retries delnode while pmxcfs has not seen quorum yet, and accepts CS_ERR_NOT_EXIST', async () => {
    const timing = fakeTiming();
    const t = new FakeTransport([
      { node: 'pve1', argv: ['pvecm', 'delnode', 'pve2'], result: { exitCode: 255, stderr: 'cluster not ready - no quorum?\n' } },
      { node: 'pve1', argv: ['pvecm', 'delnode', 'pve2'], result: { stdout: 'Killing node 2\n', stderr: 'Could not kill node (error = CS_ERR_NOT_EXIST)\n' } },
    ]);
    const read = scriptedReader({ pve1: [member('pve1', 'prod', ['pve1'])] });
    const run = await executePlan({ title: 't', steps: [delnodeStep('pve1', 'pve2', 'prod', { read, timing })] }, t);
    expect(run.ok).toBe(true);
    t.verify();
    expect(timing.slept).toBe(1000);
  });

  it('fails delnode for good on other errors', async () => {
    const t = new FakeTransport([{ node: 'pve1', argv: ['pvecm', 'delnode', 'pve2'], result: { exitCode: 255, stderr: 'Cannot delete myself from cluster!\n' } }]);
    const run = await executePlan({ title: 't', steps: [delnodeStep('pve1', 'pve2', 'prod', { read: noRead, timing: fakeTiming() })] }, t);
    expect(run.failed?.message).toMatch(/Cannot delete myself/);
  });

  it('checks a separated node: standalone, no cluster traces, every guest configuration still there', async () => {
    const record = { node: 'pve2', guestsBefore: [{ node: 'pve2', type: 'qemu' as const, vmid: 100 }, { node: 'pve2', type: 'lxc' as const, vmid: 101 }], standalone: false };
    const check = separationSteps('pve2', record, { read: scriptedReader({ pve2: [standalone('pve2')] }), timing: fakeTiming() }).at(-1)!;
    const ok = new FakeTransport([
      { node: 'pve2', argv: clusterTracesArgv(), result: { stdout: '' } },
      { node: 'pve2', argv: guestFilesArgv(), result: { stdout: '/etc/pve/nodes/pve2/qemu-server/100.conf\n/etc/pve/nodes/pve2/lxc/101.conf\n/etc/pve/nodes/pve1/qemu-server/102.conf\n' } },
    ]);
    expect((await executePlan({ title: 't', steps: [check] }, ok)).ok).toBe(true);
    expect(record.standalone).toBe(true);

    const lost = new FakeTransport([
      { node: 'pve2', argv: clusterTracesArgv(), result: { stdout: '' }, repeat: true },
      { node: 'pve2', argv: guestFilesArgv(), result: { stdout: '/etc/pve/nodes/pve2/qemu-server/100.conf\n' }, repeat: true },
    ]);
    const run = await executePlan({ title: 't', steps: [check] }, lost);
    expect(run.failed?.message).toBe('GUEST CONFIGURATIONS MISSING on pve2: CT 101 were in /etc/pve/nodes/pve2/ before and are not now');

    const traces = new FakeTransport([{ node: 'pve2', argv: clusterTracesArgv(), result: { stdout: 'file /etc/corosync/authkey\ncorosync running\n' }, repeat: true }]);
    expect((await executePlan({ title: 't', steps: [check] }, traces)).failed?.message).toBe('pve2 still has /etc/corosync/authkey, corosync is running');
  });

  it('reads the traces a node still has', () => {
    expect(parseClusterTraces('file /etc/pve/corosync.conf\nnoise\ncorosync running\n')).toEqual(['/etc/pve/corosync.conf', 'corosync is running']);
  });
});
