/**
 * The state of /etc/pve as PVE::Cluster sees it: mounted or not, quorate or not. On a node
 * /etc/pve is pmxcfs's FUSE mount and its `.members` tells the quorum; under a test root it is
 * a symlink and a marker file stands for a read-only one.
 */
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Die } from './errors.js';
import type { SimPaths } from './paths.js';

/** One mount of /proc/self/mountinfo. */
export interface MountEntry {
  mountPoint: string;
  options: string[];
}

/** Parse /proc/self/mountinfo (octal escapes in paths decoded). */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 6) continue;
    const mp = (f[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({ mountPoint: mp, options: (f[5] ?? '').split(',') });
  }
  return out;
}

/** The last (visible) mount on `mountPoint`, if any. */
export function findMount(mountPoint: string): MountEntry | undefined {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  const hits = parseMountinfo(text).filter((m) => m.mountPoint === mountPoint);
  return hits[hits.length - 1];
}

/** Marker that stands for a read-only /etc/pve under a test root. */
export function roMarker(paths: SimPaths): string {
  return path.join(paths.simRun, 'pve.ro');
}

/** Is /etc/pve mounted (pmxcfs running)? */
export function cfsMounted(paths: SimPaths): boolean {
  if (paths.root) {
    try {
      return lstatSync(paths.etcPve).isSymbolicLink();
    } catch {
      return false;
    }
  }
  return findMount(paths.etcPve) !== undefined;
}

/**
 * Is the node quorate as pmxcfs reports it? PVE::Cluster::check_cfs_quorum looks at the write bit
 * of the /etc/pve/local link (lstat): pmxcfs serves it 0755 with quorum and 0555 without.
 */
export function cfsQuorate(paths: SimPaths): boolean {
  if (!cfsMounted(paths)) return false;
  if (paths.root) return !existsSync(roMarker(paths));
  try {
    return (lstatSync(path.join(paths.etcPve, 'local')).mode & 0o200) !== 0;
  } catch {
    return false;
  }
}

/**
 * Which nodes pmxcfs sees online, as PVE::Cluster::get_members gives them to the HA manager: the
 * `online` flag of each node in `.members` (corosync's membership as pmxcfs last heard it).
 * Undefined when `.members` cannot be read or has no nodelist (pmxcfs down, or not a cluster).
 */
export function cfsMembersOnline(paths: SimPaths): Record<string, boolean> | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path.join(paths.etcPve, '.members'), 'utf8'));
  } catch {
    return undefined;
  }
  const list = (doc as { nodelist?: unknown }).nodelist;
  if (typeof list !== 'object' || list === null) return undefined;
  const out: Record<string, boolean> = {};
  for (const [name, d] of Object.entries(list as Record<string, { online?: unknown }>)) out[name] = d?.online === 1;
  return out;
}

/** check_cfs_is_mounted. */
export function checkCfsIsMounted(paths: SimPaths): void {
  if (!cfsMounted(paths)) throw new Die('pve configuration filesystem (pmxcfs) not mounted\n');
}

/** check_cfs_quorum. */
export function checkCfsQuorum(paths: SimPaths): void {
  if (!cfsQuorate(paths)) throw new Die('cluster not ready - no quorum?\n');
}

/** What the PVE Perl tools print when pmxcfs is not running (cfs_update warnings, then the ACL load failure). */
export const IPCC_DOWN_TEXT =
  'ipcc_send_rec[1] failed: Connection refused\n' +
  'ipcc_send_rec[2] failed: Connection refused\n' +
  'ipcc_send_rec[3] failed: Connection refused\n' +
  'Unable to load access control list: Connection refused\n';

/** The RPC environment of qm/pct/ha-manager/pvesh/pvesm cannot start without pmxcfs. */
export function checkRpcEnv(paths: SimPaths): void {
  if (!cfsMounted(paths)) throw new Die(IPCC_DOWN_TEXT);
}
