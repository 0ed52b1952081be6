import { describe, expect, it, vi } from 'vitest';
import { FakeMigrateCluster, type FakeGuest } from '../helpers/fake-migrate.js';
import { FakeTransport } from '../helpers/fake-transport.js';
import { runInProcess, writeInventory } from '../helpers/run-cli.js';

const NODES = ['pve1', 'pve2', 'pve3'];

function cluster(guests: FakeGuest[]): FakeMigrateCluster {
  return new FakeMigrateCluster(guests);
}

const VM100: FakeGuest = { vmid: 100, type: 'qemu', node: 'pve1', name: 'web', running: true, memMiB: 2048 };
const CT101: FakeGuest = { vmid: 101, type: 'lxc', node: 'pve1', name: 'dns', running: true, memMiB: 512 };
const VM102: FakeGuest = { vmid: 102, type: 'qemu', node: 'pve1', name: 'db', running: false, memMiB: 4096, storage: 'local-lvm' };

/**
 * Run on a fake clock that jumps to each next timer once the code waits: back-offs, polls and the
 * fake's migration times cost no real time, and elapsed time is exact.
 */
async function onFakeClock<T>(work: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  try {
    let settled = false;
    const p = work().finally(() => void (settled = true));
    // each step also yields to the real event loop, so file reads and imports go on meanwhile
    while (!settled) await vi.advanceTimersToNextTimerAsync();
    return await p;
  } finally {
    vi.useRealTimers();
  }
}

function json(stdout: string): { ok: boolean; command: string; result: any; error?: any; warnings: string[] } {
  return JSON.parse(stdout);
}

