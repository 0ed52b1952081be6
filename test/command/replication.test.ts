import { describe, expect, it } from 'vitest';
import { FakeTransport, type Script } from '../helpers/fake-transport.js';
import { answer, clusterReads, LockingFake, PVECM_NOT_QUORATE, pvesmStatusText, pvesrListText, pvesrStatusText, resourcesJson, STORAGES } from '../helpers/fake-replication.js';
import { runInProcess, writeInventory } from '../helpers/run-cli.js';

const NODES = ['pve1', 'pve2', 'pve3'];

async function pvx(args: string[], scripts: Script[] | undefined) {
  const fake = scripts ? new LockingFake(new FakeTransport(scripts)) : undefined;
  const r = await runInProcess(['-i', writeInventory(NODES), ...args], fake);
  return { ...r, fake };
}

const QM_100 = 'boot: order=scsi0\ncores: 1\nide2: none,media=cdrom\nmemory: 512\nname: zfsvm\nscsi0: local-zfs:vm-100-disk-0,size=4G\n';

/** The reads of `replication add 100 --to pve2` up to the plan. */
function addReads(jobs: Parameters<typeof pvesrListText>[0] = [], qm = QM_100, target = 'pve2', targetStorages = STORAGES): Script[] {
  return [
    ...clusterReads(jobs),
    { node: 'pve1', argv: ['qm', 'config', '100'], result: answer(qm) },
    { node: 'pve1', argv: ['pvesm', 'status'], result: answer(pvesmStatusText(STORAGES)) },
    { node: target, argv: ['pvesm', 'status'], result: answer(pvesmStatusText(targetStorages)) },
  ];
}

