/**
 * Every command's `--json` document matches the schema pvx ships for it (zod, strict objects, and the
 * generated JSON Schema): healthy runs, dry runs, refusals and failures of a representative set of
 * commands, in-process against the stateful fakes.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli.js';
import { RESULT_COMMANDS } from '../../src/schema/names.js';
import type { Transport } from '../../src/transport/types.js';
import { FakeCluster } from '../helpers/fake-cluster.js';
import { FakeHa } from '../helpers/fake-ha.js';
import { addPreflight, corosyncConf, membershipReads, QdeviceFake, quorumtool } from '../helpers/fake-qdevice.js';
import { FakeMigrateCluster } from '../helpers/fake-migrate.js';
import { answer, clusterReads, LockingFake, pvesmStatusText, pvesrListText, pvesrStatusText, STORAGES } from '../helpers/fake-replication.js';
import { FakeTransport } from '../helpers/fake-transport.js';
import { TeardownFake } from '../helpers/fake-teardown.js';
import { validEnvelope } from '../helpers/json-schema.js';
import { writeInventory } from '../helpers/run-cli.js';
import { testIO } from '../helpers/test-io.js';
import { tmpDir } from '../helpers/tmp.js';

const NAMES = ['pve1', 'pve2', 'pve3'];

/** Run `pvx --json …` on fake timers (waits for quorum or HA end at once); the document must match its schema. */
async function json(args: string[], t: Transport | undefined, opts: { names?: string[]; state?: string; env?: Record<string, string> } = {}) {
  const io = testIO();
  const state = opts.state ?? tmpDir('pvx-state-');
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  let done = false;
  const p = run(['-i', writeInventory(opts.names ?? NAMES), '--json', ...args], {
    io,
    env: { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run'), ...opts.env },
    cwd: state,
    transportFactory: () => {
      if (!t) throw new Error('no transport expected in this run');
      return t;
    },
  }).finally(() => (done = true));
  while (!done) await vi.advanceTimersByTimeAsync(500);
  const code = await p;
  const doc = validEnvelope(io.stdoutText());
  return { code, doc, state };
}

const covered = new Set<string>();
/** Note the command whose result a document holds (the last test checks that every command's was seen). */
function seen<T extends { doc: { command: string; result?: unknown } }>(r: T): T {
  if (r.doc.result !== undefined) covered.add(r.doc.command);
  return r;
}

function haCluster(major: 8 | 9): FakeHa {
  return new FakeHa(major).with(
    { vmid: 100, type: 'qemu', node: 'pve1', running: true },
    { vmid: 101, type: 'qemu', node: 'pve2', running: false },
    { vmid: 102, type: 'qemu', node: 'pve3', running: true, storage: 'local-lvm' },
  );
}

describe('--json documents match the shipped schemas', () => {
  afterEach(() => vi.useRealTimers());

  it('cluster status: quorate, and with a node unreachable', async () => {
    const ok = seen(await json(['cluster', 'status'], new FakeCluster(NAMES).form('lab', NAMES)));
    expect([ok.code, ok.doc.ok]).toEqual([0, true]);
    const fc = new FakeCluster(NAMES).form('lab', NAMES);
    fc.node('pve3').reachable = false;
    const partial = seen(await json(['cluster', 'status'], fc));
    expect(partial.code).toBe(6);
    expect(partial.doc.result).toMatchObject({ unreachable: [{ name: 'pve3' }] });
    fc.verify();
  });

  it('preflight: passing, and failing with its checks kept', async () => {
    const ok = seen(await json(['preflight', '--for', 'create', '--nodes', 'pve1,pve2,pve3', '--cluster-name', 'demo'], new FakeCluster(NAMES)));
    expect(ok.code).toBe(0);
    const failing = seen(await json(['preflight', '--for', 'create', '--nodes', 'pve1,pve2,pve3', '--cluster-name', 'demo'], new FakeCluster(NAMES).form('other', NAMES)));
    expect(failing.code).toBe(3);
    expect(failing.doc.result).toMatchObject({ purpose: 'create' });
  });

  it('cluster create, join, remove-node, expected: runs and dry runs', async () => {
    expect(seen(await json(['cluster', 'create', 'demo', '--nodes', 'pve1,pve2,pve3', '--use-ssh', '--dry-run'], new FakeCluster(NAMES))).doc.result).toHaveProperty('plan');
    expect(seen(await json(['--yes', 'cluster', 'create', 'demo', '--nodes', 'pve1,pve2,pve3', '--use-ssh'], new FakeCluster(NAMES))).doc.result).toMatchObject({ outcome: 'created' });
    const names = [...NAMES, 'pve4'];
    expect(seen(await json(['cluster', 'join', 'pve4', '--via', 'pve1', '--use-ssh'], new FakeCluster(names).form('lab', NAMES), { names })).doc.result).toMatchObject({ outcome: 'joined' });
    const down = new FakeCluster(NAMES).form('lab', NAMES);
    down.node('pve3').reachable = false;
    expect(seen(await json(['--yes', 'cluster', 'remove-node', 'pve3', '--offline-confirmed'], down)).doc.result).toMatchObject({ outcome: 'removed' });
    const alone = new FakeCluster(NAMES).form('lab', NAMES);
    alone.node('pve2').reachable = false;
    alone.node('pve3').reachable = false;
    expect(seen(await json(['--yes', 'cluster', 'expected', '1', '--node', 'pve1'], alone)).doc.result).toMatchObject({ action: 'expected' });
    down.verify();
    alone.verify();
  });

  it('cluster teardown and restore: dry run, run, a failure after changes, a refused backup', async () => {
    const fc = () => new TeardownFake(NAMES).form('prod', NAMES);
    expect(seen(await json(['cluster', 'teardown', '--dry-run'], fc())).doc.result).toHaveProperty('backupDir');
    expect(seen(await json(['--yes', 'cluster', 'teardown'], fc())).doc.result).toMatchObject({ outcome: 'torn-down' });
    const failing = fc();
    failing.onCommand = (node, argv) => {
      if (node === 'pve2' && argv.join(' ') === 'systemctl stop pve-cluster') failing.node('pve2').reachable = false;
    };
    const broken = seen(await json(['--yes', 'cluster', 'teardown'], failing));
    expect(broken.code).toBe(4);
    const dir = path.join(broken.state, 'backups', readdirSync(path.join(broken.state, 'backups'))[0]!);
    failing.onCommand = undefined;
    failing.node('pve2').reachable = true;
    expect(seen(await json(['--dry-run', 'cluster', 'restore', dir, '--node', 'pve3'], failing)).doc.result).toHaveProperty('plan');
    const refused = seen(await json(['--yes', 'cluster', 'restore', dir, '--node', 'pve9'], undefined));
    expect([refused.code, refused.doc.result]).toEqual([2, undefined]);
  });

  it('migrate: a move, a dry run and a skipped guest', async () => {
    const guests = () => new FakeMigrateCluster([
      { vmid: 100, type: 'qemu', node: 'pve1', name: 'web', running: false, memMiB: 512 },
      { vmid: 101, type: 'lxc', node: 'pve1', name: 'db', running: true, memMiB: 256 },
    ]);
    expect(seen(await json(['migrate', '100', '--to', 'pve2'], guests())).doc.result).toMatchObject({ guests: [{ vmid: 100, status: 'migrated' }] });
    expect(seen(await json(['migrate', '100', '--to', 'pve2', '--dry-run'], guests())).doc.result).toHaveProperty('plan');
    const skipped = seen(await json(['migrate', '101', '--to', 'pve2'], guests()));
    expect(skipped.code).toBe(1);
    expect(skipped.doc.result).toMatchObject({ guests: [{ vmid: 101, status: 'skipped' }] });
  });

  it('node drain and maintenance: a dry run, a drain with a guest that stays, enable and disable --return', async () => {
    const guests = () => new FakeMigrateCluster([
      { vmid: 100, type: 'qemu', node: 'pve1', running: false, memMiB: 512 },
      { vmid: 101, type: 'qemu', node: 'pve1', running: false, memMiB: 512, storage: 'local-lvm' },
    ]);
    expect(seen(await json(['node', 'drain', 'pve1', '--dry-run'], guests())).doc.result).toHaveProperty('placement');
    const drained = seen(await json(['node', 'drain', 'pve1'], guests()));
    expect([drained.code, drained.doc.result.guests.map((g: { status: string }) => g.status)]).toEqual([1, ['migrated', 'skipped']]);
    const fc = guests();
    fc.haLrms = true;
    const state = tmpDir('pvx-state-');
    expect(seen(await json(['node', 'maintenance', 'enable', 'pve1', '--dry-run'], fc, { state })).doc.result).toHaveProperty('plan');
    expect(seen(await json(['node', 'maintenance', 'enable', 'pve1', '--with-local-disks'], fc, { state })).code).toBe(0);
    expect(seen(await json(['node', 'maintenance', 'disable', 'pve1', '--return'], fc, { state })).doc.result).toMatchObject({ action: 'disable' });
  });

  it('ha add (PVE 9 rule, PVE 8 group, dry run, refused), set, remove, status, budget', async () => {
    expect(seen(await json(['ha', 'add', '100', '101', '--nodes', 'pve2,pve1:2'], haCluster(9))).doc.result).toMatchObject({ preferenceMode: 'rules' });
    expect(seen(await json(['ha', 'add', '100', '--nodes', 'pve1:2,pve2', '--strict'], haCluster(8))).doc.result).toMatchObject({ preferenceMode: 'groups' });
    expect(seen(await json(['ha', 'add', '100', '--dry-run'], haCluster(9))).doc.result).toHaveProperty('plan');
    expect(seen(await json(['ha', 'add', '102'], haCluster(9))).code).toBe(3);
    const fc = haCluster(9);
    expect((await json(['ha', 'add', '100'], fc)).code).toBe(0);
    expect(seen(await json(['ha', 'set', '100', '--state', 'stopped'], fc)).doc.result).toMatchObject({ action: 'set' });
    expect(seen(await json(['ha', 'remove', '100'], fc)).doc.result).toMatchObject({ action: 'remove' });
    expect(seen(await json(['ha', 'status'], haCluster(9))).code).toBe(0);
    expect(seen(await json(['ha', 'budget', '99.99'], undefined)).doc.result).toMatchObject({ budget: { percent: 99.99 } });
  });

  it('replication add (run and dry run), list, status, run, remove', async () => {
    const fake = (scripts: ConstructorParameters<typeof FakeTransport>[0]) => new LockingFake(new FakeTransport(scripts));
    const addReads = [
      ...clusterReads(),
      { node: 'pve1', argv: ['qm', 'config', '100'], result: answer('scsi0: local-zfs:vm-100-disk-0,size=4G\n') },
      { node: 'pve1', argv: ['pvesm', 'status'], result: answer(pvesmStatusText(STORAGES)) },
      { node: 'pve2', argv: ['pvesm', 'status'], result: answer(pvesmStatusText(STORAGES)) },
    ];
    const listed = answer(pvesrListText([{ id: '100-0', target: 'pve2' }]));
    expect(seen(await json(['replication', 'add', '100', '--to', 'pve2', '--dry-run'], fake(addReads))).doc.result).toHaveProperty('plan');
    const added = seen(await json(['replication', 'add', '100', '--to', 'pve2'], fake([...addReads, { node: 'pve1', argv: ['pvesr', 'create-local-job', '100-0', 'pve2'] }, { node: 'pve1', argv: ['pvesr', 'list'], result: listed }])));
    expect(added.doc.result).toMatchObject({ action: 'add', jobs: [{ id: '100-0' }] });
    expect(seen(await json(['replication', 'list'], fake([{ node: 'pve1', argv: ['pvesr', 'list'], result: listed }]))).doc.result).toMatchObject({ jobs: [{ jobId: '100-0' }] });
    const st = (last: string) => answer(pvesrStatusText([{ id: '100-0', target: 'pve2', last, next: '2026-08-19_17:30:00', duration: '1.5' }]));
    const status = seen(await json(['replication', 'status', '--node', 'pve1'], fake([{ node: 'pve1', argv: ['pvesr', 'status'], result: st('2026-08-19_17:00:00') }])));
    expect(status.doc.result).toMatchObject({ jobs: [{ jobId: '100-0', source: 'pve1' }], unread: [] });
    const ran = seen(await json(['replication', 'run', '100-0'], fake([
      ...clusterReads([{ id: '100-0', target: 'pve2' }]),
      { node: 'pve1', argv: ['pvesr', 'status', '--guest', '100'], result: st('2026-08-19_17:00:00') },
      { node: 'pve1', argv: ['pvesr', 'schedule-now', '100-0'] },
      { node: 'pve1', argv: ['pvesr', 'status', '--guest', '100'], result: st('2026-08-19_17:15:02') },
    ])));
    expect(ran.doc.result).toMatchObject({ action: 'run', runs: [{ id: '100-0', ok: true }] });
    const removed = seen(await json(['replication', 'remove', '100-0'], fake([
      ...clusterReads([{ id: '100-0', target: 'pve2' }]),
      { node: 'pve1', argv: ['pvesr', 'delete', '100-0'] },
      { node: 'pve1', argv: ['pvesr', 'list'], result: answer(pvesrListText([])) },
    ])));
    expect(removed.doc.result).toMatchObject({ action: 'remove' });
  });

  it('lab status, inventory and fault without a lab: the result says so, or the error does', async () => {
    const env = { PVX_LAB_ROOT: tmpDir('pvx-labs-') };
    const st = seen(await json(['lab', 'status', '--name', 'nolab'], undefined, { env }));
    expect([st.code, st.doc.result]).toMatchObject([1, { name: 'nolab', exists: false }]);
    const inv = seen(await json(['lab', 'inventory', '--name', 'nolab'], undefined, { env }));
    expect([inv.code, inv.doc.ok]).toEqual([1, false]);
    const fault = seen(await json(['lab', 'fault', 'pve1', 'no-such-fault', '--name', 'nolab'], undefined, { env }));
    expect(fault.code).toBe(2);
  });

  it('cluster qdevice add and remove: dry run, run, a failure after changes', async () => {
    const two = { names: ['pve1', 'pve2'] };
    const host = '10.99.0.5';
    const votes = (self: number, qdevice: boolean) => ({ node: `pve${self}`, argv: ['corosync-quorumtool', '-s'], result: { stdout: quorumtool(self, 2, qdevice ? { expected: 3, total: 3, qdevice } : { expected: 2, total: 2, qdevice }) } });
    expect(seen(await json(['--dry-run', 'cluster', 'qdevice', 'add', host], new QdeviceFake(addPreflight(2, host)), two)).doc.result).toHaveProperty('plan');
    const added = seen(await json(['cluster', 'qdevice', 'add', host], new QdeviceFake([...addPreflight(2, host), { node: 'pve1', argv: ['pvecm', 'qdevice', 'setup', host] }, votes(1, true), votes(2, true)]), two));
    expect(added.doc.result).toMatchObject({ outcome: 'added' });
    const stuck = { ...votes(2, false), repeat: true };
    const failed = seen(await json(['cluster', 'qdevice', 'add', host], new QdeviceFake([...addPreflight(2, host), { node: 'pve1', argv: ['pvecm', 'qdevice', 'setup', host] }, votes(1, true), stuck]), two));
    expect([failed.code, failed.doc.result.outcome]).toEqual([4, 'failed']);
    const reads = [...membershipReads(1, 2, { qdevice: true }), ...membershipReads(2, 2, { qdevice: true }), { node: 'pve1', argv: ['cat', '/etc/pve/corosync.conf'], result: { stdout: corosyncConf(2, true) } }];
    const removed = seen(await json(['cluster', 'qdevice', 'remove'], new QdeviceFake([...reads, { node: 'pve1', argv: ['pvecm', 'qdevice', 'remove'] }, votes(1, false), votes(2, false)]), two));
    expect(removed.doc.result).toMatchObject({ outcome: 'removed' });
  });

  it('usage errors: an envelope without a result, named after the command (or pvx)', async () => {
    const missing = seen(await json(['cluster', 'create', 'demo'], undefined));
    expect([missing.code, missing.doc.command, missing.doc.result]).toEqual([2, 'cluster create', undefined]);
    const unknown = await json(['no-such-command'], undefined);
    expect([unknown.code, unknown.doc.command]).toEqual([2, 'pvx']);
  });

  it('a document with a field its schema does not know is refused', async () => {
    const { doc } = await json(['ha', 'budget', '99.9'], undefined);
    expect(() => validEnvelope(JSON.stringify({ ...doc, extra: 1 }))).toThrow(/extra/);
    const result = { ...(doc.result as object), surprise: true };
    expect(() => validEnvelope(JSON.stringify({ ...doc, result }))).toThrow(/surprise/);
    expect(() => validEnvelope(JSON.stringify({ ...doc, result: { budget: 'a lot' } }))).toThrow(/does not match/);
  });

  it('every command with a result schema was seen above, except those only a running lab produces (e2e)', () => {
    const labOnly = ['lab up', 'lab down', 'lab inventory', 'lab exec', 'lab fault'];
    expect([...covered].filter((c) => !labOnly.includes(c)).sort()).toEqual(RESULT_COMMANDS.filter((c) => !labOnly.includes(c)).sort());
  });
});