describe('pvx migrate (in-process, fake cluster)', () => {
  it('moves a running VM live, checks its new node, and prints one line as it ends', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100]);
    const r = await runInProcess(['-i', inv, 'migrate', '100', '--to', 'pve2', '--online'], c);
    expect(r.code).toBe(0);
    expect(c.mutations()).toEqual(['pve1: qm migrate 100 pve2 --online 1']);
    expect(c.guests.get(100)?.node).toBe('pve2');
    // the last read is the one that confirms where the guest is
    const last = c.calls[c.calls.length - 1];
    expect(last?.argv).toEqual(['pvesh', 'get', '/cluster/resources', '--type', 'vm', '--output-format', 'json']);
    expect(r.stdout).toMatch(/^VMID {2}TYPE {2}FROM {2}TO {4}STATUS {4}TIME +REASON\n100 {3}VM {4}pve1 {2}pve2 {2}migrated {2}\d+\.\d s\n1 migrated, 0 failed, 0 skipped \(of 1\)\n$/);
    expect(r.stderr).toMatch(/^✔ read the cluster from pve2: 1 guest\(s\) selected\n✔ checked 1 guest\(s\): 1 can go\n✔ VM 100 pve1 → pve2: migrated in \d+\.\d s\n$/);
    c.verify();
  });

  it('gives each guest its own command and skips what cannot go, with the reason (exit 1)', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100, CT101, VM102]);
    const r = await runInProcess(['-i', inv, 'migrate', '100-102', '--to', 'pve3', '--restart'], c);
    expect(r.code).toBe(1);
    // --restart moves the running CT; the running VM needs --online; the VM with a local disk needs --with-local-disks
    expect(c.mutations()).toEqual(['pve1: pct migrate 101 pve3 --restart 1']);
    const lines = r.stdout.split('\n');
    expect(lines[1]).toMatch(/^100 +VM +pve1 +pve3 +skipped +- +running VM: qm has no restart migration; use --online \(live migration\)$/);
    expect(lines[2]).toMatch(/^101 +CT +pve1 +pve3 +migrated +\d+\.\d s$/);
    expect(lines[3]).toMatch(/^102 +VM +pve1 +pve3 +skipped +- +disks on local storage \(local-lvm:vm-102-disk-0\): needs --with-local-disks \(they are copied to pve3\)$/);
    expect(lines[4]).toBe('1 migrated, 0 failed, 2 skipped (of 3)');
    expect(r.stderr).toContain('• VM 100 on pve1: skipped: running VM: qm has no restart migration; use --online (live migration)\n');
    expect(r.stderr).toMatch(/✔ CT 101 pve1 → pve3: migrated in \d+\.\d s\n/);
    expect(r.stderr).toContain('error: 2 of 3 guest(s) did not move to pve3: 2 skipped\n');
    c.verify();
  });

  it('--json prints the CLI.md document and nothing on stderr', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100, CT101, { ...VM102, storage: 'nfs1' }]);
    c.faults.set(101, { kind: 'abort', reason: "can't connect to destination address using public key" });
    const r = await runInProcess(['-i', inv, '--json', 'migrate', '102', '100', '101', '--to', 'pve2', '--online'], c, { tty: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const doc = json(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, command: 'migrate', ok: false, warnings: [] });
    expect(doc.error).toMatchObject({ code: 'MIGRATE_INCOMPLETE', exitCode: 1, message: '1 of 3 guest(s) did not move to pve2: 1 skipped' });
    // the guests in the order named; exactly the fields of the contract
    expect(doc.result.guests.map((g: any) => Object.keys(g).sort())).toEqual([
      ['durationMs', 'from', 'status', 'to', 'type', 'vmid'],
      ['durationMs', 'from', 'status', 'to', 'type', 'vmid'],
      ['durationMs', 'error', 'from', 'status', 'to', 'type', 'vmid'],
    ]);
    expect(doc.result.guests.map((g: any) => [g.vmid, g.type, g.from, g.to, g.status])).toEqual([
      [102, 'qemu', 'pve1', 'pve2', 'migrated'],
      [100, 'qemu', 'pve1', 'pve2', 'migrated'],
      [101, 'lxc', 'pve1', 'pve2', 'skipped'],
    ]);
    expect(doc.result.guests[2].error).toBe('a running container cannot move live (--online); use --restart: it is shut down, moved and started on the target');
    expect(doc.result.guests.every((g: any) => Number.isInteger(g.durationMs) && g.durationMs >= 0)).toBe(true);
    // a stopped VM moves offline: no --online
    expect(c.mutations()).toEqual(['pve1: qm migrate 102 pve2', 'pve1: qm migrate 100 pve2 --online 1']);
    c.verify();
  });

  it('a failing guest does not stop the others; its error comes from the task output', async () => {
    const inv = writeInventory(NODES);
    const guests: FakeGuest[] = [100, 101, 102, 103].map((vmid) => ({ vmid, type: 'qemu', node: 'pve1', running: true, memMiB: 1024 }));
    const c = cluster(guests);
    c.faults.set(101, { kind: 'abort', reason: "can't connect to destination address using public key" });
    c.faults.set(102, { kind: 'stays' });
    const r = await runInProcess(['-i', inv, '--json', 'migrate', 'all@pve1', '--to', 'pve2', '--online', '--parallel', '2'], c);
    expect(r.code).toBe(1);
    const doc = json(r.stdout);
    expect(doc.result.guests.map((g: any) => [g.vmid, g.status, g.error])).toEqual([
      [100, 'migrated', undefined],
      [101, 'failed', "migration aborted: can't connect to destination address using public key"],
      [102, 'failed', 'the task reported success, but VM 102 is still on pve1'],
      [103, 'migrated', undefined],
    ]);
    expect(doc.error.message).toBe('2 of 4 guest(s) did not move to pve2: 2 failed');
    c.verify();
  });

  it('--parallel runs N at a time, starts guests in order and prints each as it ends', async () => {
    const inv = writeInventory(NODES);
    const guests: FakeGuest[] = Array.from({ length: 8 }, (_, i) => ({ vmid: 200 + i, type: 'qemu' as const, node: 'pve1', running: true, memMiB: 512 }));
    const c = cluster(guests);
    c.migrateMs = 60;
    c.migrateMsOf.set(200, 250);
    const r = await onFakeClock(() => runInProcess(['-i', inv, 'migrate', '200-207', '--to', 'pve3', '--online', '--parallel', '4'], c));
    expect(r.code).toBe(0);
    expect(c.maxInFlight).toBe(4);
    const started = c.calls.filter((x) => x.argv[1] === 'migrate').map((x) => Number(x.argv[2]));
    expect(started).toEqual([200, 201, 202, 203, 204, 205, 206, 207]);
    // 200 is slow: it ends after the others, and its line comes last
    const ended = [...r.stderr.matchAll(/✔ VM (\d+) pve1 → pve3: migrated/g)].map((m) => Number(m[1]));
    expect(ended[ended.length - 1]).toBe(200);
    expect(ended).toHaveLength(8);
    // the table keeps the order the guests were named in
    expect(r.stdout.split('\n').slice(1, 9).map((l) => Number(l.split(/\s+/)[0]))).toEqual([200, 201, 202, 203, 204, 205, 206, 207]);
    c.verify();
  });

  it('retries a lock time-out after a back-off and then migrates', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100]);
    c.faults.set(100, { kind: 'lock', times: 1 });
    const r = await onFakeClock(() => runInProcess(['-i', inv, 'migrate', '100', '--to', 'pve2', '--online'], c));
    expect(r.code).toBe(0);
    expect(c.mutations()).toEqual(['pve1: qm migrate 100 pve2 --online 1', 'pve1: qm migrate 100 pve2 --online 1']);
    // the second try came after the back-off, to the millisecond on the fake clock
    const tries = c.calls.filter((x) => x.argv[1] === 'migrate').map((x) => x.at);
    expect(tries[1]! - tries[0]!).toBe(2000);
    expect(r.stderr).toContain('• VM 100: its configuration is locked by another task; trying again in 2.0 s (attempt 2)\n');
    c.verify();
  });

  it('follows an HA-managed guest until it runs on the target', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([{ ...VM100, hastate: 'started' }]);
    c.crmAfterReads = 3;
    const r = await onFakeClock(() => runInProcess(['-i', inv, '--json', 'migrate', '100', '--to', 'pve2', '--timeout', '5'], c));
    expect(r.code).toBe(0);
    expect(c.mutations()).toEqual(['pve1: ha-manager migrate vm:100 pve2']);
    expect(json(r.stdout).result.guests[0]).toMatchObject({ vmid: 100, status: 'migrated', from: 'pve1', to: 'pve2' });
    const polls = c.calls.filter((x) => x.argv.includes('--type'));
    expect(polls.length).toBeGreaterThanOrEqual(3);
    c.verify();
  });

  it('reports an HA request the CRM never carries out as failed when --timeout passes', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([{ ...CT101, hastate: 'started' }]);
    let elapsed = -1;
    const r = await onFakeClock(async () => {
      const t0 = Date.now();
      const run = await runInProcess(['-i', inv, '--json', 'migrate', '101', '--to', 'pve3', '--timeout', '1'], c);
      elapsed = Date.now() - t0;
      return run;
    });
    // it gave up at its deadline on the fake clock: polls every 250 ms, the last at 1.0 s
    expect(elapsed).toBe(1000);
    expect(r.code).toBe(1);
    expect(c.mutations()).toEqual(['pve1: ha-manager migrate ct:101 pve3']);
    const g = json(r.stdout).result.guests[0];
    expect(g).toMatchObject({ vmid: 101, type: 'lxc', status: 'failed' });
    expect(g.error).toBe(
      "the HA stack did not move CT 101 within 1.0 s (--timeout): it is still on pve1 (HA state 'started'). The request stays queued and may still be carried out; check ha-manager status",
    );
    c.verify();
  });

  it('treats a guest the HA stack has configured but not seen yet (queued) as HA-managed', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100]);
    c.haQueued.add(100);
    const r = await runInProcess(['-i', inv, '--json', '--dry-run', 'migrate', '100', '--to', 'pve2'], c);
    expect(r.code).toBe(0);
    expect(json(r.stdout).result.plan.map((p: any) => p.command)).toEqual([['ha-manager', 'migrate', 'vm:100', 'pve2']]);
    c.verify();
  });

  it('warns when the HA status cannot be read and goes on with what the resources say', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100]);
    c.haStatusError = 'ipcc_send_rec[1] failed: Connection refused';
    const r = await runInProcess(['-i', inv, '--json', '--dry-run', 'migrate', '100', '--to', 'pve2', '--online'], c);
    expect(r.code).toBe(0);
    expect(json(r.stdout).warnings).toEqual([
      'could not read the HA status from pve2 (ipcc_send_rec[1] failed: Connection refused): only guests whose resources show an HA state are treated as HA-managed',
    ]);
    c.verify();
  });

  it('--dry-run prints the exact command per guest and node and changes nothing', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([
      VM100,
      CT101,
      { ...VM102, running: true },
      { vmid: 103, type: 'qemu', node: 'pve3', running: true, memMiB: 1024, extra: ['ide2: local-lvm:vm-103-cloudinit,media=cdrom'] },
      { vmid: 104, type: 'lxc', node: 'pve2', running: false, memMiB: 512, storage: 'local-lvm' },
      { vmid: 105, type: 'qemu', node: 'pve1', running: false, memMiB: 512, lock: 'backup' },
    ]);
    const args = ['-i', inv, '--json', '--dry-run', 'migrate', '100-105', '--to', 'pve2', '--online', '--with-local-disks', '--target-storage', 'local', '--bwlimit', '12.5'];
    const r = await runInProcess(args, c);
    expect(c.mutations()).toEqual([]);
    const doc = json(r.stdout);
    expect(doc.result.plan).toEqual([
      { node: 'pve1', title: 'migrate VM 100 (web) live to pve2', command: ['qm', 'migrate', '100', 'pve2', '--online', '1', '--bwlimit', '12800'], mutates: true },
      {
        node: 'pve1',
        title: 'migrate VM 102 (db) live to pve2',
        command: ['qm', 'migrate', '102', 'pve2', '--online', '1', '--with-local-disks', '1', '--targetstorage', 'local', '--bwlimit', '12800'],
        mutates: true,
      },
      // its cloud-init drive goes to the target storage: a generated volume, no --with-local-disks of its own
      {
        node: 'pve3',
        title: 'migrate VM 103 (vm103) live to pve2',
        command: ['qm', 'migrate', '103', 'pve2', '--online', '1', '--targetstorage', 'local', '--bwlimit', '12800'],
        mutates: true,
      },
    ]);
    expect(doc.result.skipped.map((s: any) => [s.vmid, s.error])).toEqual([
      [101, 'a running container cannot move live (--online); use --restart: it is shut down, moved and started on the target'],
      [104, 'already on pve2'],
      [105, 'locked (backup); once nothing works on it: qm unlock 105'],
    ]);
    expect(r.code).toBe(1);

    const ct = await runInProcess(['-i', inv, '--json', '--dry-run', 'migrate', '101', '--to', 'pve3', '--restart', '--target-storage', 'local-lvm', '--bwlimit', '100'], c);
    expect(json(ct.stdout).result.plan[0].command).toEqual(['pct', 'migrate', '101', 'pve3', '--restart', '1', '--bwlimit', '102400']);
    expect(ct.code).toBe(0);

    const human = await runInProcess(['-i', inv, '--dry-run', 'migrate', '100,105', '--to', 'pve2', '--online'], c);
    expect(human.stdout).toBe(
      [
        'Plan: migrate 1 guest(s) to pve2 (--dry-run: nothing was changed)',
        '',
        'pve1',
        '  1. migrate VM 100 (web) live to pve2',
        '       qm migrate 100 pve2 --online 1',
        '',
        'Not moving',
        '  VM 105 on pve1: locked (backup); once nothing works on it: qm unlock 105',
        '',
      ].join('\n'),
    );
    expect(c.mutations()).toEqual([]);
    c.verify();
  });

  it('moves a running VM whose cloud-init drive is on local storage live, without --with-local-disks', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([{ ...VM100, extra: ['ide2: local-lvm:vm-100-cloudinit,media=cdrom'] }]);
    const r = await runInProcess(['-i', inv, '--json', 'migrate', '100', '--to', 'pve2', '--online'], c);
    expect(r.code).toBe(0);
    expect(c.mutations()).toEqual(['pve1: qm migrate 100 pve2 --online 1']);
    expect(json(r.stdout).result.guests[0]).toMatchObject({ vmid: 100, status: 'migrated' });
    expect(c.guests.get(100)?.node).toBe('pve2');
    c.verify();
  });

  it('skips a VM with a disk given as a host path, naming the disk and the fix; the others go on (exit 1)', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([{ ...VM100, extra: ['scsi1: /dev/sdb'] }, { ...CT101, running: false }]);
    const r = await runInProcess(['-i', inv, '--json', 'migrate', '100,101', '--to', 'pve2', '--online', '--with-local-disks'], c);
    expect(r.code).toBe(1);
    expect(c.mutations()).toEqual(['pve1: pct migrate 101 pve2']);
    expect(json(r.stdout).result.guests.map((g: any) => [g.vmid, g.status, g.error])).toEqual([
      [
        100,
        'skipped',
        'scsi1 is the host disk /dev/sdb, which PVE cannot migrate ("local file/device"): copy it onto a storage (qm disk import 100 /dev/sdb <storage>, then use that volume as scsi1), or, if /dev/sdb is the same shared device on every node, add shared=1 to scsi1',
      ],
      [101, 'migrated', undefined],
    ]);
    c.verify();
  });

  it('refuses --target-storage for an HA-managed guest before anything moves (exit 2); each guest says why', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([{ ...VM100, hastate: 'started' }, { ...VM102, storage: 'local-lvm' }, { ...CT101, node: 'pve2' }]);
    const r = await runInProcess(['-i', inv, '--json', 'migrate', '100,102,101', '--to', 'pve2', '--online', '--with-local-disks', '--target-storage', 'local'], c);
    expect(r.code).toBe(2);
    expect(c.mutations()).toEqual([]);
    // nothing was asked of the guests either: no configuration read
    expect(c.calls.filter((x) => x.argv[1] === 'config')).toEqual([]);
    const doc = json(r.stdout);
    expect(doc.error).toMatchObject({
      code: 'USAGE',
      exitCode: 2,
      message: '--target-storage cannot apply to HA-managed guest(s) VM 100: ha-manager migrate takes no target storage; nothing was moved',
      details: { haManaged: [100] },
    });
    expect(doc.result.guests.map((g: any) => [g.vmid, g.status, g.error])).toEqual([
      [100, 'skipped', 'HA-managed (vm:100): ha-manager migrate cannot take --target-storage local; the HA stack keeps its disks on storage with the same ID'],
      [102, 'skipped', 'not run: --target-storage cannot apply to VM 100, so nothing moved'],
      [101, 'skipped', 'already on pve2'],
    ]);
    const dry = await runInProcess(['-i', inv, '--json', '--dry-run', 'migrate', '100', '--to', 'pve3', '--target-storage', 'local'], c);
    expect(dry.code).toBe(2);
    expect(json(dry.stdout).result).toMatchObject({ plan: [], skipped: [{ vmid: 100, status: 'skipped' }] });
    const human = await runInProcess(['-i', inv, 'migrate', '100', '--to', 'pve3', '--target-storage', 'local'], c);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain('error: --target-storage cannot apply to HA-managed guest(s) VM 100: ha-manager migrate takes no target storage; nothing was moved\n');
    expect(c.mutations()).toEqual([]);
    c.verify();
  });

  it('skips every guest when the target is not quorate, running nothing', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100, CT101]);
    c.inquorate.add('pve2');
    const r = await runInProcess(['-i', inv, '--json', 'migrate', '100', '101', '--to', 'pve2', '--online'], c);
    expect(r.code).toBe(1);
    expect(c.mutations()).toEqual([]);
    const errors = json(r.stdout).result.guests.map((g: any) => g.error);
    expect(errors).toEqual(['the target pve2 is not quorate (1 of 3 votes, 2 needed)', 'the target pve2 is not quorate (1 of 3 votes, 2 needed)']);
    c.verify();
  });

  it('reads from another member when the target is unreachable, and skips with the reason', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100]);
    c.unreachable.add('pve3');
    const r = await runInProcess(['-i', inv, '--json', 'migrate', '100', '--to', 'pve3', '--online'], c);
    expect(r.code).toBe(1);
    expect(c.mutations()).toEqual([]);
    expect(json(r.stdout).result.guests[0].error).toBe('the target pve3 cannot be reached: cannot reach pve3 over SSH: Connection timed out');
    c.verify();
  });

  it('skips the guests of a node that cannot be reached; the others go on', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100, { vmid: 300, type: 'qemu', node: 'pve3', running: false, memMiB: 512 }]);
    c.unreachable.add('pve1');
    const r = await runInProcess(['-i', inv, '--json', 'migrate', '100', '300', '--to', 'pve2', '--online'], c);
    expect(r.code).toBe(1);
    expect(c.mutations()).toEqual(['pve3: qm migrate 300 pve2']);
    expect(json(r.stdout).result.guests.map((g: any) => [g.vmid, g.status, g.error])).toEqual([
      [100, 'skipped', 'its node pve1 cannot be reached: cannot reach pve1 over SSH: Connection timed out'],
      [300, 'migrated', undefined],
    ]);
    c.verify();
  });

  it('warns about different CPU vendors on a live move and about little free memory', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100]);
    c.vendors.set('pve2', 'AuthenticAMD');
    c.freeMem.set('pve2', 1024 ** 3);
    const r = await runInProcess(['-i', inv, '--json', 'migrate', '100', '--to', 'pve2', '--online'], c);
    expect(r.code).toBe(0);
    expect(json(r.stdout).warnings).toEqual([
      "VM 100 moves live from a GenuineIntel CPU (pve1) to a AuthenticAMD CPU (pve2): with CPU type 'host' it may crash; a common model (x86-64-v2-AES) is safe",
      'pve2 has 1.0 GiB of memory free; the running guests moving there may use up to 2.0 GiB',
    ]);
    c.verify();
  });

  it('counts guests already on the target as done (exit 0) and says so', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([{ ...VM100, node: 'pve2' }]);
    const r = await runInProcess(['-i', inv, '--json', 'migrate', '100', '--to', 'pve2', '--online'], c);
    expect(r.code).toBe(0);
    expect(json(r.stdout).result.guests).toEqual([{ vmid: 100, type: 'qemu', from: 'pve2', to: 'pve2', status: 'skipped', durationMs: 0, error: 'already on pve2' }]);
    c.verify();
  });

  it('an empty all@<node> is nothing to do', async () => {
    const inv = writeInventory(NODES);
    const c = cluster([VM100]);
    const r = await runInProcess(['-i', inv, 'migrate', 'all@pve3', '--to', 'pve2'], c);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('No guests selected: nothing to migrate.\n');
    c.verify();
  });
});

