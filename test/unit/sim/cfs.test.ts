/**
 * The lab's pmxcfs database logic: memdb (pve-cluster src/pmxcfs/memdb.c), config.db written with
 * the sqlite3 shell (database.c), the /etc/pve view (pmxcfs.c, cfs-plug-*.c) and the sync between
 * daemons (dcdb.c dcdb_select_leader), with daemons wired to each other in-process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigDb, loadRows } from '../../../src/lab/sim/cfs/config-db.js';
import { FuseError } from '../../../src/lab/sim/cfs/fuse-ops.js';
import { DT_DIR, DT_REG, MemDb, MemdbError, entryCsum, type CfsOp, type DbChange, type TreeEntry } from '../../../src/lab/sim/cfs/memdb.js';
import { CfsNode, selectLeader, type PeerMessage } from '../../../src/lab/sim/cfs/node.js';
import { CfsView, pathIsPrivate } from '../../../src/lab/sim/cfs/view.js';
import { tmpDir } from '../../helpers/tmp.js';

const hasSqlite = existsSync('/usr/bin/sqlite3');
const W = 1;
const T = 1_700_000_000;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function apply(db: MemDb, op: CfsOp, mtime = T, writer = W): DbChange {
  return db.apply({ op, writer, mtime });
}

describe('memdb', () => {
  it('gives a new entry the version that created it as inode, and bumps the version on every write', () => {
    const db = new MemDb();
    apply(db, { kind: 'mkdir', path: 'nodes' });
    apply(db, { kind: 'create', path: 'nodes/a.cfg' });
    const c = apply(db, { kind: 'write', path: 'nodes/a.cfg', offset: 0, data: b64('hello') }, T + 5, 3);
    expect(db.root).toEqual({ version: 3, writer: 3, mtime: T + 5 });
    expect(db.lookup('nodes')).toEqual({ inode: 1, parent: 0, version: 1, writer: 1, mtime: T, type: DT_DIR, name: 'nodes' });
    expect(c.upsert).toEqual({ inode: 2, parent: 1, version: 3, writer: 3, mtime: T + 5, type: DT_REG, name: 'a.cfg', data: Buffer.from('hello') });
    expect(c.index).toEqual({ version: 3, writer: 3, mtime: T + 5 });
  });

  it('keeps the size on a write inside a file and shrinks only on truncate', () => {
    const db = new MemDb();
    apply(db, { kind: 'create', path: 'f' });
    apply(db, { kind: 'write', path: 'f', offset: 0, data: b64('abcdef') });
    apply(db, { kind: 'write', path: 'f', offset: 1, data: b64('XY') });
    expect(db.lookup('f')?.data?.toString()).toBe('aXYdef');
    apply(db, { kind: 'truncate', path: 'f', size: 2 });
    expect(db.lookup('f')?.data?.toString()).toBe('aX');
    apply(db, { kind: 'truncate', path: 'f', size: 0 });
    expect(db.lookup('f')?.data).toBeUndefined();
  });

  it('answers with the errnos of memdb.c', () => {
    const db = new MemDb();
    apply(db, { kind: 'mkdir', path: 'd' });
    apply(db, { kind: 'create', path: 'd/f' });
    const errno = (op: CfsOp): number | undefined => {
      try {
        apply(db, op);
        return undefined;
      } catch (e) {
        return (e as MemdbError).errno;
      }
    };
    expect(errno({ kind: 'create', path: 'd/f' })).toBe(17); // EEXIST
    expect(errno({ kind: 'write', path: 'd/g', offset: 0, data: '' })).toBe(2); // ENOENT
    expect(errno({ kind: 'mkdir', path: 'nope/x' })).toBe(2);
    expect(errno({ kind: 'rmdir', path: 'd' })).toBe(39); // ENOTEMPTY
    expect(errno({ kind: 'mkdir', path: 'd/..' })).toBe(13); // EACCES
    expect(errno({ kind: 'write', path: 'd/f', offset: 1024 * 1024, data: b64('x') })).toBe(27); // EFBIG
    expect(db.root.version).toBe(2);
  });

  it('keeps a VMID unique in the cluster: EEXIST for a configuration of it on another node or of another type (memdb.c vmlist_different_vm_exists)', () => {
    const db = new MemDb();
    for (const d of ['nodes', 'nodes/pve1', 'nodes/pve1/qemu-server', 'nodes/pve1/lxc', 'nodes/pve2', 'nodes/pve2/qemu-server']) apply(db, { kind: 'mkdir', path: d });
    apply(db, { kind: 'create', path: 'nodes/pve1/qemu-server/100.conf' });
    apply(db, { kind: 'write', path: 'nodes/pve1/qemu-server/100.conf', offset: 0, data: b64('memory: 512\n') });
    const errno = (op: CfsOp): number | undefined => {
      try {
        apply(db, op);
        return undefined;
      } catch (e) {
        return (e as MemdbError).errno;
      }
    };
    expect(errno({ kind: 'create', path: 'nodes/pve2/qemu-server/100.conf' })).toBe(17);
    expect(errno({ kind: 'create', path: 'nodes/pve1/lxc/100.conf' })).toBe(17);
    // written the way PVE writes a file: a temporary name, then renamed over the configuration
    apply(db, { kind: 'create', path: 'nodes/pve2/qemu-server/100.conf.tmp.42' });
    expect(errno({ kind: 'rename', from: 'nodes/pve2/qemu-server/100.conf.tmp.42', to: 'nodes/pve2/qemu-server/100.conf' })).toBe(17);
    // the same guest's file on its own node, another VMID, and a migration's rename all pass
    expect(errno({ kind: 'write', path: 'nodes/pve1/qemu-server/100.conf', offset: 0, data: b64('memory: 1024\n') })).toBeUndefined();
    expect(errno({ kind: 'rename', from: 'nodes/pve2/qemu-server/100.conf.tmp.42', to: 'nodes/pve2/qemu-server/101.conf' })).toBeUndefined();
    expect(errno({ kind: 'rename', from: 'nodes/pve1/qemu-server/100.conf', to: 'nodes/pve2/qemu-server/100.conf' })).toBeUndefined();
    expect(db.lookup('nodes/pve2/qemu-server/100.conf')?.data?.toString()).toBe('memory: 1024\n');
    expect(errno({ kind: 'create', path: 'nodes/pve1/qemu-server/100.conf' })).toBe(17);
  });

  it('renames keeping the inode, replacing an existing target', () => {
    const db = new MemDb();
    apply(db, { kind: 'create', path: 'a.tmp' });
    apply(db, { kind: 'write', path: 'a.tmp', offset: 0, data: b64('new') });
    apply(db, { kind: 'create', path: 'a' });
    const c = apply(db, { kind: 'rename', from: 'a.tmp', to: 'a' });
    expect(c.deleteInode).toBe(3);
    expect(c.upsert).toMatchObject({ inode: 1, name: 'a', version: 4 });
    expect(db.lookup('a.tmp')).toBeUndefined();
    expect(db.lookup('a')?.data?.toString()).toBe('new');
  });

  it('refuses to move a lock backwards (utime 0 is an unlock request) or for another writer', () => {
    const db = new MemDb();
    for (const p of ['priv', 'priv/lock', 'priv/lock/ha']) apply(db, { kind: 'mkdir', path: p });
    expect(() => apply(db, { kind: 'mtime', path: 'priv/lock/ha', mtime: 0 })).toThrow(MemdbError);
    expect(() => apply(db, { kind: 'mtime', path: 'priv/lock/ha', mtime: T + 1 }, T, 2)).toThrow(MemdbError);
    apply(db, { kind: 'mtime', path: 'priv/lock/ha', mtime: T + 1 });
    expect(db.lookup('priv/lock/ha')?.mtime).toBe(T + 1);
  });

  it('round-trips through its rows', () => {
    const db = new MemDb();
    apply(db, { kind: 'mkdir', path: 'nodes' });
    apply(db, { kind: 'create', path: 'nodes/x' });
    const rows = db.rows();
    expect(rows[0]).toEqual({ inode: 0, parent: 0, version: 2, writer: 1, mtime: T, type: DT_REG, name: '__version__' });
    const again = MemDb.fromRows(rows);
    expect(again.rows()).toEqual(rows);
    expect(again.lookup('nodes/x')?.inode).toBe(2);
  });
});

describe.skipIf(!hasSqlite)('config.db', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('pvx-cfsdb-');
  });
  afterEach(async () => {
    const { rmSync } = await import('node:fs');
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a WAL-mode SQLite file with pmxcfs schema, readable by the sqlite3 shell', async () => {
    const file = path.join(dir, 'config.db');
    const cdb = await ConfigDb.open(file);
    const mem = new MemDb();
    await cdb.write(apply(mem, { kind: 'mkdir', path: 'nodes' }));
    await cdb.write(apply(mem, { kind: 'create', path: "it's" }));
    await cdb.write(apply(mem, { kind: 'write', path: "it's", offset: 0, data: b64('\u0000bin\n') }, T + 1));
    const q = (sql: string): string => execFileSync('sqlite3', [file, sql], { encoding: 'utf8' });
    expect(q('PRAGMA journal_mode;')).toBe('wal\n');
    expect(q("SELECT sql FROM sqlite_master WHERE name = 'tree';")).toBe(
      "CREATE TABLE tree (  inode INTEGER PRIMARY KEY NOT NULL,  parent INTEGER NOT NULL CHECK(typeof(parent)=='integer'),  version INTEGER NOT NULL CHECK(typeof(version)=='integer'),  writer INTEGER NOT NULL CHECK(typeof(writer)=='integer'),  mtime INTEGER NOT NULL CHECK(typeof(mtime)=='integer'),  type INTEGER NOT NULL CHECK(typeof(type)=='integer'),  name TEXT NOT NULL,  data BLOB)\n",
    );
    expect(q('SELECT inode, parent, version, writer, mtime, type, name, hex(data) FROM tree ORDER BY inode;')).toBe(
      `0|0|3|1|${T + 1}|8|__version__|\n1|0|1|1|${T}|4|nodes|\n2|0|3|1|${T + 1}|8|it's|0062696E0A\n`,
    );
    const rows = await loadRows(file);
    expect(MemDb.fromRows(rows).rows()).toEqual(mem.rows());
    await cdb.replaceAll(new MemDb().rows());
    expect(q('SELECT inode, name, version FROM tree;')).toBe('0|__version__|0\n');
    await cdb.close();
  });
});

/** In-process daemons: messages go straight to the other node's handler, cut links fail. */
class Net {
  nodes = new Map<number, CfsNode>();
  cut = new Set<number>();
  /** daemons that run but answer no sync request in time */
  slow = new Set<number>();
  /** daemons whose answer to a write never comes (cut off, before corosync noticed) */
  hang = new Set<number>();
  /** sequencers that never get a write sent to them, or whose answer to it is lost (cut off meanwhile) */
  deaf = new Set<number>();
  mute = new Set<number>();
  writes: Array<{ node: number; change: DbChange }> = [];
  log: string[] = [];
  /** every daemon's clock (epoch seconds) */
  clock = T;
  send(from: number) {
    return async (to: number, msg: PeerMessage): Promise<unknown> => {
      const n = this.nodes.get(to);
      if (!n || this.cut.has(to) || this.cut.has(from)) throw new Error('unreachable');
      if (this.slow.has(to) && msg.t === 'state') throw new Error(`pve${to}: no answer within 3000 ms`);
      if (this.hang.has(to) && msg.t === 'apply') return new Promise(() => undefined);
      if (this.deaf.has(to) && msg.t === 'submit') return new Promise(() => undefined);
      if (this.mute.has(to) && msg.t === 'submit') {
        void n.handle(JSON.parse(JSON.stringify(msg)) as PeerMessage);
        return new Promise(() => undefined);
      }
      return JSON.parse(JSON.stringify(await n.handle(JSON.parse(JSON.stringify(msg)) as PeerMessage))) as unknown;
    };
  }
  /** set the views of several daemons at once (corosync tells every member), then wait for the rounds */
  async view(online: number[], quorate: boolean, ids = online): Promise<void> {
    await Promise.all(ids.map((id) => this.nodes.get(id)?.setView({ localId: id, online, quorate })));
    await this.settle();
  }
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      await Promise.all([...this.nodes.values()].map((n) => n.settled()));
    }
  }
  add(id: number, mode: 'local' | 'cluster' = 'cluster', memdb = new MemDb(), refreshView?: () => Promise<void>, writeViewWaitMs?: number): CfsNode {
    const node = new CfsNode({
      ...(refreshView ? { refreshView } : {}),
      ...(writeViewWaitMs !== undefined ? { writeViewWaitMs } : {}),
      memdb,
      mode,
      pid: 100 + id,
      db: {
        write: async (change) => {
          this.writes.push({ node: id, change });
        },
        replaceAll: async () => undefined,
      },
      send: this.send(id),
      now: () => this.clock,
      log: (l) => this.log.push(`${id}: ${l}`),
    });
    this.nodes.set(id, node);
    return node;
  }
}

