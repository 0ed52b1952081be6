/**
 * /etc/pve as pmxcfs serves it (pmxcfs.c cfs_fuse_*, cfs-plug-memdb.c, cfs-plug-link.c,
 * cfs-plug-func.c): the node's memdb, plus the per-node symlinks `local`, `qemu-server`, `lxc`,
 * `openvz` and the status files `.members`, `.vmlist`, `.version`, `.rrd`, `.clusterlog`, `.debug`
 * (pmxcfs.c create_symlinks). Every write is refused with
 * EACCES without quorum (dcdb_send_fuse_message) and otherwise handed to `submit`, which returns
 * once the write is applied (on every member while in a cluster).
 */
import { constants as os } from 'node:os';
import { FuseError, type FuseAttr, type FuseDirEntry, type FuseOps } from './fuse-ops.js';
import { DT_DIR, MemdbError, entryCsum, isLockPath, type CfsOp, type MemDb, type TreeEntry } from './memdb.js';

const E = os.errno;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** gid of www-data on Debian: /etc/pve belongs to root:www-data. */
export const WWW_DATA_GID = 33;

/** What the view needs from its daemon. */
export interface ViewHost {
  memdb: MemDb;
  nodename: string;
  /** cfs_is_quorate: always true in local mode */
  quorate(): boolean;
  /** apply a write (everywhere it must be applied); rejects with a MemdbError */
  submit(op: CfsOp): Promise<void>;
  /** `.members` text (status.c cfs_create_memberlist_msg) */
  members(): string;
  /** `.rrd` text (status.c cfs_rrd_dump) */
  rrd(): string;
  /** `.clusterlog` text (logger.c clog_dump_json, 50 entries) */
  clusterlog(): string;
  /** time the daemon started, for `.version` */
  startTime: number;
  /** the memberlist version `.members` shows, also `.version`'s `clinfo` (status.c clinfo_version) */
  clinfoVersion(): number;
}

/** path_is_private: priv/ and nodes/<node>/priv/ are root-only. */
export function pathIsPrivate(p: string): boolean {
  const rel = p.replace(/^\/+/, '');
  return /^priv(\/|$)/.test(rel) || /^nodes\/[^/]+\/priv(\/|$)/.test(rel);
}

/** The mode cfs_fuse_getattr reports: the plug's mode masked by privacy and type. */
function maskMode(p: string, mode: number): number {
  const isDirOrLink = (mode & 0o170000) === S_IFDIR || (mode & 0o170000) === S_IFLNK;
  if (pathIsPrivate(p)) return mode & 0o777700;
  return mode & (isDirOrLink ? 0o777755 : 0o777750);
}

const LINKS = ['local', 'qemu-server', 'lxc', 'openvz'] as const;
const FUNCS = ['.version', '.members', '.vmlist', '.rrd', '.clusterlog', '.debug'] as const;

