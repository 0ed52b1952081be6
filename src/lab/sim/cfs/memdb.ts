/**
 * pmxcfs's in-memory tree (pve-cluster src/pmxcfs/memdb.c): directories and regular files only,
 * one global version counter bumped by every write, a new entry's inode is the version that
 * created it, and the root's version/writer/mtime are the `__version__` row of config.db.
 * Writes are plain data (`CfsOp`) so that every member applies the same operation in the same
 * order and ends with the same tree, inode numbers included.
 */
import { createHash } from 'node:crypto';
import { constants as os } from 'node:os';

/** dirent types as memdb stores them in the `type` column. */
export const DT_DIR = 4;
export const DT_REG = 8;

/** memdb.h MEMDB_MAX_FILE_SIZE: writes beyond it fail with EFBIG. */
export const MEMDB_MAX_FILE_SIZE = 1024 * 1024;

/** One row of the `tree` table. */
export interface TreeEntry {
  inode: number;
  parent: number;
  version: number;
  writer: number;
  /** seconds since the epoch */
  mtime: number;
  type: typeof DT_DIR | typeof DT_REG;
  name: string;
  /** file content; undefined for directories and empty files */
  data?: Buffer;
}

/** The root's state: what `dcdb_select_leader` compares (version, then mtime). */
export interface DbIndex {
  version: number;
  writer: number;
  mtime: number;
}

/** One write operation, as a member sends it to every other (the DCDB_MESSAGE_CFS_* messages). */
export type CfsOp =
  | { kind: 'create'; path: string }
  | { kind: 'write'; path: string; offset: number; data: string /* base64 */ }
  | { kind: 'truncate'; path: string; size: number }
  | { kind: 'mkdir'; path: string }
  | { kind: 'unlink'; path: string }
  | { kind: 'rmdir'; path: string }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'mtime'; path: string; mtime: number }
  /**
   * utime(0, 0) on a lock directory (DCDB_MESSAGE_CFS_UNLOCK_REQUEST): `csum` is the lock as the
   * requester saw it. Never applied as such: the sequencer turns it into an rmdir or into nothing.
   */
  | { kind: 'unlock-request'; path: string; csum: string };

/** An operation with who did it and when (memdb's `writer` is the node id, 0 in local mode). */
export interface StampedOp {
  op: CfsOp;
  writer: number;
  mtime: number;
  /** the writing daemon's own name for the write (node id, pid, count): a resent write is known by it */
  id?: string;
}

/** What one applied operation changed, for the database backend (bdb_backend_write). */
export interface DbChange {
  upsert?: TreeEntry;
  deleteInode?: number;
  index: DbIndex;
}

/** A failed operation: the errno pmxcfs returns (as a positive number). */
export class MemdbError extends Error {
  constructor(readonly errno: number) {
    super(`memdb error ${errno}`);
  }
}

const E = os.errno;

function splitPath(p: string): { dir: string; base: string } {
  const clean = p.replace(/\/+/g, '/').replace(/^\/|\/$/g, '');
  const i = clean.lastIndexOf('/');
  return i < 0 ? { dir: '', base: clean } : { dir: clean.slice(0, i), base: clean.slice(i + 1) };
}

function badName(base: string): boolean {
  return base === '' || base === '.' || base === '..';
}

/** The guest directories of a node folder and their vmtype (memdb.c dir_contain_vm_config). */
const VM_DIRS = ['qemu-server', 'lxc', 'openvz'] as const;

/** memdb.c valid_nodename: letters and digits, `-` inside. */
function validNodename(name: string): boolean {
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(name);
}

/** memdb.c path_contain_vm_config: `nodes/<node>/<qemu-server|lxc|openvz>/<vmid>.conf`. */
export function vmConfigOf(p: string): { node: string; type: (typeof VM_DIRS)[number]; vmid: number } | undefined {
  const { dir, base } = splitPath(p);
  const m = /^([1-9]\d*)\.conf$/.exec(base);
  const d = /^nodes\/([^/]+)\/([^/]+)$/.exec(dir);
  if (!m || !d || !validNodename(d[1] ?? '')) return undefined;
  const type = VM_DIRS.find((t) => t === d[2]);
  const vmid = Number(m[1]);
  return type && vmid <= 0xffffffff ? { node: d[1] as string, type, vmid } : undefined;
}

/** path_is_lockdir: a directory right under `priv/lock`. */
export function isLockPath(p: string): boolean {
  const { dir, base } = splitPath(p);
  return dir === 'priv/lock' && !badName(base);
}

/**
 * memdb_tree_entry_csum: a digest of everything that identifies an entry's state (inode, version,
 * writer, mtime, size, type, name, data), so a renewed lock (new mtime) has a new one.
 */
export function entryCsum(te: TreeEntry): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([te.inode, te.version, te.writer, te.mtime, te.data?.length ?? 0, te.type, te.name]));
  if (te.data) h.update(te.data);
  return h.digest('hex');
}