function files(n: CfsNode): string[] {
  return n.memdb
    .rows()
    .slice(1)
    .map((r) => `${r.name}=${r.data?.toString() ?? ''}`)
    .sort();
}

async function put(n: CfsNode, p: string, text: string): Promise<void> {
  if (!n.memdb.lookup(p)) await n.submit({ kind: 'create', path: p });
  await n.submit({ kind: 'write', path: p, offset: 0, data: b64(text) });
}

describe('unlock requests (utime 0 on a lock: cfs_plug_memdb_utimens, dcdb.c, memdb_lock_expired)', () => {
  const LOCK = 'priv/lock/ha_manager_lock';
  async function lockedBy(n: CfsNode): Promise<void> {
    for (const p of ['priv', 'priv/lock', LOCK]) await n.submit({ kind: 'mkdir', path: p });
  }
  const csumOn = (n: CfsNode): string => entryCsum(n.memdb.lookup(LOCK) as TreeEntry);

  it('grants one only once the lock stayed as the requester saw it for longer than the lock timeout, on every member', async () => {
    const net = new Net();
    const [a, b, c] = [net.add(1), net.add(2), net.add(3)];
    await net.view([1, 2, 3], true);
    await lockedBy(b);
    net.clock += 120;
    await c.submit({ kind: 'unlock-request', path: LOCK, csum: csumOn(c) });
    for (const n of [a, b, c]) expect(n.memdb.lookup(LOCK)).toBeDefined();
    net.clock += 1;
    await c.submit({ kind: 'unlock-request', path: LOCK, csum: csumOn(c) });
    for (const n of [a, b, c]) expect(n.memdb.lookup(LOCK)).toBeUndefined();
    // the lock is free: the requester gets it
    await c.submit({ kind: 'mkdir', path: LOCK });
    expect(a.memdb.lookup(LOCK)).toMatchObject({ writer: 3 });
  });

  it('ignores a request made on a view older than the lock: its holder renewed it since', async () => {
    const net = new Net();
    const [a, b, c] = [net.add(1), net.add(2), net.add(3)];
    await net.view([1, 2, 3], true);
    await lockedBy(b);
    // what a node that was cut off still sees when it is back, before its sync
    const stale = csumOn(c);
    net.clock += 100;
    await b.submit({ kind: 'mtime', path: LOCK, mtime: net.clock });
    net.clock += 130;
    await c.submit({ kind: 'unlock-request', path: LOCK, csum: stale });
    for (const n of [a, b, c]) expect(n.memdb.lookup(LOCK)).toMatchObject({ mtime: T + 100 });
    // the renewal started the lock's time again: 130 s after it, a request on the current view is granted
    await c.submit({ kind: 'unlock-request', path: LOCK, csum: csumOn(c) });
    for (const n of [a, b, c]) expect(n.memdb.lookup(LOCK)).toBeUndefined();
  });

  it('is decided by the daemon itself in local mode', async () => {
    const net = new Net();
    const a = net.add(1, 'local');
    await lockedBy(a);
    net.clock += 121;
    await a.submit({ kind: 'unlock-request', path: LOCK, csum: 'not what is there' });
    expect(a.memdb.lookup(LOCK)).toBeDefined();
    await a.submit({ kind: 'unlock-request', path: LOCK, csum: csumOn(a) });
    expect(a.memdb.lookup(LOCK)).toBeUndefined();
  });

  it('never reaches the tree as such', () => {
    expect(() => new MemDb().apply({ op: { kind: 'unlock-request', path: LOCK, csum: '' }, writer: 1, mtime: T })).toThrow(MemdbError);
  });
});

