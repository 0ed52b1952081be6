/** Storages from /etc/pve/storage.cfg and the numbers the status calls report for them. */
import path from 'node:path';
import { vmlist } from './cluster.js';
import { guestVolumes, loadGuest, type GuestType } from './guests.js';
import type { SimPaths } from './paths.js';
import { readText } from './pvefs.js';
import { parseSectionConfig } from './section-config.js';
import { listDatasets } from './zfs.js';

/** Types whose `shared` flag is forced on (reference §8.1). */
const SHARED_TYPES = new Set(['nfs', 'cifs', 'rbd', 'cephfs', 'iscsi', 'iscsidirect', 'zfs', 'drbd', 'pbs', 'glusterfs']);

/** One storage definition. */
export interface StorageDef {
  id: string;
  type: string;
  props: Record<string, string>;
  shared: boolean;
  content: string[];
  /** restricted to these nodes, if set */
  nodes?: string[];
  enabled: boolean;
}

/** Required keys per storage type (written first by SectionConfig). */
export function storageRequiredKeys(type: string): string[] {
  switch (type) {
    case 'dir':
      return ['path'];
    case 'lvmthin':
      return ['thinpool', 'vgname'];
    case 'lvm':
      return ['vgname'];
    case 'nfs':
      return ['export', 'path', 'server'];
    case 'zfspool':
      return ['pool'];
    default:
      return [];
  }
}

/** All storages of /etc/pve/storage.cfg. */
export function readStorages(paths: SimPaths): StorageDef[] {
  return storagesFromText(readText(path.join(paths.etcPve, 'storage.cfg')) ?? '');
}

/** The storages of a storage.cfg text. */
export function storagesFromText(text: string): StorageDef[] {
  return parseSectionConfig(text).map((s) => {
    const d: StorageDef = {
      id: s.id,
      type: s.type,
      props: s.props,
      shared: SHARED_TYPES.has(s.type) || s.props['shared'] === '1',
      content: (s.props['content'] ?? '').split(',').filter(Boolean).sort(),
      enabled: !s.props['disable'] || s.props['disable'] === '0',
    };
    if (s.props['nodes']) d.nodes = s.props['nodes'].split(',');
    return d;
  });
}

/** Is the storage defined for `node`? */
export function storageOnNode(s: StorageDef, node: string): boolean {
  return !s.nodes || s.nodes.includes(node);
}

/** Usage numbers in bytes. */
export interface StorageUsage {
  total: number;
  used: number;
  avail: number;
  active: boolean;
}

const GiB = 1024 ** 3;

function capacity(type: string): number {
  if (type === 'lvmthin' || type === 'lvm') return 200 * GiB;
  if (type === 'nfs' || type === 'cifs' || type === 'cephfs' || type === 'rbd') return 1024 * GiB;
  return 100 * GiB;
}

function baseUse(type: string): number {
  if (type === 'dir') return 6 * GiB;
  if (type === 'nfs') return 40 * GiB;
  return 0;
}

/** Space used on a storage as seen from `node`: the sizes of the guest volumes on it. */
export function storageUsage(paths: SimPaths, s: StorageDef, node: string): StorageUsage {
  const guests = function* (): Generator<StorageGuest> {
    for (const e of vmlist(paths).values()) {
      if (!s.shared && e.node !== node) continue;
      const g = loadGuest(paths, e.type, e.node, e.vmid);
      if (g) yield { type: e.type, node: e.node, conf: g.conf };
    }
  };
  return storageUsageOf(paths, s, node, s.type === 'zfspool' ? [] : guests());
}

/** A guest as the usage of a storage counts it. */
export interface StorageGuest {
  type: GuestType;
  node: string;
  conf: Record<string, string>;
}

/** storageUsage from a given list of guests (for a reader that must not read /etc/pve through the file system). */
export function storageUsageOf(paths: SimPaths, s: StorageDef, node: string, guests: Iterable<StorageGuest>): StorageUsage {
  let used = baseUse(s.type);
  // a zfspool holds the datasets that exist on the node, replicas of other nodes' guests included
  if (s.type === 'zfspool') for (const ds of listDatasets(paths, node, s.props['pool'] ?? 'rpool/data')) used += ds.size;
  for (const e of s.type === 'zfspool' ? [] : guests) {
    if (!s.shared && e.node !== node) continue;
    for (const v of guestVolumes(e.type, e.conf)) if (v.storage === s.id) used += v.size;
  }
  const total = capacity(s.type);
  used = Math.min(used, total);
  return { total, used, avail: total - used, active: s.enabled };
}
