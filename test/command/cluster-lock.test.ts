/**
 * The cluster lock seen from the commands: a second run is refused (exit 1) naming who holds the
 * lock and since when, with nothing changed; the lock is released after success, after a failed
 * step, after an exception and after Ctrl-C; a stale lock is taken over with a warning; a dry run
 * and a refusal never touch it. The fakes keep a lock folder per node (test/helpers/fake-lock.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExecOptions, ExecResult } from '../../src/transport/types.js';
import { FakeCluster } from '../helpers/fake-cluster.js';
import { FakeHa } from '../helpers/fake-ha.js';
import { FakeMigrateCluster, type FakeGuest } from '../helpers/fake-migrate.js';
import { TeardownFake } from '../helpers/fake-teardown.js';
import { runInProcess, writeInventory } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp.js';

const NAMES = ['pve1', 'pve2', 'pve3'];
/** The nodes' clock in these tests: 2026-09-21T14:13:20Z. */
const NOW = 1_790_000_000;

function json(stdout: string): { ok: boolean; result: any; error?: any; warnings: string[] } {
  return JSON.parse(stdout);
}

/** A formed 3-node cluster whose nodes' clock stands still at NOW. */
function lab(): FakeCluster {
  const fc = new FakeCluster(NAMES).form('lab', NAMES);
  fc.locks.now = () => NOW;
  return fc;
}

/** The lock folder answers on one node, in order: `acquire:taken`, `release:released`, … */
function lockLog(fc: { locks: { calls: Array<{ node: string; action: string; answer: string }> } }, node?: string): string[] {
  return fc.locks.calls.filter((c) => node === undefined || c.node === node).map((c) => `${c.node} ${c.action}:${c.answer}`);
}

const VM100: FakeGuest = { vmid: 100, type: 'qemu', node: 'pve1', name: 'web', running: false, memMiB: 512 };
const VM102: FakeGuest = { vmid: 102, type: 'qemu', node: 'pve1', name: 'db', running: false, memMiB: 512 };

afterEach(() => {
  vi.useRealTimers();
});