describe('pvx migrate: bad input is exit 2 and nothing mutating runs', () => {
  const noCommands = () => new FakeTransport([]);

  it.each([
    [['abc', '--to', 'pve2'], "'abc' is not a guest selector: use a VMID (100), a range (100-110) or all@<node>"],
    [['99', '--to', 'pve2'], "'99' is not a VMID (VMIDs are whole numbers from 100 to 999999999)"],
    [['110-100', '--to', 'pve2'], "'110-100': the range runs backwards (write 100-110)"],
    [['all@', '--to', 'pve2'], "'all@': no node name after all@"],
    [['100;rm', '--to', 'pve2'], "'100;rm' is not a guest selector: use a VMID (100), a range (100-110) or all@<node>"],
    [['100', '--to', 'pve2', '--online', '--restart'], '--online and --restart exclude each other: --online moves running VMs live, --restart moves running containers by restarting them; run once per kind'],
    [['100', '--to', 'pve2', '--bwlimit', '0'], "--bwlimit must be a bandwidth in MiB/s above 0 (e.g. 100 or 12.5), got '0'"],
    [['100', '--to', 'pve2', '--bwlimit', '10M'], "--bwlimit must be a bandwidth in MiB/s above 0 (e.g. 100 or 12.5), got '10M'"],
    [['100', '--to', 'pve2', '--parallel', '0'], "--parallel must be a whole number from 1 to 8, got '0'"],
    [['100', '--to', 'pve2', '--parallel', '9'], "--parallel must be a whole number from 1 to 8, got '9'"],
    [['100', '--to', 'pve2', '--timeout', '-5'], "--timeout must be a whole number of seconds from 1 to 604800, got '-5'"],
    [['100', '--to', 'pve2', '--target-storage', 'x;y'], "--target-storage must be a storage ID (letters, digits, '-', '_', '.', starting with a letter, e.g. local-lvm), got 'x;y'"],
    [['100', '--to', 'bad_name'], "--to: node name 'bad_name' is invalid: a node name is a short hostname of letters, digits and hyphens, starting and ending with a letter or digit (e.g. 'pve1')"],
    [['100', '--to', 'pve9'], "--to: node 'pve9' is not in the inventory"],
  ])('%j', async (args, message) => {
    const inv = writeInventory(NODES);
    const t = noCommands();
    const r = await runInProcess(['-i', inv, '--json', 'migrate', ...args], t);
    expect(r.code).toBe(2);
    expect(t.calls).toEqual([]);
    const doc = json(r.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.error.exitCode).toBe(2);
    expect(doc.error.message.startsWith(message)).toBe(true);
  });

  it('lists every problem at once', async () => {
    const inv = writeInventory(NODES);
    const r = await runInProcess(['-i', inv, 'migrate', 'x', '1', '--to', 'pve2', '--parallel', '99'], noCommands());
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: 3 problems: 'x' is not a guest selector: use a VMID (100), a range (100-110) or all@<node>; '1' is not a VMID (VMIDs are whole numbers from 100 to 999999999); --parallel must be a whole number from 1 to 8, got '99'\n" +
        'hint: guests are VMIDs (100), ranges (100-110) or all@<node>; see pvx migrate --help\n',
    );
  });

  it('--to is required', async () => {
    const inv = writeInventory(NODES);
    const r = await runInProcess(['-i', inv, 'migrate', '100'], noCommands());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--to <node>' not specified");
  });

  it('unknown VMIDs, empty ranges and unknown nodes are listed after one read, before anything changes', async () => {
    const inv = writeInventory(NODES);
    const c = new FakeMigrateCluster([VM100]);
    const r = await runInProcess(['-i', inv, '--json', 'migrate', '100', '105', '300-310', 'all@pve7', '107', '--to', 'pve2', '--online'], c);
    expect(r.code).toBe(2);
    expect(c.mutations()).toEqual([]);
    const doc = json(r.stdout);
    expect(doc.error.message).toBe('no such guest(s) in the cluster: 105, 300-310, all@pve7, 107');
    expect(doc.error.details).toEqual({ unknown: ['105', '300-310', 'all@pve7', '107'] });
    // only reads ran
    expect(c.calls.every((x) => !x.opts.mutates)).toBe(true);
    c.verify();
  });
});
