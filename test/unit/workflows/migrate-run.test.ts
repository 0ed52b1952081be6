import { describe, expect, it } from 'vitest';
import type { GuestResource } from '../../../src/pve/parse/pvesh-resources.js';
import type { Move } from '../../../src/workflows/migrate/checks.js';
import { runMove, type RunEnv } from '../../../src/workflows/migrate/run.js';
import { isLockTimeout } from '../../../src/pve/parse/lock-timeout.js';
import { ResourceReader } from '../../../src/facts/resources.js';
import { FakeTransport, type Script } from '../../helpers/fake-transport.js';

const READ = ['pvesh', 'get', '/cluster/resources', '--type', 'vm', '--output-format', 'json'];
const QM = ['qm', 'migrate', '100', 'pve2', '--online', '1'];
const HA = ['ha-manager', 'migrate', 'vm:100', 'pve2'];
const TS = '2026-08-19 17:22:53';
const SUCCESS = `${TS} starting migration of VM 100 to node 'pve2' (10.0.0.2)\n${TS} migration finished successfully (duration 00:00:03)\n`;
const LOCKED = { exitCode: 255, stderr: "trying to acquire lock...\ncan't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n" };

const guest: GuestResource = { vmid: 100, type: 'qemu', node: 'pve1', status: 'running', template: false };
const where = (node: string, hastate?: string) => ({ stdout: JSON.stringify([{ id: 'qemu/100', vmid: 100, type: 'qemu', node, status: 'running', ...(hastate ? { hastate } : {}) }]) + '\n' });

function move(mode: Move['mode'] = 'live'): Move {
  return { guest: mode === 'ha' ? { ...guest, hastate: 'started' } : guest, node: 'pve1', argv: mode === 'ha' ? HA : QM, title: 'migrate VM 100 live to pve2', mode, warnings: [] };
}

