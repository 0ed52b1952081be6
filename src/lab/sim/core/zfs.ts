/**
 * The ZFS datasets of a node's `zfspool` storages (local-zfs → rpool/data): each dataset is a
 * directory in the node's private lab directory holding its data file and its snapshots. Replication
 * sends a dataset (or the delta since a common snapshot) from one node to another over ssh.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Die } from './errors.js';
import type { SimPaths } from './paths.js';

/** One snapshot: ZFS's guid and creation time (what volume_snapshot_info reports as id and timestamp). */
export interface ZfsSnapshot {
  name: string;
  guid: string;
  creation: number;
}

/** A dataset (zvol for VM disks, filesystem for CT subvols). */
export interface ZfsDataset {
  /** `vm-100-disk-0` */
  name: string;
  /** volsize / refquota in bytes */
  size: number;
  snapshots: ZfsSnapshot[];
}

/** Where the datasets of pool path `pool` (e.g. `rpool/data`) of `node` live. */
export function poolDir(paths: SimPaths, node: string, pool: string): string {
  return path.join(paths.nodeDir(node), 'zfs', ...pool.split('/'));
}

function dsDir(paths: SimPaths, node: string, pool: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9_.:-]*$/i.test(name)) throw new Die(`invalid dataset name '${name}'\n`);
  return path.join(poolDir(paths, node, pool), name);
}

/** The dataset `pool/name` of `node`, or undefined. */
export function readDataset(paths: SimPaths, node: string, pool: string, name: string): ZfsDataset | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dsDir(paths, node, pool, name), 'meta.json'), 'utf8')) as ZfsDataset;
  } catch {
    return undefined;
  }
}

function writeMeta(paths: SimPaths, node: string, pool: string, ds: ZfsDataset): void {
  const dir = dsDir(paths, node, pool, ds.name);
  mkdirSync(dir, { recursive: true });
  // a reader in another process never sees a half-written file
  writeFileSync(path.join(dir, `meta.json.tmp.${process.pid}`), `${JSON.stringify(ds)}\n`);
  renameSync(path.join(dir, `meta.json.tmp.${process.pid}`), path.join(dir, 'meta.json'));
}

/** The data a dataset holds (a small stand-in for the disk's blocks). */
export function readData(paths: SimPaths, node: string, pool: string, name: string): Buffer {
  return readFileSync(path.join(dsDir(paths, node, pool, name), 'data'));
}

/** All datasets of a pool on `node`, sorted by name. */
export function listDatasets(paths: SimPaths, node: string, pool: string): ZfsDataset[] {
  let names: string[] = [];
  try {
    names = readdirSync(poolDir(paths, node, pool));
  } catch {
    return [];
  }
  return names
    .sort()
    .map((n) => readDataset(paths, node, pool, n))
    .filter((d): d is ZfsDataset => d !== undefined);
}

/** `zfs create -V <size>` (or a subvol with a refquota): a new dataset with its own data. */
export function createDataset(paths: SimPaths, node: string, pool: string, name: string, size: number): ZfsDataset {
  if (readDataset(paths, node, pool, name)) throw new Die(`zfs error: cannot create '${pool}/${name}': dataset already exists\n`);
  const ds: ZfsDataset = { name, size, snapshots: [] };
  const dir = dsDir(paths, node, pool, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'data'), `${pool}/${name} size=${size}\n${randomBytes(48).toString('hex')}\n`);
  writeMeta(paths, node, pool, ds);
  return ds;
}

/** `zfs destroy -r`: the dataset and its snapshots. */
export function destroyDataset(paths: SimPaths, node: string, pool: string, name: string): void {
  rmSync(dsDir(paths, node, pool, name), { recursive: true, force: true });
}

function newGuid(): string {
  return BigInt(`0x${randomBytes(8).toString('hex')}`).toString();
}

