import { existsSync, mkdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getPveLock, newPveLockHold, releasePveLock } from '../../../src/lab/sim/core/pve-lock.js';
import { removeExpiredLock } from '../../../src/lab/sim/core/pvefs.js';
import { simPaths } from '../../../src/lab/sim/core/paths.js';
import { tmpDir } from '../../helpers/tmp.js';
import { recordingCtx } from './ctx.js';

/** /etc/pve as a plain folder (with /etc/pve/priv unless `mounted` is false). */
function setup(mounted = true): { paths: ReturnType<typeof simPaths>; lock: string } {
  const dir = tmpDir('pvx-sim-lock-');
  const root = path.join(dir, 'root');
  const labRoot = path.join(dir, 'labs', 'unit');
  mkdirSync(labRoot, { recursive: true });
  const paths = simPaths(recordingCtx({ labRoot, root }).ctx.node, { PVX_SIM_ROOT: root });
  mkdirSync(mounted ? path.join(paths.etcPve, 'priv') : paths.etcPve, { recursive: true });
  return { paths, lock: path.join(paths.etcPve, 'priv', 'lock', 'ha_manager_lock') };
}

const LIFETIME = 120;
// the lock directory gets the real time when made, as pmxcfs stamps it with the time of the operation
const T0 = Math.floor(Date.now() / 1000);