/** A clock that only moves when the code sleeps (plus 1 ms per command), so time-outs are exact. */
function env(t: FakeTransport, over: Partial<RunEnv> = {}): RunEnv & { slept: number[]; notes: string[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  const notes: string[] = [];
  const timed = { exec: async (...a: Parameters<FakeTransport['exec']>) => ((now += 1), t.exec(...a)) };
  return {
    transport: timed,
    reader: new ResourceReader(timed, ['pve2']),
    now: () => now,
    sleep: async (ms) => void (slept.push(ms), (now += ms)),
    target: 'pve2',
    timeoutMs: 60_000,
    pollMs: 2000,
    lockBackoffMs: [2000, 4000, 8000],
    note: (s) => void notes.push(s),
    slept,
    notes,
    ...over,
  };
}

describe('runMove', () => {
  it('migrated: the task log says success and the guest is on the target', async () => {
    const t = new FakeTransport([
      { node: 'pve1', argv: QM, result: { stdout: SUCCESS } },
      { node: 'pve2', argv: READ, result: where('pve2') },
    ]);
    const r = await runMove(move(), env(t));
    t.verify();
    expect(r).toEqual({ vmid: 100, type: 'qemu', from: 'pve1', to: 'pve2', status: 'migrated', durationMs: 2 });
    expect(t.calls[0]?.opts).toMatchObject({ mutates: true, timeoutMs: 60_000 });
  });

  it('exit code 0 is not enough: no result line is a failure', async () => {
    const t = new FakeTransport([
      { node: 'pve1', argv: QM, result: { stdout: `${TS} starting migration of VM 100 to node 'pve2' (10.0.0.2)\n` } },
      { node: 'pve2', argv: READ, result: where('pve1') },
    ]);
    expect((await runMove(move(), env(t))).error).toBe('the output has no result line (exit code 0)');
  });

  it('a failure whose guest shows on the target anyway says so', async () => {
    const t = new FakeTransport([
      { node: 'pve1', argv: QM, result: { exitCode: 255, stdout: `${TS} ERROR: online migrate failure - aborted\n${TS} ERROR: migration finished with problems (duration 00:00:09)\n`, stderr: 'migration problems\n' } },
      { node: 'pve2', argv: READ, result: where('pve2') },
    ]);
    expect((await runMove(move(), env(t))).error).toBe('migration finished with problems: online migrate failure - aborted (it now shows on pve2: check it)');
  });

  it('lock time-outs are retried with back-off, then reported if they persist', async () => {
    const scripts: Script[] = [
      { node: 'pve1', argv: QM, result: LOCKED },
      { node: 'pve1', argv: QM, result: LOCKED },
      { node: 'pve1', argv: QM, result: { stdout: SUCCESS } },
      { node: 'pve2', argv: READ, result: where('pve2') },
    ];
    const e = env(new FakeTransport(scripts));
    expect((await runMove(move(), e)).status).toBe('migrated');
    expect(e.slept).toEqual([2000, 4000]);
    expect(e.notes).toEqual([
      'VM 100: its configuration is locked by another task; trying again in 2.0 s (attempt 2)',
      'VM 100: its configuration is locked by another task; trying again in 4.0 s (attempt 3)',
    ]);

    const always = new FakeTransport([{ node: 'pve1', argv: QM, result: LOCKED, repeat: true }]);
    const e2 = env(always);
    const r = await runMove(move(), e2);
    expect(e2.slept).toEqual([2000, 4000, 8000]);
    expect(r).toMatchObject({ status: 'failed', error: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout (still locked after 4 tries)" });
  });

  it('does not wait past --timeout for a lock', async () => {
    const e = env(new FakeTransport([{ node: 'pve1', argv: QM, result: LOCKED, repeat: true }]), { timeoutMs: 5000 });
    const r = await runMove(move(), e);
    expect(e.slept).toEqual([2000]);
    expect(r.error).toMatch(/still locked after 2 tries/);
  });

  it('an HA request is followed until the guest runs on the target', async () => {
    const t = new FakeTransport([
      { node: 'pve1', argv: HA, result: {} },
      { node: 'pve2', argv: READ, result: where('pve1', 'started') },
      { node: 'pve2', argv: READ, result: where('pve1', 'migrate') },
      { node: 'pve2', argv: READ, result: where('pve2', 'migrate') },
      { node: 'pve2', argv: READ, result: where('pve2', 'started') },
    ]);
    const e = env(t);
    const r = await runMove(move('ha'), e);
    t.verify();
    expect(r.status).toBe('migrated');
    expect(e.slept).toEqual([2000, 2000, 2000]);
    expect(e.notes).toEqual(['VM 100: HA migration to pve2 requested; waiting until it runs there (at most 60 s)']);
  });

  it('an HA request nobody carries out fails when the time is up, and says what it saw', async () => {
    const t = new FakeTransport([
      { node: 'pve1', argv: HA, result: {} },
      { node: 'pve2', argv: READ, result: where('pve1', 'started'), repeat: true },
    ]);
    const e = env(t, { timeoutMs: 10_000 });
    const r = await runMove(move('ha'), e);
    expect(e.slept).toEqual([2000, 2000, 2000, 2000]);
    expect(r).toMatchObject({
      status: 'failed',
      error: "the HA stack did not move VM 100 within 10 s (--timeout): it is still on pve1 (HA state 'started'). The request stays queued and may still be carried out; check ha-manager status",
    });
  });

  it('an HA error state or a refused request fails at once', async () => {
    const t = new FakeTransport([
      { node: 'pve1', argv: HA, result: {} },
      { node: 'pve2', argv: READ, result: where('pve1', 'error') },
    ]);
    expect((await runMove(move('ha'), env(t))).error).toBe('the HA stack put vm:100 in the error state while moving it; see ha-manager status and the task log on pve1');
    const refused = new FakeTransport([{ node: 'pve1', argv: HA, result: { exitCode: 255, stderr: "resource 'vm:100' is not HA managed\n" } }]);
    expect((await runMove(move('ha'), env(refused))).error).toBe("ha-manager migrate failed: resource 'vm:100' is not HA managed");
  });

  it('qm that only queued an HA request (the guest became HA-managed) is followed too', async () => {
    const t = new FakeTransport([
      { node: 'pve1', argv: QM, result: { stdout: 'Requesting HA migration for VM 100 to node pve2\n' } },
      { node: 'pve2', argv: READ, result: where('pve2', 'started') },
    ]);
    expect((await runMove(move(), env(t))).status).toBe('migrated');
  });

  it('a lost connection is a failure that says the move may go on', async () => {
    const t = new FakeTransport([{ node: 'pve1', argv: QM, unreachable: true }]);
    expect((await runMove(move(), env(t))).error).toBe(
      'lost the connection to pve1 (cannot reach pve1 over SSH: Connection refused); the migration may still be running there: check where VM 100 is before retrying',
    );
  });

  it('isLockTimeout knows the config and cfs lock messages only', () => {
    const r = (stderr: string, exitCode = 255) => ({ exitCode, stdout: '', stderr, durationMs: 1 });
    expect(isLockTimeout(r("can't lock file '/run/lock/lxc/pve-config-101.lock' - got timeout\n"))).toBe(true);
    expect(isLockTimeout(r("cfs-lock 'domain-ha' error: got lock request timeout\n"))).toBe(true);
    expect(isLockTimeout(r('VM is locked (backup)\n'))).toBe(false);
    expect(isLockTimeout(r("can't lock file '/x' - got timeout\n", 0))).toBe(false);
  });
});

describe('ResourceReader', () => {
  it('callers asking together share one read; a later caller gets a new one', async () => {
    const t = new FakeTransport([{ node: 'pve2', argv: READ, result: where('pve2'), repeat: true }]);
    const reader = new ResourceReader(t, ['pve2']);
    await Promise.all([reader.guests(), reader.guests(), reader.guests()]);
    expect(t.calls).toHaveLength(1);
    await reader.guests();
    expect(t.calls).toHaveLength(2);
  });

  it('falls back to the next node and sticks to the one that answered', async () => {
    const t = new FakeTransport([
      { node: 'pve2', argv: READ, unreachable: true },
      { node: 'pve1', argv: READ, result: where('pve2'), repeat: true },
    ]);
    const reader = new ResourceReader(t, ['pve2', 'pve1']);
    expect((await reader.guests()).node).toBe('pve1');
    expect((await reader.guests()).node).toBe('pve1');
    expect(t.calls.map((c) => c.node)).toEqual(['pve2', 'pve1', 'pve1']);
  });

  it('no node reachable is an UnreachableError; nodes that answer badly a StepError', async () => {
    const down = new ResourceReader(new FakeTransport([{ node: 'pve2', argv: READ, unreachable: true }]), ['pve2']);
    await expect(down.guests()).rejects.toMatchObject({ name: 'UnreachableError', exitCode: 6 });
    const bad = new ResourceReader(new FakeTransport([{ node: 'pve2', argv: READ, result: { exitCode: 255, stderr: 'ipcc_send_rec[1] failed: Connection refused\n' } }]), ['pve2']);
    await expect(bad.guests()).rejects.toMatchObject({ name: 'StepError', message: 'could not read the cluster resources: pve2: ipcc_send_rec[1] failed: Connection refused' });
  });
});