describe('sync between daemons', () => {
  it('chooses the leader as dcdb_select_leader: highest version, then later mtime, then lowest node id', () => {
    const s = (nodeid: number, version: number, mtime: number) => ({ nodeid, pid: 1, index: { version, mtime, writer: nodeid } });
    expect(selectLeader([s(1, 10, 5), s(2, 12, 1), s(3, 11, 9)])?.nodeid).toBe(2);
    expect(selectLeader([s(3, 10, 9), s(1, 10, 5), s(2, 10, 7)])?.nodeid).toBe(3);
    expect(selectLeader([s(2, 10, 5), s(1, 10, 5)])?.nodeid).toBe(1);
  });

  it('applies a write on every member before it returns, in one order', async () => {
    const net = new Net();
    const [a, b, c] = [net.add(1), net.add(2), net.add(3)];
    await net.view([1, 2, 3], true);
    await put(c, 'x.cfg', 'from 3');
    await put(b, 'y.cfg', 'from 2');
    for (const n of [a, b, c]) expect(files(n)).toEqual(['x.cfg=from 3', 'y.cfg=from 2']);
    expect([a, b, c].map((n) => n.memdb.root.version)).toEqual([4, 4, 4]);
    expect(b.memdb.lookup('x.cfg')).toMatchObject({ inode: 1, writer: 3 });
  });

  it('holds a write while a running member has not synced, then applies it there too (dfsm queues it)', async () => {
    const net = new Net();
    const [a, b] = [net.add(1), net.add(2)];
    net.slow.add(1);
    await net.view([1, 2], true);
    expect(b.members()).toEqual([2]);
    setTimeout(() => net.slow.delete(1), 300);
    await put(b, 'pve-ssl.pem', 'cert of 2');
    expect(files(a)).toEqual(['pve-ssl.pem=cert of 2']);
    expect(b.members()).toEqual([1, 2]);
  });

  it('leaves out a database older than its own: the message of a round that writes overtook would lose them', async () => {
    const net = new Net();
    const [a, b] = [net.add(1), net.add(2)];
    await net.view([1, 2], true);
    await put(a, 'pve-ssl.pem', 'cert of 1');
    // the tree a round read on the leader, before the joining node's own write
    const stale = a.memdb.rows().map((r) => ({ ...r, data: r.data?.toString('base64') }));
    await put(b, 'pve2.key', 'key of 2');
    expect(await b.handle({ t: 'replace', from: 1, rows: stale } as PeerMessage)).toEqual({ ok: true });
    expect(files(b)).toEqual(['pve-ssl.pem=cert of 1', 'pve2.key=key of 2']);
    expect(net.log.some((l) => /^2: .*left out a database older than this one \(version = 2 < 4\)/.test(l))).toBe(true);
    // an equal or newer one is taken, as a round's leader's always is
    const current = a.memdb.rows().map((r) => ({ ...r, data: r.data?.toString('base64') }));
    await b.handle({ t: 'replace', from: 1, rows: current } as PeerMessage);
    expect(b.memdb.root.version).toBe(4);
  });

  it('does not wait for a member whose daemon is not running (its corosync runs alone)', async () => {
    const net = new Net();
    const b = net.add(2);
    // node 1 is online in corosync but has no daemon: the request fails at once
    await net.view([1, 2], true, [2]);
    await put(b, 'x.cfg', 'alone');
    expect(files(b)).toEqual(['x.cfg=alone']);
  });

  it('stops waiting for a member cut off before it took a write once corosync no longer has it (the write ends in the new configuration)', async () => {
    const net = new Net();
    const [a, b] = [net.add(1), net.add(2), net.add(3)];
    await net.view([1, 2, 3], true);
    net.hang.add(3);
    const write = put(a, 'x.cfg', 'during the cut');
    await new Promise((r) => setTimeout(r, 20));
    let done = false;
    void write.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    net.cut.add(3);
    await net.view([1, 2], true);
    await write;
    for (const n of [a, b]) expect(files(n)).toEqual(['x.cfg=during the cut']);
    expect(net.log.join('\n')).not.toContain('did not take a write');
  });

  it('sends a write again in the new configuration when its sequencer left before taking it', async () => {
    const net = new Net();
    const [, b, c] = [net.add(1), net.add(2), net.add(3)];
    await net.view([1, 2, 3], true);
    net.deaf.add(1);
    const write = c.submit({ kind: 'mkdir', path: 'gone-sequencer' });
    await new Promise((r) => setTimeout(r, 20));
    net.cut.add(1);
    await net.view([2, 3], true);
    await write;
    for (const n of [b, c]) expect(files(n)).toEqual(['gone-sequencer=']);
    expect(b.memdb.root.version).toBe(c.memdb.root.version);
  });

  it('does not apply a write twice when its sequencer sent it on and left before it answered', async () => {
    const net = new Net();
    const [, b, c] = [net.add(1), net.add(2), net.add(3)];
    await net.view([1, 2, 3], true);
    const v0 = c.memdb.root.version;
    net.mute.add(1);
    // a second mkdir of the same directory would fail with EEXIST
    const write = c.submit({ kind: 'mkdir', path: 'once' });
    await new Promise((r) => setTimeout(r, 20));
    expect(files(c)).toEqual(['once=']);
    net.cut.add(1);
    await net.view([2, 3], true);
    await write;
    for (const n of [b, c]) expect(files(n)).toEqual(['once=']);
    expect(c.memdb.root.version).toBe(v0 + 1);
    expect(b.memdb.root.version).toBe(v0 + 1);
  });

  it('refuses writes without quorum (EACCES) and lets a separated node with more writes win on rejoin', async () => {
    const net = new Net();
    const [a, b, c] = [net.add(1), net.add(2), net.add(3)];
    await net.view([1, 2, 3], true);
    await put(a, 'shared.cfg', 'v1');
    // node 3 is cut off: no quorum there, 1 and 2 keep theirs
    net.cut.add(3);
    await net.view([3], false);
    await net.view([1, 2], true);
    await expect(put(c, 'alone.cfg', 'x')).rejects.toMatchObject({ errno: 13 });
    await put(a, 'cluster.cfg', 'one write');
    // node 3 alone in local mode (pmxcfs -l on its own database) writes more than the cluster
    const local = net.add(3, 'local', c.memdb);
    for (let i = 0; i < 4; i++) await put(local, 'shared.cfg', `local ${i}`);
    const c2 = net.add(3, 'cluster', local.memdb);
    net.cut.delete(3);
    await net.view([1, 2, 3], true);
    for (const n of [a, b, c2]) expect(files(n)).toEqual(['shared.cfg=local 3']);
    expect(a.memdb.root.version).toBe(c2.memdb.root.version);
  });

  it('makes a separated node with fewer writes lose them on rejoin', async () => {
    const net = new Net();
    const [a, b] = [net.add(1), net.add(2)];
    const c = net.add(3);
    await net.view([1, 2, 3], true);
    net.cut.add(3);
    await net.view([3], false);
    await net.view([1, 2], true);
    for (let i = 0; i < 3; i++) await put(a, 'cluster.cfg', `c${i}`);
    const local = net.add(3, 'local', c.memdb);
    await put(local, 'mine.cfg', 'lost');
    const c2 = net.add(3, 'cluster', local.memdb);
    net.cut.delete(3);
    await net.view([1, 2, 3], true);
    for (const n of [a, b, c2]) expect(files(n)).toEqual(['cluster.cfg=c2']);
  });

  it('takes a write from a member its own poll has not seen yet once corosync, read again, shows it', async () => {
    const net = new Net();
    // what corosync says now; node 1 has not polled it since node 2 joined
    let truth = { online: [1], quorate: false };
    let polls = 0;
    const a = net.add(1, 'cluster', new MemDb(), async () => {
      polls++;
      await a.setView({ localId: 1, ...truth });
    });
    const b = net.add(2);
    await net.view([1], true, [1]);
    await put(a, 'before.cfg', 'x');
    await net.view([1], false, [1]);
    truth = { online: [1, 2], quorate: true };
    await b.setView({ localId: 2, ...truth });
    await net.settle();
    await put(b, 'joined.cfg', 'y');
    expect(polls).toBeGreaterThan(0);
    for (const n of [a, b]) expect(files(n)).toEqual(['before.cfg=x', 'joined.cfg=y']);
  });

  it('refuses a write of a member the sequencer does not see, even after reading corosync again for the write wait', async () => {
    const net = new Net();
    let polls = 0;
    const a = net.add(1, 'cluster', new MemDb(), async () => {
      polls++;
    }, 2000);
    const b = net.add(2);
    await net.view([1, 2], true);
    await a.setView({ localId: 1, online: [1], quorate: true });
    await net.settle();
    const t0 = Date.now();
    await expect(put(b, 'late.cfg', 'z')).rejects.toMatchObject({ errno: 13 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    // one read of corosync, then one every 500 ms for the 2 s of the write wait
    expect(polls).toBeGreaterThanOrEqual(4);
    expect(files(a)).toEqual([]);
  }, 15_000);

  it('takes a write of a member its own view has only after a few reads of corosync (the writer saw the new configuration first)', async () => {
    const net = new Net();
    let polls = 0;
    const a = net.add(1, 'cluster', new MemDb(), async () => {
      // corosync tells this daemon of member 2 only on its eighth read, 3.5 s on
      if (++polls === 8) await a.setView({ localId: 1, online: [1, 2], quorate: true });
    }, 6000);
    const b = net.add(2);
    await net.view([1, 2], true);
    await a.setView({ localId: 1, online: [1], quorate: true });
    await net.settle();
    await put(b, 'late.cfg', 'z');
    expect(polls).toBe(8);
    expect(files(a)).toEqual(['late.cfg=z']);
    expect(files(b)).toEqual(['late.cfg=z']);
  }, 15_000);

  it('takes a member whose daemon did not answer into the group on a later poll, not only on a membership change', async () => {
    const net = new Net();
    const [a, b] = [net.add(1), net.add(2)];
    await net.view([1, 2], true, [2]);
    net.cut.add(2);
    await net.view([1, 2], true, [1]);
    expect(a.members()).toEqual([1]);
    net.cut.delete(2);
    const now = vi.spyOn(Date, 'now');
    try {
      // the same view again, soon: no new round yet
      now.mockReturnValue(Date.now() + 500);
      await a.setView({ localId: 1, online: [1, 2], quorate: true });
      await net.settle();
      expect(a.members()).toEqual([1]);
      now.mockReturnValue(Date.now() + 5_000);
      await a.setView({ localId: 1, online: [1, 2], quorate: true });
      await net.settle();
      expect(a.members()).toEqual([1, 2]);
    } finally {
      now.mockRestore();
    }
    await put(b, 'both.cfg', 'z');
    for (const n of [a, b]) expect(files(n)).toEqual(['both.cfg=z']);
  });

  it('syncs a daemon that starts while corosync membership stays the same', async () => {
    const net = new Net();
    const [a, b] = [net.add(1), net.add(2)];
    await net.view([1, 2], true, [1]);
    await put(a, 'before.cfg', 'x');
    expect(a.members()).toEqual([1]);
    // node 2's daemon starts later: its state request makes node 1 run a round too
    await net.view([1, 2], true, [2]);
    expect(files(b)).toEqual(['before.cfg=x']);
    expect(a.members()).toEqual([1, 2]);
    await put(a, 'after.cfg', 'y');
    expect(files(b)).toEqual(['after.cfg=y', 'before.cfg=x']);
  });
});

describe('the /etc/pve view', () => {
  function view(quorate: boolean): { v: CfsView; db: MemDb; ops: CfsOp[] } {
    const db = new MemDb();
    for (const p of ['nodes', 'nodes/pve1', 'nodes/pve1/qemu-server', 'nodes/pve1/priv', 'priv']) apply(db, { kind: 'mkdir', path: p });
    apply(db, { kind: 'create', path: 'nodes/pve1/qemu-server/100.conf' });
    apply(db, { kind: 'create', path: 'storage.cfg' });
    const ops: CfsOp[] = [];
    const v = new CfsView({
      memdb: db,
      nodename: 'pve1',
      quorate: () => quorate,
      submit: async (op) => {
        ops.push(op);
        db.apply({ op, writer: 1, mtime: T });
      },
      members: () => '{\n"nodename": "pve1",\n"version": 0\n}\n',
      rrd: () => 'pve2-node/pve1:1::2\n',
      clusterlog: () => '{\n"data": [\n]\n}\n',
      startTime: T,
      clinfoVersion: () => 4,
    });
    return { v, db, ops };
  }

  it('serves root:www-data 0640 files, 0755 directories, 0700/0600 under priv/', () => {
    const { v } = view(true);
    expect(v.getattr('/storage.cfg')).toMatchObject({ mode: 0o100640, uid: 0, gid: 33 });
    expect(v.getattr('/nodes')).toMatchObject({ mode: 0o040755, nlink: 2 });
    expect(v.getattr('/priv').mode).toBe(0o040700);
    expect(v.getattr('/nodes/pve1/priv').mode).toBe(0o040700);
    expect(pathIsPrivate('/nodes/pve1/privx')).toBe(false);
  });

  it('has the per-node links and status files at its root', () => {
    const { v } = view(true);
    expect(v.readlink('/local')).toBe('nodes/pve1');
    expect(v.readlink('/qemu-server')).toBe('nodes/pve1/qemu-server');
    expect(v.readlink('/lxc')).toBe('nodes/pve1/lxc');
    expect(v.getattr('/local').mode).toBe(0o120755);
    expect(v.readdir('/').map((e) => e.name).sort()).toEqual(['.clusterlog', '.debug', '.members', '.rrd', '.version', '.vmlist', 'local', 'lxc', 'nodes', 'openvz', 'priv', 'qemu-server', 'storage.cfg']);
    // cfs_plug_func: 0440 (0640 for .debug, the one with a write callback), mtime 0, size of the text
    expect(v.getattr('/.rrd')).toEqual({ mode: 0o100440, size: 20, mtimeMs: 0, nlink: 1, uid: 0, gid: 33 });
    expect(v.read('/.rrd').toString()).toBe('pve2-node/pve1:1::2\n');
    expect(v.read('/.clusterlog').toString()).toBe('{\n"data": [\n]\n}\n');
    expect(v.getattr('/.debug').mode).toBe(0o100640);
    expect(v.read('/.debug').toString()).toBe('0\n');
    expect(v.read('/.version').toString()).toBe(`{\n"starttime": ${T},\n"clinfo": 4,\n"vmlist": 7,\n"kvstore": {\n}\n}\n`);
    expect(v.read('/.vmlist').toString()).toBe('{\n"version": 7,\n"ids": {\n"100": { "node": "pve1", "type": "qemu", "version": 6 }}\n\n}\n');
  });

  it('refuses every write without quorum with EACCES and reports read-only modes', async () => {
    const { v, ops } = view(false);
    await expect(v.write('/storage.cfg', 0, Buffer.from('x'))).rejects.toEqual(new FuseError(13));
    await expect(v.mkdir('/ha', 0o755)).rejects.toMatchObject({ errno: 13 });
    await expect(v.rename('/storage.cfg', '/s')).rejects.toMatchObject({ errno: 13 });
    expect(ops).toEqual([]);
    expect(v.getattr('/storage.cfg').mode).toBe(0o100440);
    expect(v.getattr('/nodes').mode).toBe(0o040555);
  });

  it('turns a write into database operations', async () => {
    const { v, db, ops } = view(true);
    await v.create('/ha.cfg', 0o640, true);
    await v.write('/ha.cfg', 0, Buffer.from('abc'));
    await v.rename('/ha.cfg', '/storage.cfg');
    expect(ops.map((o) => o.kind)).toEqual(['create', 'write', 'rename']);
    expect(v.read('/storage.cfg').toString()).toBe('abc');
    expect(db.lookup('ha.cfg')).toBeUndefined();
    expect(() => v.symlink()).toThrow(FuseError);
  });
});

export type { TreeEntry };