/** `zfs snapshot pool/name@snap`. */
export function snapshotDataset(paths: SimPaths, node: string, pool: string, name: string, snap: string, now = Math.floor(Date.now() / 1000)): ZfsSnapshot {
  const ds = readDataset(paths, node, pool, name);
  if (!ds) throw new Die(`zfs error: cannot open '${pool}/${name}': dataset does not exist\n`);
  if (ds.snapshots.some((s) => s.name === snap)) throw new Die(`zfs error: cannot create snapshot '${pool}/${name}@${snap}': dataset already exists\n`);
  const s: ZfsSnapshot = { name: snap, guid: newGuid(), creation: now };
  ds.snapshots.push(s);
  writeMeta(paths, node, pool, ds);
  return s;
}

/** `zfs destroy pool/name@snap`. */
export function deleteSnapshot(paths: SimPaths, node: string, pool: string, name: string, snap: string): void {
  const ds = readDataset(paths, node, pool, name);
  if (!ds) throw new Die(`zfs error: could not find any snapshots to destroy; check snapshot names.\n`);
  const left = ds.snapshots.filter((s) => s.name !== snap);
  if (left.length === ds.snapshots.length) throw new Die(`zfs error: could not find any snapshots to destroy; check snapshot names.\n`);
  writeMeta(paths, node, pool, { ...ds, snapshots: left });
}

/** What `pvesm export … zfs` sends: the dataset's data and the snapshots up to `snapshot` (after `base` for a delta). */
export interface ZfsStream {
  name: string;
  size: number;
  base?: string;
  snapshots: ZfsSnapshot[];
  /** base64 */
  data: string;
}

/** Build a send stream of `name` at `snapshot`, incremental from `base` when given. */
export function exportDataset(paths: SimPaths, node: string, pool: string, name: string, snapshot: string, base?: string): ZfsStream {
  const ds = readDataset(paths, node, pool, name);
  if (!ds) throw new Die(`zfs error: cannot open '${pool}/${name}': dataset does not exist\n`);
  const upto = ds.snapshots.findIndex((s) => s.name === snapshot);
  if (upto < 0) throw new Die(`zfs error: cannot open '${pool}/${name}@${snapshot}': dataset does not exist\n`);
  let from = 0;
  if (base !== undefined) {
    from = ds.snapshots.findIndex((s) => s.name === base) + 1;
    if (from <= 0) throw new Die(`zfs error: cannot open '${pool}/${name}@${base}': dataset does not exist\n`);
  }
  const s: ZfsStream = { name, size: ds.size, snapshots: ds.snapshots.slice(from, upto + 1), data: readData(paths, node, pool, name).toString('base64') };
  if (base !== undefined) s.base = base;
  return s;
}

/** `zfs recv`: a full stream creates the dataset, an incremental one needs the base as the newest snapshot there. */
export function importDataset(paths: SimPaths, node: string, pool: string, name: string, s: ZfsStream): void {
  const zfspath = `${pool}/${name}`;
  const have = readDataset(paths, node, pool, name);
  let snapshots: ZfsSnapshot[];
  if (s.base === undefined) {
    if (have) throw new Die(`volume '${zfspath}' already exists\n`);
    snapshots = s.snapshots;
  } else {
    if (!have) throw new Die(`cannot receive incremental stream: destination '${zfspath}' does not exist\n`);
    const last = have.snapshots[have.snapshots.length - 1];
    if (!last || last.name !== s.base) throw new Die(`cannot receive incremental stream: most recent snapshot of ${zfspath} does not\nmatch incremental source\n`);
    snapshots = [...have.snapshots, ...s.snapshots];
  }
  const dir = dsDir(paths, node, pool, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'data'), Buffer.from(s.data, 'base64'));
  writeMeta(paths, node, pool, { name, size: s.size, snapshots });
}

/** zfs's nicenum: 624B, 45.3K, 3.46M. */
export function zfsNicenum(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let u = 0;
  let v = bytes;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${v}${units[0]}`;
  const digits = v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)}${units[u]}`;
}