describe('get_pve_lock (the HA manager lock held from round to round)', () => {
  it('is got once, then renewed by its holder each round, and said in the log only when that changes', () => {
    const { paths, lock } = setup();
    const a = newPveLockHold();
    expect(getPveLock(paths, 'ha_manager_lock', a, LIFETIME, T0)).toEqual({ got: true, log: { level: 'info', text: "successfully acquired lock 'ha_manager_lock'" } });
    expect(existsSync(lock)).toBe(true);
    expect(getPveLock(paths, 'ha_manager_lock', a, LIFETIME, T0 + 10)).toEqual({ got: true });
    // the renewal moves the lock's mtime to the round's time
    expect(Math.floor(statSync(lock).mtimeMs / 1000)).toBe(T0 + 10);
    expect(a).toEqual({ got: true, lockTime: T0 + 10 });
  });

  it('is refused to everyone else while its holder renews it, and its unlock request leaves it in place', () => {
    const { paths, lock } = setup();
    const a = newPveLockHold();
    const b = newPveLockHold();
    getPveLock(paths, 'ha_manager_lock', a, LIFETIME, T0);
    for (let t = T0; t <= T0 + 300; t += 10) {
      getPveLock(paths, 'ha_manager_lock', a, LIFETIME, t);
      expect(getPveLock(paths, 'ha_manager_lock', b, LIFETIME, t + 1)).toEqual({ got: false });
    }
    expect(existsSync(lock)).toBe(true);
    expect(a.got).toBe(true);
  });

  it('passes to another daemon only after its holder stopped renewing it for the lifetime', () => {
    const { paths, lock } = setup();
    const a = newPveLockHold();
    const b = newPveLockHold();
    getPveLock(paths, 'ha_manager_lock', a, LIFETIME, T0);
    // made at T0, as pmxcfs stamps a lock with its operation's time (the real clock may be past T0's second by now)
    utimesSync(lock, T0, T0);
    // the holder vanishes: its last renewal stays the lock's mtime
    expect(getPveLock(paths, 'ha_manager_lock', b, LIFETIME, T0 + LIFETIME).got).toBe(false);
    expect(existsSync(lock)).toBe(true);
    // once expired, b's unlock request frees it and its next try gets it
    expect(getPveLock(paths, 'ha_manager_lock', b, LIFETIME, T0 + LIFETIME + 1).got).toBe(false);
    expect(existsSync(lock)).toBe(false);
    expect(getPveLock(paths, 'ha_manager_lock', b, LIFETIME, T0 + LIFETIME + 2)).toEqual({ got: true, log: { level: 'info', text: "successfully acquired lock 'ha_manager_lock'" } });
    // the old holder comes back too late: its hold has expired, and the lock is b's
    expect(getPveLock(paths, 'ha_manager_lock', a, LIFETIME, T0 + LIFETIME + 3)).toEqual({ got: false, log: { level: 'err', text: "lost lock 'ha_manager_lock - can't get cfs lock" } });
  });

  it('without pmxcfs mounted nobody gets it, and a holder says it lost it', () => {
    const { paths } = setup(false);
    const a = { got: true, lockTime: T0 };
    expect(getPveLock(paths, 'ha_manager_lock', a, LIFETIME, T0 + 1)).toEqual({
      got: false,
      log: { level: 'err', text: "lost lock 'ha_manager_lock - can't create '/etc/pve/priv/lock' (pmxcfs not mounted?)" },
    });
    expect(existsSync(path.join(paths.etcPve, 'priv'))).toBe(false);
  });

  it('a failed renewal is a lost lock with the reason', () => {
    const { paths, lock } = setup();
    const a = newPveLockHold();
    getPveLock(paths, 'ha_manager_lock', a, LIFETIME, T0);
    // the directory went away under the holder (another node's unlock after a split)
    releasePveLock(paths, 'ha_manager_lock', newPveLockHold());
    expect(getPveLock(paths, 'ha_manager_lock', a, LIFETIME, T0 + 10)).toEqual({
      got: false,
      log: { level: 'err', text: "lost lock 'ha_manager_lock - cfs lock update failed - No such file or directory" },
    });
    expect(existsSync(lock)).toBe(false);
  });

  it('release frees it at once for the next daemon, and forgets the hold', () => {
    const { paths, lock } = setup();
    const a = newPveLockHold();
    const b = newPveLockHold();
    getPveLock(paths, 'ha_manager_lock', a, LIFETIME, T0);
    expect(releasePveLock(paths, 'ha_manager_lock', a)).toBe(true);
    expect(a).toEqual({ got: false, lockTime: 0 });
    expect(existsSync(lock)).toBe(false);
    expect(getPveLock(paths, 'ha_manager_lock', b, LIFETIME, T0 + 1).got).toBe(true);
    expect(releasePveLock(paths, 'ha_manager_lock', newPveLockHold())).toBe(true);
    expect(releasePveLock(paths, 'ha_manager_lock', newPveLockHold())).toBe(false);
  });

  it('an unlock request does not free a lock renewed within the lifetime, whatever its age', () => {
    const { paths, lock } = setup();
    const a = newPveLockHold();
    getPveLock(paths, 'ha_manager_lock', a, LIFETIME, T0);
    utimesSync(lock, 0, T0 + 500);
    expect(getPveLock(paths, 'ha_manager_lock', newPveLockHold(), LIFETIME, T0 + 600).got).toBe(false);
    expect(existsSync(lock)).toBe(true);
  });
});

describe("the expired-lock rule under a test root (removeExpiredLock, standing in for pmxcfs's answer to an unlock request)", () => {
  it('removes a lock nobody renewed for its lifetime, and no other', () => {
    const { lock } = setup();
    mkdirSync(lock, { recursive: true });
    utimesSync(lock, T0, T0);
    expect(removeExpiredLock(lock, 12_000, T0 * 1000 + 12_000)).toBe(false);
    expect(existsSync(lock)).toBe(true);
    expect(removeExpiredLock(lock, 12_000, T0 * 1000 + 12_001)).toBe(true);
    expect(existsSync(lock)).toBe(false);
  });

  it('says a lock that is gone already is gone', () => {
    const { lock } = setup();
    expect(removeExpiredLock(lock, 12_000)).toBe(true);
  });

  it('leaves an expired lock it cannot remove (not empty, as a read-only /etc/pve refuses), and says so', () => {
    const { lock } = setup();
    mkdirSync(path.join(lock, 'inside'), { recursive: true });
    utimesSync(lock, T0, T0);
    expect(removeExpiredLock(lock, 12_000, T0 * 1000 + 60_000)).toBe(false);
    expect(existsSync(lock)).toBe(true);
  });
});