/** The in-memory tree of one node. */
export class MemDb {
  private readonly entries = new Map<number, TreeEntry>();
  private readonly children = new Map<number, Map<string, number>>();
  root: DbIndex = { version: 0, writer: 0, mtime: 0 };

  constructor() {
    this.children.set(0, new Map());
  }

  /** Build a tree from the rows of config.db (the `__version__` row included). */
  static fromRows(rows: readonly TreeEntry[]): MemDb {
    const db = new MemDb();
    for (const r of rows) {
      if (r.inode === 0) {
        db.root = { version: r.version, writer: r.writer, mtime: r.mtime };
        continue;
      }
      db.entries.set(r.inode, { ...r });
      if (r.type === DT_DIR && !db.children.has(r.inode)) db.children.set(r.inode, new Map());
    }
    for (const r of db.entries.values()) {
      let kids = db.children.get(r.parent);
      if (!kids) {
        kids = new Map();
        db.children.set(r.parent, kids);
      }
      kids.set(r.name, r.inode);
    }
    return db;
  }

  /** Every row, the `__version__` row first (what a leader sends and config.db holds). */
  rows(): TreeEntry[] {
    const version: TreeEntry = { inode: 0, parent: 0, version: this.root.version, writer: this.root.writer, mtime: this.root.mtime, type: DT_REG, name: '__version__' };
    return [version, ...[...this.entries.values()].sort((a, b) => a.inode - b.inode)];
  }

  /** The entry at `p` ('' or '/' is the root directory, inode 0). */
  lookup(p: string): TreeEntry | undefined {
    const parts = p.split('/').filter((x) => x !== '');
    let inode = 0;
    let te: TreeEntry | undefined = { inode: 0, parent: 0, version: this.root.version, writer: this.root.writer, mtime: this.root.mtime, type: DT_DIR, name: '' };
    for (const part of parts) {
      if (te?.type !== DT_DIR) return undefined;
      const next = this.children.get(inode)?.get(part);
      if (next === undefined) return undefined;
      inode = next;
      te = this.entries.get(inode);
    }
    return te;
  }

