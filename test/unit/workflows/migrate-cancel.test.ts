/** Ctrl-C during a migration: a wait ends (an HA wait, a lock back-off), a running command is never cut. */
import { describe, expect, it } from 'vitest';
import type { GuestResource } from '../../../src/pve/parse/pvesh-resources.js';
import type { Move } from '../../../src/workflows/migrate/checks.js';
import { runMove, type RunEnv } from '../../../src/workflows/migrate/run.js';
import { ResourceReader } from '../../../src/facts/resources.js';
import { abortableSleep } from '../../../src/workflows/worker-pool.js';
import { FakeTransport } from '../../helpers/fake-transport.js';

const READ = ['pvesh', 'get', '/cluster/resources', '--type', 'vm', '--output-format', 'json'];
const HA = ['ha-manager', 'migrate', 'vm:100', 'pve2'];
const QM = ['qm', 'migrate', '100', 'pve2', '--online', '1'];
const LOCKED = { exitCode: 255, stderr: "trying to acquire lock...\ncan't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n" };
const plain: GuestResource = { vmid: 100, type: 'qemu', node: 'pve1', status: 'running', template: false };
const guest: GuestResource = { ...plain, hastate: 'started' };
const onPve1 = { stdout: JSON.stringify([{ id: 'qemu/100', vmid: 100, type: 'qemu', node: 'pve1', status: 'running', hastate: 'migrate' }]) + '\n' };

function env(t: FakeTransport, signal: AbortSignal, onSleep: () => void = () => undefined): RunEnv {
  let now = 1_000_000;
  return {
    transport: t,
    reader: new ResourceReader(t, ['pve2']),
    now: () => now,
    sleep: async (ms) => {
      now += ms;
      onSleep();
    },
    target: 'pve2',
    timeoutMs: 3_600_000,
    pollMs: 2000,
    lockBackoffMs: [2000, 4000],
    signal,
  };
}

describe('runMove after Ctrl-C', () => {
  it('stops waiting for the HA stack: failed, saying the request stays queued', async () => {
    const ac = new AbortController();
    const t = new FakeTransport([
      { node: 'pve1', argv: HA },
      { node: 'pve2', argv: READ, result: onPve1, repeat: true },
    ]);
    const r = await runMove({ guest, node: 'pve1', argv: HA, title: 'migrate VM 100 to pve2 (HA)', mode: 'ha', warnings: [] }, env(t, ac.signal, () => ac.abort()));
    t.verify();
    expect(r.status).toBe('failed');
    expect(r.error).toBe("stopped waiting with Ctrl-C: VM 100 is still on pve1 (HA state 'migrate'). The request stays queued and may still be carried out; check ha-manager status");
    // one wait, then the read after it saw the abort
    expect(t.calls.filter((c) => c.argv[0] === 'pvesh')).toHaveLength(2);
  });

  it('does not retry a lock time-out once aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const t = new FakeTransport([{ node: 'pve1', argv: QM, result: LOCKED }]);
    const r = await runMove({ guest: plain, node: 'pve1', argv: QM, title: 'migrate VM 100 live to pve2', mode: 'live', warnings: [] }, env(t, ac.signal));
    t.verify();
    expect(r.status).toBe('failed');
    expect(r.error).toContain('still locked after 1 try');
  });
});

describe('abortableSleep', () => {
  it('ends at once when aborted, and does not start when already aborted', async () => {
    const ac = new AbortController();
    const long = abortableSleep(ac.signal)(3_600_000);
    ac.abort();
    await expect(long).resolves.toBeUndefined();
    await expect(abortableSleep(ac.signal)(3_600_000)).resolves.toBeUndefined();
  });
});