describe('pvx replication add', () => {
  it('creates job <vmid>-<n> with the next free n and checks that pvesr lists it', async () => {
    const jobs = [{ id: '100-0', target: 'pve3' }];
    const r = await pvx(['replication', 'add', '100', '--to', 'pve2', '--schedule', '*/5', '--rate', '12.5', '--comment', 'web tier; nightly'], [
      ...addReads(jobs),
      { node: 'pve1', argv: ['pvesr', 'create-local-job', '100-1', 'pve2', '--schedule', '*/5', '--rate', '12.5', '--comment', 'web tier; nightly'] },
      { node: 'pve1', argv: ['pvesr', 'list'], result: answer(pvesrListText([...jobs, { id: '100-1', target: 'pve2', schedule: '*/5', rate: '12.5' }])) },
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('✔ job 100-1 replicates VM 100 from pve1 to pve2 on schedule */5 at up to 12.5 MB/s; the first sync runs when pvescheduler next finds it due (pvx replication run 100-1 starts it now)\n');
    expect(r.fake?.mutations()).toEqual(['pve1: pvesr create-local-job 100-1 pve2 --schedule */5 --rate 12.5 --comment web tier; nightly']);
    r.fake?.inner.verify();
  });

  it('--dry-run prints the exact pvesr command and runs no change', async () => {
    const r = await pvx(['--dry-run', '--json', 'replication', 'add', '100', '--to', 'pve2'], addReads());
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.result.plan).toEqual([
      { node: 'pve1', title: 'create replication job 100-0 of VM 100 to pve2', command: ['pvesr', 'create-local-job', '100-0', 'pve2'], mutates: true },
      { node: 'pve1', title: 'check that pvesr lists job 100-0 to pve2', command: ['pvesr', 'list'], mutates: false },
    ]);
    expect(doc.result.jobs).toEqual([{ id: '100-0', vmid: 100, source: 'pve1', target: 'pve2', schedule: '*/15' }]);
    expect(doc.result.volumes).toEqual(['local-zfs:vm-100-disk-0']);
    expect(r.fake?.mutations()).toEqual([]);
    r.fake?.inner.verify();
  });

  it('refuses bad input with exit 2 before any node is touched', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['99', '--to', 'pve2'], /'99' is not a VMID/],
      [['100', '--to', 'pve_2'], /--to: node name 'pve_2' is invalid/],
      [['100', '--to', 'pve2', '--schedule', 'often'], /--schedule 'often' is not a calendar event: 'often' is neither a keyword/],
      [['100', '--to', 'pve2', '--schedule', '25:00'], /--schedule '25:00': 25 is out of range for hours/],
      [['100', '--to', 'pve2', '--schedule', '*/5; reboot'], /is not a calendar event/],
      [['100', '--to', 'pve2', '--rate', '0.5'], /--rate must be at least 1 MB\/s \(pvesr's minimum\)/],
      [['100', '--to', 'pve2', '--rate', 'fast'], /--rate must be a number of MB\/s/],
      [['100', '--to', 'pve2', '--comment', 'two\nlines'], /--comment contains control characters/],
    ];
    for (const [args, message] of cases) {
      const r = await pvx(['replication', 'add', ...args], undefined);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    // these schedules pass pvx's check (pvesr has the last word)
    for (const s of ['*/15', 'mon..fri 22:00', 'sat 03:00', 'hourly', '8:00/15', '0/5', '*-*-01 02:00', 'mon,wed 12:05:30']) {
      const r = await pvx(['--dry-run', 'replication', 'add', '100', '--to', 'pve2', '--schedule', s], addReads());
      expect(r.code, s).toBe(0);
      r.fake?.inner.verify();
    }
  });

  it('refuses a disk on other local storage, naming it; nothing changes (exit 3)', async () => {
    const qm = 'memory: 512\nscsi0: local-zfs:vm-100-disk-0,size=4G\nscsi1: local-lvm:vm-100-disk-1,size=8G\nscsi2: nas:100/vm-100-disk-2.qcow2,size=8G\nscsi3: local-lvm:vm-100-disk-3,replicate=0,size=1G\n';
    const r = await pvx(['replication', 'add', '100', '--to', 'pve2'], addReads([], qm));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot replicate VM 100 (on pve1) to pve2, nothing was changed:');
    expect(r.stderr).toContain('scsi1 (local-lvm:vm-100-disk-1) is on local storage local-lvm (lvmthin): pvesr replicates only zfspool storage; move it (qm disk move 100 scsi1 <zfspool storage>) or mark it replicate=0');
    expect(r.stderr).not.toContain('scsi2');
    expect(r.stderr).not.toContain('scsi3 (');
    expect(r.fake?.mutations()).toEqual([]);
    r.fake?.inner.verify();
  });

  it('refuses when the target lacks the zfspool storage or has it disabled', async () => {
    const missing = await pvx(['replication', 'add', '100', '--to', 'pve2'], addReads([], QM_100, 'pve2', STORAGES.filter(([n]) => n !== 'local-zfs')));
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('scsi0 (local-zfs:vm-100-disk-0): pve2 has no storage local-zfs');
    missing.fake?.inner.verify();
    const disabled = await pvx(['replication', 'add', '100', '--to', 'pve2'], addReads([], QM_100, 'pve2', STORAGES.map(([n, t]) => [n, t, n === 'local-zfs' ? 'disabled' : 'active'] as [string, string, string])));
    expect(disabled.code).toBe(3);
    expect(disabled.stderr).toContain('storage local-zfs is disabled on pve2 (pvesm set local-zfs --disable 0)');
    disabled.fake?.inner.verify();
  });

  it('refuses a target that is the guest’s node, offline or not in the cluster, and a second job to the same target', async () => {
    const same = await pvx(['replication', 'add', '100', '--to', 'pve1'], clusterReads());
    expect(same.code).toBe(3);
    expect(same.stderr).toContain('pve1 is the node the guest runs on: replicate to another node');
    same.fake?.inner.verify();
    const offline = await pvx(['replication', 'add', '100', '--to', 'pve3'], clusterReads([], resourcesJson({ offline: ['pve3'] })));
    expect(offline.code).toBe(3);
    expect(offline.stderr).toContain('pve3 is not online (offline)');
    offline.fake?.inner.verify();
    const stranger = await pvx(['replication', 'add', '100', '--to', 'pve9'], clusterReads());
    expect(stranger.code).toBe(3);
    expect(stranger.stderr).toContain('pve9 is not a node of the cluster (it has pve1, pve2, pve3)');
    stranger.fake?.inner.verify();
    const twice = await pvx(['replication', 'add', '100', '--to', 'pve2'], clusterReads([{ id: '100-0', target: 'pve2' }]));
    expect(twice.code).toBe(3);
    expect(twice.stderr).toContain('guest 100 is replicated to pve2 already by job 100-0');
    twice.fake?.inner.verify();
    const ghost = await pvx(['replication', 'add', '555', '--to', 'pve2'], clusterReads());
    expect(ghost.code).toBe(3);
    expect(ghost.stderr).toContain('guest 555 does not exist in the cluster');
    ghost.fake?.inner.verify();
  });

  it('refuses without quorum (exit 3) and touches nothing else', async () => {
    const r = await pvx(['replication', 'add', '100', '--to', 'pve2'], NODES.map((n) => ({ node: n, argv: ['pvecm', 'status'], result: answer(PVECM_NOT_QUORATE) })));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no node is a member of a quorate cluster, nothing was changed: pve1: member of a cluster without quorum');
    r.fake?.inner.verify();
  });

  it('pvesr refusing the schedule is bad input (exit 2), with pvesr’s own message', async () => {
    const refusal = "400 Parameter verification failed.\nschedule: invalid format - invalid calendar event 'mon..sun 99' - unable to parse calendar event\n\npvesr create-local-job <id> <target> [OPTIONS]\n";
    const r = await pvx(['replication', 'add', '100', '--to', 'pve2', '--schedule', 'mon..fri 22'], [
      ...addReads(),
      { node: 'pve1', argv: ['pvesr', 'create-local-job', '100-0', 'pve2', '--schedule', 'mon..fri 22'], result: answer('', refusal, 255) },
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("pvesr refused the job, nothing was changed: schedule: invalid format - invalid calendar event 'mon..sun 99' - unable to parse calendar event");
    r.fake?.inner.verify();
  });
});

describe('pvx replication list and status', () => {
  it('list: the jobs of pvesr list, as a table and as JSON', async () => {
    const text = pvesrListText([{ id: '100-0', target: 'pve2' }, { id: '100-1', target: 'pve3', schedule: 'mon..fri 22', rate: '10', enabled: false }]);
    const r = await pvx(['replication', 'list'], [{ node: 'pve1', argv: ['pvesr', 'list'], result: answer(text) }]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(['JOB    GUEST  TARGET  SCHEDULE     RATE (MB/s)  ENABLED', '100-0  100    pve2    */15         -            yes', '100-1  100    pve3    mon..fri 22  10           no', ''].join('\n'));
    const j = await pvx(['--json', 'replication', 'list'], [{ node: 'pve1', argv: ['pvesr', 'list'], result: answer(text) }]);
    expect(JSON.parse(j.stdout).result.jobs[1]).toEqual({ jobId: '100-1', vmid: 100, target: 'pve3', schedule: 'mon..fri 22', rateMbps: 10, enabled: false });
  });

  it('status: every node’s pvesr status, with the node that runs each job; an unreadable node is named (exit 1)', async () => {
    const pve1 = pvesrStatusText([{ id: '100-0', target: 'pve2', last: '2026-08-19_17:00:00', next: '2026-08-19_17:15:00', duration: '3.217561' }]);
    const pve2 = pvesrStatusText([{ id: '200-0', target: 'pve1', fails: 2, state: "command 'zfs snapshot rpool/data/vm-200-disk-0@__replicate_200-0_1787246400__' failed: exit code 1" }]);
    const r = await pvx(['--json', 'replication', 'status'], [
      { node: 'pve1', argv: ['pvesr', 'status'], result: answer(pve1) },
      { node: 'pve2', argv: ['pvesr', 'status'], result: answer(pve2) },
      { node: 'pve3', argv: ['pvesr', 'status'], unreachable: true },
    ]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.result.jobs).toEqual([
      { jobId: '100-0', vmid: 100, enabled: true, target: 'pve2', lastSync: '2026-08-19_17:00:00', nextSync: '2026-08-19_17:15:00', durationSec: 3.217561, failCount: 0, state: 'OK', source: 'pve1' },
      { jobId: '200-0', vmid: 200, enabled: true, target: 'pve1', nextSync: 'pending', failCount: 2, state: "command 'zfs snapshot rpool/data/vm-200-disk-0@__replicate_200-0_1787246400__' failed: exit code 1", source: 'pve2' },
    ]);
    expect(doc.result.unread).toEqual([{ node: 'pve3', message: 'cannot reach pve3 over SSH: Connection refused' }]);
    const one = await pvx(['replication', 'status', '--node', 'pve1'], [{ node: 'pve1', argv: ['pvesr', 'status'], result: answer(pve1) }]);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe(
      ['JOB    SOURCE  TARGET  ENABLED  LAST SYNC            DURATION  FAILS  NEXT SYNC            STATE', '100-0  pve1    pve2    yes      2026-08-19_17:00:00  3.2 s     0      2026-08-19_17:15:00  OK', ''].join('\n'),
    );
    one.fake?.inner.verify();
  });
});

describe('pvx replication run and remove', () => {
  const before = pvesrStatusText([{ id: '100-0', target: 'pve2', last: '2026-08-19_17:00:00', next: '2026-08-19_17:15:00', duration: '3.2' }]);

  it('run: schedule-now, then waits for pvesr status to show the new sync', async () => {
    const after = pvesrStatusText([{ id: '100-0', target: 'pve2', last: '2026-08-19_17:05:01', next: '2026-08-19_17:20:00', duration: '2.5' }]);
    const r = await pvx(['replication', 'run', '100-0'], [
      ...clusterReads([{ id: '100-0', target: 'pve2' }]),
      { node: 'pve1', argv: ['pvesr', 'status', '--guest', '100'], result: answer(before) },
      { node: 'pve1', argv: ['pvesr', 'schedule-now', '100-0'] },
      { node: 'pve1', argv: ['pvesr', 'status', '--guest', '100'], result: answer(after) },
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('✔ job 100-0 synced at 2026-08-19_17:05:01 in 2.5 s\n');
    expect(r.fake?.mutations()).toEqual(['pve1: pvesr schedule-now 100-0']);
    r.fake?.inner.verify();
  });

  it('run: a failed sync is exit 1 with the job’s error', async () => {
    const failed = pvesrStatusText([{ id: '100-0', target: 'pve2', last: '2026-08-19_17:00:00', next: '2026-08-19_17:35:00', duration: '0.4', fails: 1, state: "command 'ssh ... pvesr prepare-local-job 100-0' failed: exit code 255" }]);
    const r = await pvx(['--json', 'replication', 'run', '100'], [
      ...clusterReads([{ id: '100-0', target: 'pve2' }]),
      { node: 'pve1', argv: ['pvesr', 'status', '--guest', '100'], result: answer(before) },
      { node: 'pve1', argv: ['pvesr', 'schedule-now', '100-0'] },
      { node: 'pve1', argv: ['pvesr', 'status', '--guest', '100'], result: answer(failed) },
    ]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.message).toContain("the run failed (fail count 1): command 'ssh ... pvesr prepare-local-job 100-0' failed: exit code 255");
    expect(doc.result.runs).toEqual([{ id: '100-0', ok: false, lastSync: '2026-08-19_17:00:00', durationSec: 0.4, failCount: 1, state: "command 'ssh ... pvesr prepare-local-job 100-0' failed: exit code 255" }]);
    r.fake?.inner.verify();
  });

  it('run: an unknown job is exit 3; --dry-run prints schedule-now and the wait', async () => {
    const none = await pvx(['replication', 'run', '100-7'], clusterReads([{ id: '100-0', target: 'pve2' }]));
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('job 100-7: no such replication job, nothing was run');
    none.fake?.inner.verify();
    const dry = await pvx(['--dry-run', '--json', 'replication', 'run', '100-0'], [
      ...clusterReads([{ id: '100-0', target: 'pve2' }]),
      { node: 'pve1', argv: ['pvesr', 'status', '--guest', '100'], result: answer(before) },
    ]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout).result.plan.map((s: { command: string[] }) => s.command.join(' '))).toEqual(['pvesr schedule-now 100-0', 'pvesr status --guest 100']);
    dry.fake?.inner.verify();
  });

  it('remove: pvesr delete, then waits until pvesr list no longer lists the job; --keep keeps the replica', async () => {
    const r = await pvx(['replication', 'remove', '100', '--keep'], [
      ...clusterReads([{ id: '100-0', target: 'pve2' }, { id: '100-1', target: 'pve3' }, { id: '300-0', target: 'pve1' }]),
      { node: 'pve1', argv: ['pvesr', 'delete', '100-0', '--keep', '1'], result: answer('', 'Replication job removal is a background task and will take some time.\n') },
      { node: 'pve1', argv: ['pvesr', 'delete', '100-1', '--keep', '1'], result: answer('', 'Replication job removal is a background task and will take some time.\n') },
      { node: 'pve1', argv: ['pvesr', 'list'], result: answer(pvesrListText([{ id: '300-0', target: 'pve1' }])) },
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('✔ removed 100-0, 100-1; the replicated volumes stay on the target\n');
    r.fake?.inner.verify();
    const nothing = await pvx(['replication', 'remove', '100-3'], clusterReads([{ id: '100-0', target: 'pve2' }]));
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toContain('job 100-3: no such replication job, nothing to remove');
    nothing.fake?.inner.verify();
    const bad = await pvx(['replication', 'remove', '100-x'], undefined);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'100-x' is neither a replication job id (<vmid>-<n>, e.g. 100-0) nor a VMID");
  });
});
