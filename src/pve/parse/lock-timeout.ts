/**
 * PVE's lock time-outs: a config lock (flock on /var/lock/qemu-server/lock-<id>.conf,
 * /run/lock/lxc/pve-config-<id>.lock: "can't lock file '…' - got timeout") or a cfs lock
 * (PVE::Cluster::cfs_lock: "cfs-lock '<id>' error: got lock request timeout"). Either way the
 * command ran nothing under the lock: another task held it, and a later try may get it.
 */
import type { ExecResult } from '../../transport/types.js';

const LOCK_TIMEOUT = /can't lock file '[^']*' - got timeout|got lock request timeout/;

/** True when the command failed only because a lock was held by another task: worth trying again. */
export function isLockTimeout(r: Pick<ExecResult, 'exitCode' | 'stdout' | 'stderr'>): boolean {
  return r.exitCode !== 0 && LOCK_TIMEOUT.test(`${r.stdout}\n${r.stderr}`);
}