function rel(p: string): string {
  return p.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** The cluster-wide guest list pmxcfs keeps (status.c vmlist), read from every node folder. */
export function vmlistText(memdb: MemDb, version: number): string {
  const ids: string[] = [];
  let nodes: TreeEntry[] = [];
  try {
    nodes = memdb.list('nodes');
  } catch {
    nodes = [];
  }
  const found: Array<{ vmid: number; node: string; type: string; version: number }> = [];
  for (const n of nodes) {
    if (n.type !== DT_DIR) continue;
    for (const [dir, type] of [['qemu-server', 'qemu'], ['lxc', 'lxc']] as const) {
      let files: TreeEntry[] = [];
      try {
        files = memdb.list(`nodes/${n.name}/${dir}`);
      } catch {
        files = [];
      }
      for (const f of files) {
        const m = /^([1-9]\d*)\.conf$/.exec(f.name);
        if (m) found.push({ vmid: Number(m[1]), node: n.name, type, version: f.version });
      }
    }
  }
  for (const f of found.sort((a, b) => a.vmid - b.vmid)) ids.push(`"${f.vmid}": { "node": "${f.node}", "type": "${f.type}", "version": ${f.version} }`);
  if (ids.length === 0) return `{\n"version": ${version}\n\n}\n`;
  return `{\n"version": ${version},\n"ids": {\n${ids.join(',\n')}}\n\n}\n`;
}

/** The FuseOps of one node's /etc/pve. */
export class CfsView implements FuseOps {
  constructor(private readonly host: ViewHost) {}

  private funcText(name: string): Buffer {
    const h = this.host;
    if (name === '.members') return Buffer.from(h.members());
    if (name === '.vmlist') return Buffer.from(vmlistText(h.memdb, h.memdb.root.version));
    if (name === '.rrd') return Buffer.from(h.rrd());
    if (name === '.clusterlog') return Buffer.from(h.clusterlog());
    // read_debug_setting_cb: the daemon runs without debug output
    if (name === '.debug') return Buffer.from('0\n');
    return Buffer.from(`{\n"starttime": ${h.startTime},\n"clinfo": ${h.clinfoVersion()},\n"vmlist": ${h.memdb.root.version},\n"kvstore": {\n}\n}\n`);
  }

  private linkTarget(name: string): string {
    return name === 'local' ? `nodes/${this.host.nodename}` : `nodes/${this.host.nodename}/${name}`;
  }

  private attrOf(te: TreeEntry, p: string): FuseAttr {
    const q = this.host.quorate();
    const mode = te.type === DT_DIR ? S_IFDIR | (q ? 0o777 : 0o555) : S_IFREG | (q ? 0o666 : 0o444);
    return { mode: maskMode(p, mode), size: te.data?.length ?? 0, mtimeMs: te.mtime * 1000, nlink: te.type === DT_DIR ? 2 : 1, uid: 0, gid: WWW_DATA_GID };
  }

  private virtualAttr(name: string): FuseAttr | undefined {
    const mtimeMs = this.host.memdb.root.mtime * 1000;
    if ((LINKS as readonly string[]).includes(name)) {
      const mode = S_IFLNK | (this.host.quorate() ? 0o777 : 0o555);
      return { mode: maskMode(name, mode), size: this.linkTarget(name).length, mtimeMs, nlink: 1, uid: 0, gid: WWW_DATA_GID };
    }
    if ((FUNCS as readonly string[]).includes(name)) {
      // cfs_plug_func_getattr zeroes the stat (mtime 0); only .debug has a write callback and keeps 0640
      const mode = S_IFREG | (name === '.debug' ? 0o640 : 0o440);
      return { mode, size: this.funcText(name).length, mtimeMs: 0, nlink: 1, uid: 0, gid: WWW_DATA_GID };
    }
    return undefined;
  }

  getattr(p: string): FuseAttr {
    const r = rel(p);
    if (!r.includes('/')) {
      const v = this.virtualAttr(r);
      if (v) return v;
    }
    const te = this.host.memdb.lookup(r);
    if (!te) throw new FuseError(E.ENOENT);
    return this.attrOf(te, r);
  }

  readdir(p: string): FuseDirEntry[] {
    const r = rel(p);
    let list: TreeEntry[];
    try {
      list = this.host.memdb.list(r);
    } catch (e) {
      throw new FuseError(e instanceof MemdbError ? e.errno : E.EIO);
    }
    const out = list.map((te) => ({ name: te.name, attr: this.attrOf(te, r ? `${r}/${te.name}` : te.name) }));
    if (r === '') for (const name of [...LINKS, ...FUNCS]) out.push({ name, attr: this.virtualAttr(name) as FuseAttr });
    return out;
  }

  readlink(p: string): string {
    const r = rel(p);
    if ((LINKS as readonly string[]).includes(r)) return this.linkTarget(r);
    throw new FuseError(this.host.memdb.lookup(r) ? E.EINVAL : E.ENOENT);
  }

  read(p: string): Buffer {
    const r = rel(p);
    if ((FUNCS as readonly string[]).includes(r)) return this.funcText(r);
    const te = this.host.memdb.lookup(r);
    if (!te) throw new FuseError(E.ENOENT);
    if (te.type === DT_DIR) throw new FuseError(E.EISDIR);
    return te.data ?? Buffer.alloc(0);
  }

  private async submit(op: CfsOp): Promise<void> {
    if (!this.host.quorate()) throw new FuseError(E.EACCES);
    try {
      await this.host.submit(op);
    } catch (e) {
      throw new FuseError(e instanceof MemdbError ? e.errno : E.EIO, e instanceof Error ? e.message : String(e));
    }
  }

  private refuseVirtual(p: string): void {
    const r = rel(p);
    if (!r.includes('/') && ((LINKS as readonly string[]).includes(r) || (FUNCS as readonly string[]).includes(r))) throw new FuseError(E.EACCES);
  }

  async write(p: string, offset: number, data: Buffer): Promise<number> {
    this.refuseVirtual(p);
    await this.submit({ kind: 'write', path: rel(p), offset, data: data.toString('base64') });
    return data.length;
  }

  async create(p: string, _mode: number, exclusive: boolean): Promise<void> {
    this.refuseVirtual(p);
    const te = this.host.memdb.lookup(rel(p));
    if (te && !exclusive && te.type !== DT_DIR) return;
    await this.submit({ kind: 'create', path: rel(p) });
  }

  async truncate(p: string, size: number): Promise<void> {
    this.refuseVirtual(p);
    await this.submit({ kind: 'truncate', path: rel(p), size });
  }

  async mkdir(p: string): Promise<void> {
    this.refuseVirtual(p);
    await this.submit({ kind: 'mkdir', path: rel(p) });
  }

  async unlink(p: string): Promise<void> {
    this.refuseVirtual(p);
    const te = this.host.memdb.lookup(rel(p));
    if (te?.type === DT_DIR) throw new FuseError(E.EISDIR);
    await this.submit({ kind: 'unlink', path: rel(p) });
  }

  async rmdir(p: string): Promise<void> {
    this.refuseVirtual(p);
    const te = this.host.memdb.lookup(rel(p));
    if (te && te.type !== DT_DIR) throw new FuseError(E.ENOTDIR);
    await this.submit({ kind: 'rmdir', path: rel(p) });
  }

  async rename(from: string, to: string): Promise<void> {
    this.refuseVirtual(from);
    this.refuseVirtual(to);
    await this.submit({ kind: 'rename', from: rel(from), to: rel(to) });
  }

  /** memdb has no symlinks, only the virtual ones exist: pmxcfs has no symlink operation at all. */
  symlink(): void {
    throw new FuseError(E.ENOSYS);
  }

  /** cfs_plug_memdb_utimens: utime(0, 0) on a lock directory also asks pmxcfs to unlock it. */
  async utimens(p: string, mtimeMs: number): Promise<void> {
    this.refuseVirtual(p);
    const path = rel(p);
    const mtime = Math.floor(mtimeMs / 1000);
    const te = this.host.memdb.lookup(path);
    if (te && mtime === 0 && te.type === DT_DIR && isLockPath(path)) {
      try {
        await this.submit({ kind: 'unlock-request', path, csum: entryCsum(te) });
      } catch {
        // only a request: what the caller learns is the mtime message's answer
      }
    }
    await this.submit({ kind: 'mtime', path, mtime });
  }
}
