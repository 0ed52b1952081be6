/**
 * Guest configurations around a restore. pmxcfs gives every member the database of the member
 * with the most writes (reference §2.4), so a restore decides which database each node ends with;
 * whatever a node's own /etc/pve holds that this database lacks would be gone. These helpers read
 * what each node holds now, what it will hold after the restore, and name the difference.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { readOnlyScript } from '../../transport/read-only-scripts.js';
import { tarMembers } from '../teardown/tar-entries.js';

/** A guest configuration: `<node>/<qemu-server|lxc>/<vmid>.conf` under /etc/pve/nodes, and its content. */
export interface GuestConfig {
  node: string;
  type: 'qemu' | 'lxc';
  vmid: number;
  content: Buffer;
}

/** The guest configurations of a node's /etc/pve, keyed `<node>/<dir>/<vmid>.conf`. */
export type GuestConfigs = Map<string, GuestConfig>;

/** How a guest of a node differs between what it holds now and what the restore would leave it. */
export interface GuestChange {
  node: string;
  type: 'qemu' | 'lxc';
  vmid: number;
  /** created: only now; changed: both, different content; removed: only in what the restore leaves */
  change: 'created' | 'changed' | 'removed';
}

const KEY = /^([^/]+)\/(qemu-server|lxc)\/(\d+)\.conf$/;

/** The exit code of guestContentsArgv() when /etc/pve/nodes is not there: pmxcfs is not mounted. */
export const PMXCFS_NOT_MOUNTED_EXIT = 3;

// only reads: without pmxcfs mounted the read fails (its own exit code) rather than look empty
const CONTENTS_SCRIPT = readOnlyScript(
  `set -eu; d=/etc/pve/nodes; if [ ! -d "$d" ]; then echo "$d is not there: pmxcfs is not mounted" >&2; exit ${PMXCFS_NOT_MOUNTED_EXIT}; fi; cd "$d"; ` +
    'for f in */qemu-server/*.conf */lxc/*.conf; do if [ -f "$f" ]; then printf "%s " "$f"; base64 -w 0 "$f"; echo; fi; done',
);

/** Print every guest configuration of the node's /etc/pve as `<node>/<dir>/<vmid>.conf <base64>` lines. */
export function guestContentsArgv(): string[] {
  return ['sh', '-c', CONTENTS_SCRIPT, 'sh'];
}

function entry(key: string, content: Buffer): GuestConfig | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  return { node: m[1] ?? '', type: m[2] === 'lxc' ? 'lxc' : 'qemu', vmid: Number(m[3]), content };
}

/** Why a listing of guest configurations could not be read. */
export class GuestListingError extends Error {}

/** Parse the output of guestContentsArgv(); a line of another shape refuses the whole listing. */
export function parseGuestContents(stdout: string): GuestConfigs {
  const out: GuestConfigs = new Map();
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    // an empty file prints its path and a space only
    const m = /^(\S+)(?: ([A-Za-z0-9+/]+={0,2}))?$/.exec(line.trim());
    const g = m ? entry(m[1] ?? '', Buffer.from(m[2] ?? '', 'base64')) : undefined;
    if (!m || !g) throw new GuestListingError(`unexpected line in the guest configuration listing: ${line.slice(0, 80)}`);
    out.set(m[1] ?? '', g);
  }
  return out;
}

/** The guest configurations a backup archive holds under etc/pve/nodes/. */
export function archiveGuests(gz: Buffer): GuestConfigs {
  const out: GuestConfigs = new Map();
  for (const member of tarMembers(gunzipSync(gz))) {
    if (member.type !== '0' || !member.name.startsWith('etc/pve/nodes/')) continue;
    const key = member.name.slice('etc/pve/nodes/'.length);
    const g = entry(key, member.data);
    if (g) out.set(key, g);
  }
  return out;
}

/** Does the archive hold the pmxcfs database? */
export function archiveHasDatabase(gz: Buffer): boolean {
  return tarMembers(gunzipSync(gz)).some((m) => m.type === '0' && m.name === 'var/lib/pve-cluster/config.db');
}

/** Only the configurations of `node`'s own folder. */
export function ofNode(configs: GuestConfigs, node: string): GuestConfigs {
  return new Map([...configs].filter(([, g]) => g.node === node));
}

function digest(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** What `now` holds that `after` would not, or holds differently, and what `after` would bring back. */
export function compareGuests(now: GuestConfigs, after: GuestConfigs): GuestChange[] {
  const out: GuestChange[] = [];
  const of = (g: GuestConfig, change: GuestChange['change']): GuestChange => ({ node: g.node, type: g.type, vmid: g.vmid, change });
  for (const [key, g] of now) {
    const a = after.get(key);
    if (!a) out.push(of(g, 'created'));
    else if (digest(a.content) !== digest(g.content)) out.push(of(g, 'changed'));
  }
  for (const [key, g] of after) if (!now.has(key)) out.push(of(g, 'removed'));
  return out.sort((a, b) => a.node.localeCompare(b.node) || a.vmid - b.vmid);
}

/** `VM 100 (created since the backup)`. */
export function describeChange(c: GuestChange): string {
  const what = c.change === 'created' ? 'created since' : c.change === 'changed' ? 'changed since' : 'removed since';
  return `${c.type === 'qemu' ? 'VM' : 'CT'} ${c.vmid} (${what} the backup)`;
}

/** The absolute path of a guest configuration. */
export function guestPath(g: Pick<GuestConfig, 'node' | 'type' | 'vmid'>): string {
  return `/etc/pve/nodes/${g.node}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf`;
}

/** The key of a configuration in GuestConfigs. */
export function guestKey(g: Pick<GuestConfig, 'node' | 'type' | 'vmid'>): string {
  return `${g.node}/${g.type === 'qemu' ? 'qemu-server' : 'lxc'}/${g.vmid}.conf`;
}

/** The differences between two sets of configurations, as one line (empty when they are the same). */
export function describeDifference(have: GuestConfigs, want: GuestConfigs): string {
  const diff = compareGuests(have, want);
  const label = (c: GuestChange) => `${c.type === 'qemu' ? 'VM' : 'CT'} ${c.vmid}`;
  const parts = [
    ...diff.filter((c) => c.change === 'removed').map((c) => `${label(c)} missing`),
    ...diff.filter((c) => c.change === 'created').map((c) => `${label(c)} unexpected`),
    ...diff.filter((c) => c.change === 'changed').map((c) => `${label(c)} differs`),
  ];
  return parts.join(', ');
}