describe('a second run is refused while another holds the lock', () => {
  it('cluster expected: exit 1 (LOCKED) naming the holder and since when; nothing changed, the lock stays its holder`s', async () => {
    const fc = lab();
    const holder = fc.locks.hold('pve2', { since: NOW - 180, heartbeat: NOW - 20 });
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', '--yes', 'cluster', 'expected', '4', '--node', 'pve1'], fc);
    expect(r.code).toBe(1);
    const doc = json(r.stdout);
    expect(doc.error).toMatchObject({ code: 'LOCKED', exitCode: 1 });
    expect(doc.error.message).toBe(
      "the cluster is locked by another pvx run: on pve2, 'pvx cluster teardown --yes' run by bob on ws2 (pid 4242) since 2026-09-21T14:10:20Z (3 min ago; last heartbeat 20 s ago); nothing was changed",
    );
    expect(doc.error.hint).toContain('rm -r /run/lock/pvx-cluster');
    expect(doc.error.details.holder).toEqual(holder);
    expect(fc.mutations()).toEqual([]);
    // pve1 was taken first (sorted order), then given back when pve2 refused; pve3 was never asked
    expect(lockLog(fc)).toEqual(['pve1 acquire:taken', 'pve2 acquire:held', 'pve1 release:released']);
    expect(fc.locks.lockedNodes()).toEqual(['pve2']);
    expect(fc.locks.held.get('pve2')).toEqual(holder);
    fc.verify();
  });

  it('cluster create: the same on nodes with no cluster yet, after the preflight, before pvecm create', async () => {
    const fc = new FakeCluster(NAMES);
    fc.locks.now = () => NOW;
    fc.locks.hold('pve3', { host: 'admin-laptop', user: 'carol', pid: 31337, command: 'pvx migrate all@pve3 --to pve1', since: NOW - 3600, heartbeat: NOW - 45 });
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', 'cluster', 'create', 'demo', '--nodes', 'pve1,pve2,pve3', '--use-ssh'], fc);
    expect(r.code).toBe(1);
    const doc = json(r.stdout);
    expect(doc.error.code).toBe('LOCKED');
    expect(doc.error.message).toContain("on pve3, 'pvx migrate all@pve3 --to pve1' run by carol on admin-laptop (pid 31337) since 2026-09-21T13:13:20Z (60 min ago; last heartbeat 45 s ago)");
    expect(fc.mutations()).toEqual([]);
    expect(lockLog(fc)).toEqual(['pve1 acquire:taken', 'pve2 acquire:taken', 'pve3 acquire:held', 'pve2 release:released', 'pve1 release:released']);
    expect(fc.locks.lockedNodes()).toEqual(['pve3']);
    fc.verify();
  });

  it('a teardown in progress keeps a second run out, then releases the lock when it ends', async () => {
    const fc = new TeardownFake(NAMES).form('prod', NAMES);
    const inv = writeInventory(NAMES);
    const hold = path.join(tmpDir('pvx-hold-'), 'hold');
    const first = runInProcess(['-i', inv, '--yes', 'cluster', 'teardown'], fc, { env: { PVX_TEARDOWN_HOLD: `pve2:${hold}` } });
    // the teardown waits before its first step on pve2, its backups done and the lock held on every node
    await vi.waitFor(() => expect(existsSync(hold)).toBe(true), { timeout: 15_000, interval: 20 });
    expect(fc.locks.lockedNodes()).toEqual(NAMES);
    const before = fc.mutations().length;

    const second = await runInProcess(['-i', inv, '--json', '--yes', 'cluster', 'expected', '4', '--node', 'pve1'], fc);
    expect(second.code).toBe(1);
    const doc = json(second.stdout);
    expect(doc.error.code).toBe('LOCKED');
    expect(doc.error.message).toContain(`on pve1, 'pvx -i ${inv} --yes cluster teardown' run by ${os.userInfo().username} on ${os.hostname()} (pid ${process.pid}) since `);
    expect(fc.mutations()).toHaveLength(before);

    rmSync(hold);
    const done = await first;
    expect(done.code, done.stderr).toBe(0);
    expect(fc.locks.lockedNodes()).toEqual([]);
    fc.verify();
  });
});

describe('ha and restore take the same lock', () => {
  it('ha add is refused (exit 1) while another run holds a cluster node; no ha-manager command runs', async () => {
    const fc = new FakeHa(9).with({ vmid: 100, type: 'qemu', node: 'pve1', running: true });
    fc.locks.now = () => NOW;
    fc.locks.hold('pve3', { command: 'pvx cluster restore /backups/prod-20260921T140000Z', since: NOW - 120, heartbeat: NOW - 10 });
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', 'ha', 'add', '100'], fc);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error.message).toContain("on pve3, 'pvx cluster restore /backups/prod-20260921T140000Z' run by bob on ws2 (pid 4242)");
    expect(fc.mutations()).toEqual([]);
    expect(fc.locks.lockedNodes()).toEqual(['pve3']);
    fc.verify();
  });

  it('restore: refused while another run holds a node; then it takes over the lock a failed teardown of this workstation left', async () => {
    const fc = new TeardownFake(NAMES).form('prod', NAMES);
    const inv = writeInventory(NAMES);
    fc.onCommand = (node, argv) => {
      if (node === 'pve2' && argv.join(' ') === 'systemctl stop pve-cluster') fc.node('pve2').reachable = false;
    };
    const torn = await runInProcess(['-i', inv, '--yes', 'cluster', 'teardown'], fc);
    expect(torn.code).toBe(4);
    fc.onCommand = undefined;
    fc.node('pve2').reachable = true;
    // the teardown could not release pve2; its run has ended since
    expect(fc.locks.lockedNodes()).toEqual(['pve2']);
    const dir = backupSetOf(torn.stderr);

    fc.locks.hold('pve1', { command: 'pvx migrate 100 --to pve3' });
    const before = fc.mutations().length;
    const refused = await runInProcess(['-i', inv, '--json', '--yes', 'cluster', 'restore', dir, '--node', 'pve3'], fc);
    expect(refused.code).toBe(1);
    expect(json(refused.stdout).error.message).toContain("on pve1, 'pvx migrate 100 --to pve3' run by bob on ws2 (pid 4242)");
    expect(fc.mutations()).toHaveLength(before);

    fc.locks.held.delete('pve1');
    const r = await runInProcess(['-i', inv, '--json', '--yes', 'cluster', 'restore', dir, '--node', 'pve3'], fc);
    expect(lockLog(fc, 'pve2').slice(-2)).toEqual(['pve2 acquire:took-over', 'pve2 release:released']);
    expect(json(r.stdout).warnings).toContainEqual(expect.stringContaining(`took over a stale cluster lock on pve2: it was held by 'pvx -i ${inv} --yes cluster teardown' run by`));
    expect(fc.locks.lockedNodes()).toEqual([]);
    fc.verify();
  });
});

