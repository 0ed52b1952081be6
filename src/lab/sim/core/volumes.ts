/** Volume ids (`<storage>:<volname>`) and what each storage type says about them (PVE::Storage parse_volname, list_images). */
import { vmlist } from './cluster.js';
import { Die } from './errors.js';
import { guestVolumes, loadGuest } from './guests.js';
import type { SimPaths } from './paths.js';
import { readStorages, storageOnNode, type StorageDef } from './storage.js';
import { createDataset, destroyDataset, listDatasets } from './zfs.js';

/** parse_volume_id. */
export function parseVolumeId(volid: string): { storage: string; volname: string } {
  const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.exec(volid);
  if (!m) throw new Die(`unable to parse volume ID '${volid}'\n`);
  return { storage: m[1] ?? '', volname: m[2] ?? '' };
}

/** What parse_volname returns: content type, owner and format. */
export interface Volname {
  vtype: string;
  name: string;
  owner?: number;
  format: string;
}

/** parse_volname of the storage types the lab has. */
export function parseVolname(s: StorageDef, volname: string): Volname {
  if (s.type === 'zfspool') {
    const m = /^(((base|basevol)-(\d+)-\S+)\/)?((base|basevol|vm|subvol)-(\d+)-\S+)$/.exec(volname);
    if (!m) throw new Die(`unable to parse zfs volume name '${volname}'\n`);
    const kind = m[6] ?? '';
    return { vtype: 'images', name: m[5] ?? '', owner: Number(m[7]), format: kind === 'vm' || kind === 'base' ? 'raw' : 'subvol' };
  }
  if (s.type === 'lvmthin' || s.type === 'lvm') {
    const m = /^((vm|base)-(\d+)-\S+)$/.exec(volname);
    if (!m) throw new Die(`unable to parse lvm volume name '${volname}'\n`);
    return { vtype: 'images', name: m[1] ?? '', owner: Number(m[3]), format: 'raw' };
  }
  let m = /^(\d+)\/(\S+)\.(raw|qcow2|vmdk|subvol)$/.exec(volname);
  if (m) return { vtype: 'images', name: `${m[2]}.${m[3]}`, owner: Number(m[1]), format: m[3] ?? 'raw' };
  m = /^(iso|vztmpl|backup|snippets|import)\/(.+)$/.exec(volname);
  if (m) return { vtype: m[1] ?? '', name: m[2] ?? '', format: m[1] === 'iso' ? 'iso' : m[1] === 'vztmpl' ? 'tgz' : 'raw' };
  throw new Die(`unable to parse directory volume name '${volname}'\n`);
}

/** The zfspool's dataset path (`pool` option, e.g. rpool/data). */
export function zfsPoolOf(s: StorageDef): string {
  return s.props['pool'] ?? 'rpool/data';
}

/** The storage definition of a volume, or PVE's error. */
export function volumeStorage(paths: SimPaths, volid: string): { s: StorageDef; volname: string } {
  const { storage, volname } = parseVolumeId(volid);
  const s = readStorages(paths).find((x) => x.id === storage);
  if (!s) throw new Die(`storage '${storage}' does not exist\n`);
  return { s, volname };
}

/** volume_has_feature(…, 'replicate', …): only zfspool volumes can be replicated. */
export function hasReplicateFeature(s: StorageDef): boolean {
  return s.type === 'zfspool';
}

/** One entry of a storage's content list (`pvesm list`). */
export interface ContentEntry {
  volid: string;
  format: string;
  content: string;
  size: number;
  vmid?: number;
}

/** list_images: a zfspool lists the datasets that exist on `node`; other storages list the disks guest configs reference. */
export function storageContent(paths: SimPaths, s: StorageDef, node: string, vmid?: number): ContentEntry[] {
  const out: ContentEntry[] = [];
  if (s.type === 'zfspool') {
    for (const ds of listDatasets(paths, node, zfsPoolOf(s))) {
      const v = parseVolname(s, ds.name);
      if (vmid !== undefined && v.owner !== vmid) continue;
      out.push({ volid: `${s.id}:${ds.name}`, format: v.format, content: v.format === 'subvol' ? 'rootdir' : 'images', size: ds.size, ...(v.owner ? { vmid: v.owner } : {}) });
    }
    return out;
  }
  for (const e of vmlist(paths).values()) {
    if (!s.shared && e.node !== node) continue;
    if (vmid !== undefined && e.vmid !== vmid) continue;
    const g = loadGuest(paths, e.type, e.node, e.vmid);
    if (!g) continue;
    for (const vol of guestVolumes(e.type, g.conf)) {
      if (vol.storage !== s.id || vol.cdrom) continue;
      const { volname } = parseVolumeId(vol.volid);
      let v: Volname;
      try {
        v = parseVolname(s, volname);
      } catch {
        continue;
      }
      out.push({ volid: vol.volid, format: v.format, content: e.type === 'lxc' ? 'rootdir' : 'images', size: vol.size, ...(v.owner ? { vmid: v.owner } : {}) });
    }
  }
  return out.sort((a, b) => (a.volid < b.volid ? -1 : a.volid > b.volid ? 1 : 0));
}

/** Allocate a zfspool volume for a guest on `node` (vdisk_alloc): the next free `vm-<vmid>-disk-<n>`, `subvol-…` for a CT. */
export function allocZfsVolume(paths: SimPaths, s: StorageDef, node: string, vmid: number, kind: 'vm' | 'ct', bytes: number, taken: Set<string>): string {
  const pool = zfsPoolOf(s);
  const exists = new Set(listDatasets(paths, node, pool).map((d) => d.name));
  const prefix = kind === 'ct' ? 'subvol' : 'vm';
  let n = 0;
  while (exists.has(`${prefix}-${vmid}-disk-${n}`) || taken.has(`${prefix}-${vmid}-disk-${n}`)) n++;
  const name = `${prefix}-${vmid}-disk-${n}`;
  taken.add(name);
  createDataset(paths, node, pool, name, bytes);
  return `${s.id}:${name}`;
}

/** vdisk_free of a zfspool volume on `node`; other storages keep no data in the lab. */
export function freeVolume(paths: SimPaths, volid: string, node: string): void {
  const { s, volname } = volumeStorage(paths, volid);
  if (s.type !== 'zfspool') return;
  destroyDataset(paths, node, zfsPoolOf(s), parseVolname(s, volname).name);
}

/** Is the storage usable on `node` (storage_check_enabled)? */
export function storageCheckEnabled(s: StorageDef, node: string): void {
  if (!s.enabled) throw new Die(`storage '${s.id}' is disabled\n`);
  if (!storageOnNode(s, node)) throw new Die(`storage '${s.id}' is not available on node '${node}'\n`);
}