  /** The entries of directory `p`, by name. */
  list(p: string): TreeEntry[] {
    const te = this.lookup(p);
    if (!te) throw new MemdbError(E.ENOENT);
    if (te.type !== DT_DIR) throw new MemdbError(E.ENOTDIR);
    return [...(this.children.get(te.inode)?.values() ?? [])].map((i) => this.entries.get(i) as TreeEntry).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * vmlist_different_vm_exists: a configuration of this VMID exists of another type or on another
   * node. pmxcfs refuses to write or rename a guest configuration then (EEXIST): a VMID is unique in
   * the cluster.
   */
  private differentVmExists(vm: { node: string; type: string; vmid: number }): boolean {
    let nodes: TreeEntry[];
    try {
      nodes = this.list('nodes');
    } catch {
      return false;
    }
    for (const n of nodes) {
      if (n.type !== DT_DIR || !validNodename(n.name)) continue;
      for (const t of VM_DIRS) {
        if (n.name === vm.node && t === vm.type) continue;
        if (this.lookup(`nodes/${n.name}/${t}/${vm.vmid}.conf`)?.type === DT_REG) return true;
      }
    }
    return false;
  }

  private bump(writer: number, mtime: number): number {
    this.root = { version: this.root.version + 1, writer, mtime };
    return this.root.version;
  }

  private parentDir(p: string): { parent: TreeEntry; base: string } {
    const { dir, base } = splitPath(p);
    const parent = this.lookup(dir);
    if (!parent) throw new MemdbError(E.ENOENT);
    if (parent.type !== DT_DIR) throw new MemdbError(E.ENOTDIR);
    if (badName(base)) throw new MemdbError(E.EACCES);
    return { parent, base };
  }

  private link(te: TreeEntry): void {
    this.entries.set(te.inode, te);
    this.children.get(te.parent)?.set(te.name, te.inode);
    if (te.type === DT_DIR && !this.children.has(te.inode)) this.children.set(te.inode, new Map());
  }

  private unlinkEntry(te: TreeEntry): void {
    if (te.type === DT_DIR && (this.children.get(te.inode)?.size ?? 0) > 0) throw new MemdbError(E.ENOTEMPTY);
    this.children.get(te.parent)?.delete(te.name);
    this.entries.delete(te.inode);
    if (te.type === DT_DIR) this.children.delete(te.inode);
  }

  /** Apply one operation (memdb_mkdir, memdb_pwrite, memdb_delete, memdb_rename, memdb_mtime). */
  apply(s: StampedOp): DbChange {
    const { op, writer, mtime } = s;
    switch (op.kind) {
      case 'mkdir': {
        const { parent, base } = this.parentDir(op.path);
        if (this.children.get(parent.inode)?.has(base)) throw new MemdbError(E.EEXIST);
        const v = this.bump(writer, mtime);
        const te: TreeEntry = { inode: v, parent: parent.inode, version: v, writer, mtime, type: DT_DIR, name: base };
        this.link(te);
        return { upsert: { ...te }, index: { ...this.root } };
      }
      case 'create':
      case 'write':
      case 'truncate':
        return this.pwrite(op, writer, mtime);
      case 'unlink':
      case 'rmdir': {
        const te = this.lookup(op.path);
        if (!te) throw new MemdbError(E.ENOENT);
        if (te.inode === 0) throw new MemdbError(E.EACCES);
        this.unlinkEntry(te);
        this.bump(writer, mtime);
        return { deleteInode: te.inode, index: { ...this.root } };
      }
      case 'rename':
        return this.rename(op.from, op.to, writer, mtime);
      case 'mtime': {
        const { parent, base } = this.parentDir(op.path);
        const inode = this.children.get(parent.inode)?.get(base);
        const te = inode === undefined ? undefined : this.entries.get(inode);
        if (!te) throw new MemdbError(E.ENOENT);
        // utime(0,0) asks for an unlock: a lock's mtime may only move forward, by its writer
        const isLock = splitPath(op.path).dir === 'priv/lock' && te.type === DT_DIR;
        if (isLock && (op.mtime < te.mtime || te.writer !== writer)) throw new MemdbError(E.EACCES);
        const v = this.bump(writer, mtime);
        Object.assign(te, { version: v, writer, mtime: op.mtime });
        return { upsert: { ...te }, index: { ...this.root } };
      }
      case 'unlock-request':
        // the daemon's sequencer decides (dcdb.c): it never reaches the tree
        throw new MemdbError(E.EINVAL);
    }
  }

  private pwrite(op: Extract<CfsOp, { kind: 'create' | 'write' | 'truncate' }>, writer: number, mtime: number): DbChange {
    const data = op.kind === 'write' ? Buffer.from(op.data, 'base64') : Buffer.alloc(0);
    const offset = op.kind === 'write' ? op.offset : op.kind === 'truncate' ? op.size : 0;
    if (offset + data.length > MEMDB_MAX_FILE_SIZE) throw new MemdbError(E.EFBIG);
    const { parent, base } = this.parentDir(op.path);
    const vm = vmConfigOf(op.path);
    if (vm && this.differentVmExists(vm)) throw new MemdbError(E.EEXIST);
    const inode = this.children.get(parent.inode)?.get(base);
    const old = inode === undefined ? undefined : this.entries.get(inode);
    if (old) {
      if (old.type !== DT_REG) throw new MemdbError(E.ENOTDIR);
      if (op.kind === 'create') throw new MemdbError(E.EEXIST);
    } else if (op.kind !== 'create') {
      throw new MemdbError(E.ENOENT);
    }
    const v = this.bump(writer, mtime);
    const te: TreeEntry = old ?? { inode: v, parent: parent.inode, version: v, writer, mtime, type: DT_REG, name: base };
    const oldData = old?.data ?? Buffer.alloc(0);
    let size = offset + data.length;
    // a write inside the file keeps its size; only truncate shrinks it
    if (size < oldData.length && op.kind !== 'truncate') size = oldData.length;
    const next = Buffer.alloc(size);
    oldData.copy(next, 0, 0, Math.min(oldData.length, size));
    data.copy(next, offset);
    Object.assign(te, { version: v, writer, mtime });
    if (size > 0) te.data = next;
    else delete te.data;
    if (!old) this.link(te);
    return { upsert: { ...te }, index: { ...this.root } };
  }

  private rename(from: string, to: string, writer: number, mtime: number): DbChange {
    const fromTe = this.lookup(from);
    if (!fromTe) throw new MemdbError(E.ENOENT);
    if (fromTe.inode === 0) throw new MemdbError(E.EACCES);
    // moving a guest's configuration to another node (a migration) keeps its VMID: that is allowed
    const toVm = fromTe.type === DT_REG ? vmConfigOf(to) : undefined;
    if (toVm && this.differentVmExists(toVm) && vmConfigOf(from)?.vmid !== toVm.vmid) throw new MemdbError(E.EEXIST);
    if (fromTe.type === DT_DIR && splitPath(from).dir === 'priv/lock') throw new MemdbError(E.EACCES);
    if (fromTe.type === DT_DIR && (this.children.get(fromTe.inode)?.size ?? 0) > 0) throw new MemdbError(E.ENOTEMPTY);
    const toTe = this.lookup(to);
    let deleteInode: number | undefined;
    let target: { parent: TreeEntry; base: string };
    if (toTe) {
      if (toTe.inode === fromTe.inode) return { index: { ...this.root } };
      if (toTe.inode === 0) throw new MemdbError(E.EACCES);
      this.unlinkEntry(toTe);
      deleteInode = toTe.inode;
      target = { parent: this.lookup(splitPath(to).dir) as TreeEntry, base: toTe.name };
    } else {
      target = this.parentDir(to);
    }
    this.unlinkEntry(fromTe);
    const v = this.bump(writer, mtime);
    const te: TreeEntry = { ...fromTe, parent: target.parent.inode, name: target.base, version: v, writer, mtime };
    this.link(te);
    const change: DbChange = { upsert: { ...te }, index: { ...this.root } };
    if (deleteInode !== undefined) change.deleteInode = deleteInode;
    return change;
  }
}