/** The backup set a failed teardown names in its hint (`cluster restore <dir> --node …`). */
function backupSetOf(stderr: string): string {
  const m = /cluster restore (\S+) --node/.exec(stderr);
  if (!m?.[1]) throw new Error(`no restore command in: ${stderr}`);
  expect(readdirSync(m[1]).length).toBeGreaterThan(0);
  return m[1];
}

describe('the lock is released on every way a run ends', () => {
  it('after success: one acquire and one release per node, in sorted order and back', async () => {
    const fc = lab();
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', '--yes', 'cluster', 'expected', '4', '--node', 'pve1'], fc);
    expect(r.code, r.stdout).toBe(0);
    expect(fc.mutations()).toEqual(['pve1: pvecm expected 4']);
    expect(lockLog(fc)).toEqual([
      'pve1 acquire:taken', 'pve2 acquire:taken', 'pve3 acquire:taken',
      'pve3 release:released', 'pve2 release:released', 'pve1 release:released',
    ]);
    expect(fc.locks.lockedNodes()).toEqual([]);
    fc.verify();
  });

  it('a teardown holds one lock through its backup and separation phases (it never asks itself again)', async () => {
    const fc = new TeardownFake(NAMES).form('prod', NAMES);
    const r = await runInProcess(['-i', writeInventory(NAMES), '--yes', 'cluster', 'teardown'], fc);
    expect(r.code, r.stderr).toBe(0);
    for (const n of NAMES) expect(lockLog(fc, n)).toEqual([`${n} acquire:taken`, `${n} release:released`]);
    expect(fc.locks.lockedNodes()).toEqual([]);
    fc.verify();
  });

  it('after a step failed once the cluster changed (exit 4)', async () => {
    const fc = new FakeCluster(NAMES);
    fc.addFaults.set('pve2', 'exit0-no-success');
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', 'cluster', 'create', 'demo', '--nodes', 'pve1,pve2,pve3', '--use-ssh'], fc);
    expect(r.code).toBe(4);
    expect(fc.mutations()[0]).toBe('pve1: pvecm create demo --link0 10.99.0.1');
    expect(lockLog(fc).filter((l) => l.includes('release'))).toEqual(['pve3 release:released', 'pve2 release:released', 'pve1 release:released']);
    expect(fc.locks.lockedNodes()).toEqual([]);
    fc.verify();
  });

  it('after an exception inside a run (a teardown whose hold file cannot be written): exit 1, lock released', async () => {
    const fc = new TeardownFake(NAMES).form('prod', NAMES);
    const r = await runInProcess(['-i', writeInventory(NAMES), '--yes', 'cluster', 'teardown'], fc, { env: { PVX_TEARDOWN_HOLD: 'pve2:/nonexistent-pvx-dir/hold' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('internal error');
    expect(fc.mutations().length).toBeGreaterThan(0);
    expect(fc.locks.lockedNodes()).toEqual([]);
    fc.verify();
  });

  it('after Ctrl-C in a teardown: the plan stops between steps (exit 4), the lock is released', async () => {
    const fc = new TeardownFake(NAMES).form('prod', NAMES);
    fc.onCommand = (node, argv) => {
      if (node === 'pve3' && argv.join(' ') === 'pmxcfs -l') process.emit('SIGINT');
    };
    const r = await runInProcess(['-i', writeInventory(NAMES), '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(4);
    expect(fc.locks.lockedNodes()).toEqual([]);
    fc.verify();
  });

  it('a node lost at the end keeps its lock, and the warning says how to remove it', async () => {
    const fc = new TeardownFake(NAMES).form('prod', NAMES);
    fc.onCommand = (node, argv) => {
      if (node === 'pve2' && argv.join(' ') === 'systemctl stop pve-cluster') fc.node('pve2').reachable = false;
    };
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', '--yes', 'cluster', 'teardown'], fc);
    expect(r.code).toBe(4);
    expect(fc.locks.lockedNodes()).toEqual(['pve2']);
    expect(json(r.stdout).warnings).toContainEqual(expect.stringMatching(/^could not release the cluster lock on pve2 \(.*\); once no pvx run uses it, remove it there: rm -r \/run\/lock\/pvx-cluster/));
    fc.verify();
  });
});

describe('migrate holds the lock while guests move', () => {
  it('locks the source, the target and the other online nodes; released after success', async () => {
    const c = new FakeMigrateCluster([VM100]);
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', 'migrate', '100', '--to', 'pve2'], c);
    expect(r.code, r.stdout).toBe(0);
    expect(lockLog(c)).toEqual([
      'pve1 acquire:taken', 'pve2 acquire:taken', 'pve3 acquire:taken',
      'pve3 release:released', 'pve2 release:released', 'pve1 release:released',
    ]);
    c.verify();
  });

  it('a second migrate is refused (exit 1) before any guest moves', async () => {
    const c = new FakeMigrateCluster([VM100]);
    c.locks.now = () => NOW;
    c.locks.hold('pve1', { command: 'pvx migrate 101 --to pve3', since: NOW - 60, heartbeat: NOW - 2 });
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', 'migrate', '100', '--to', 'pve2'], c);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error).toMatchObject({ code: 'LOCKED', exitCode: 1 });
    expect(json(r.stdout).error.message).toContain("on pve1, 'pvx migrate 101 --to pve3' run by bob on ws2 (pid 4242) since 2026-09-21T14:12:20Z");
    expect(c.mutations()).toEqual([]);
    expect(c.locks.lockedNodes()).toEqual(['pve1']);
    c.verify();
  });

  it('after an exception while a guest moves: exit 1, lock released', async () => {
    class Throwing extends FakeMigrateCluster {
      override async exec(node: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
        if (argv[0] === 'qm' && argv[1] === 'migrate') throw new Error('the transport broke in an unexpected way');
        return super.exec(node, argv, opts);
      }
    }
    const c = new Throwing([VM100]);
    const r = await runInProcess(['-i', writeInventory(NAMES), 'migrate', '100', '--to', 'pve2'], c);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('internal error: the transport broke in an unexpected way');
    expect(c.locks.lockedNodes()).toEqual([]);
  });

  it('after Ctrl-C: the guest moving finishes, the next is not started (exit 130), lock released', async () => {
    class Interrupted extends FakeMigrateCluster {
      override async exec(node: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
        if (argv.join(' ') === 'qm migrate 100 pve2') process.emit('SIGINT');
        return super.exec(node, argv, opts);
      }
    }
    const c = new Interrupted([VM100, VM102]);
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', 'migrate', '100,102', '--to', 'pve2', '--parallel', '1'], c);
    expect(r.code).toBe(130);
    const doc = json(r.stdout);
    expect(doc.error.code).toBe('CANCELLED');
    expect(doc.result.guests).toEqual([
      { vmid: 100, type: 'qemu', from: 'pve1', to: 'pve2', status: 'migrated', durationMs: expect.any(Number) },
      { vmid: 102, type: 'qemu', from: 'pve1', to: 'pve2', status: 'skipped', durationMs: 0, error: 'not started: cancelled with Ctrl-C' },
    ]);
    expect(c.mutations()).toEqual(['pve1: qm migrate 100 pve2']);
    expect(c.locks.lockedNodes()).toEqual([]);
  });
});

describe('a stale lock is taken over, with a warning', () => {
  it('a heartbeat older than 10 minutes', async () => {
    const fc = lab();
    fc.locks.hold('pve2', { since: NOW - 3600, heartbeat: NOW - 900 });
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', '--yes', 'cluster', 'expected', '4', '--node', 'pve1'], fc);
    expect(r.code, r.stdout).toBe(0);
    expect(json(r.stdout).warnings).toContain(
      "took over a stale cluster lock on pve2: it was held by 'pvx cluster teardown --yes' run by bob on ws2 (pid 4242) since 2026-09-21T13:13:20Z (60 min ago; last heartbeat 15 min ago)",
    );
    expect(fc.mutations()).toEqual(['pve1: pvecm expected 4']);
    expect(lockLog(fc, 'pve2')).toEqual(['pve2 acquire:took-over', 'pve2 release:released']);
    expect(fc.locks.lockedNodes()).toEqual([]);
    fc.verify();
  });

  it('a fresh lock whose holder ran on this workstation and whose process is gone', async () => {
    const fc = lab();
    const gone = spawnSync('true').pid;
    fc.locks.hold('pve3', { host: os.hostname(), pid: gone, command: 'pvx cluster expected 3 --node pve1 --yes', since: NOW - 30, heartbeat: NOW - 30 });
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', '--yes', 'cluster', 'expected', '4', '--node', 'pve1'], fc);
    expect(r.code, r.stdout).toBe(0);
    expect(json(r.stdout).warnings).toContainEqual(expect.stringContaining(`took over a stale cluster lock on pve3: it was held by 'pvx cluster expected 3 --node pve1 --yes' run by bob on ${os.hostname()} (pid ${gone})`));
    // asked once, told who holds it, asked again with that holder's token
    expect(lockLog(fc, 'pve3')).toEqual(['pve3 acquire:held', 'pve3 acquire:took-over', 'pve3 release:released']);
    expect(fc.locks.lockedNodes()).toEqual([]);
    fc.verify();
  });

  it('a fresh lock of a live holder elsewhere is not stale', async () => {
    const fc = lab();
    fc.locks.hold('pve3', { since: NOW - 590, heartbeat: NOW - 590 });
    const r = await runInProcess(['-i', writeInventory(NAMES), '--json', '--yes', 'cluster', 'expected', '4', '--node', 'pve1'], fc);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error.hint).toContain('it expires in 10 s unless its holder renews it');
    fc.verify();
  });
});

describe('runs that change nothing never touch the lock', () => {
  it('--dry-run, a refusal, a usage error, a no-op', async () => {
    const fc = lab();
    const inv = writeInventory(NAMES);
    expect((await runInProcess(['-i', inv, '--dry-run', 'cluster', 'expected', '4', '--node', 'pve1'], fc)).code).toBe(0);
    expect((await runInProcess(['-i', inv, '--yes', 'cluster', 'expected', '0', '--node', 'pve1'], fc)).code).toBe(2);
    expect((await runInProcess(['-i', inv, '--yes', 'cluster', 'expected', '3', '--node', 'pve1'], fc)).code).toBe(0);
    expect((await runInProcess(['-i', inv, 'cluster', 'create', 'lab', '--nodes', 'pve1,pve2,pve3', '--use-ssh'], fc)).code).toBe(0);
    const c = new FakeMigrateCluster([VM100]);
    expect((await runInProcess(['-i', inv, '--dry-run', 'migrate', '100', '--to', 'pve2'], c)).code).toBe(0);
    expect((await runInProcess(['-i', inv, 'migrate', '100', '--to', 'pve1'], c)).code).toBe(0);
    expect(fc.locks.calls).toEqual([]);
    expect(c.locks.calls).toEqual([]);
    expect(fc.mutations()).toEqual([]);
    fc.verify();
    c.verify();
  });
});
