/**
 * One pmxcfs daemon's database logic (memdb.c + dcdb.c + dfsm.c, reduced to what decides the
 * content of /etc/pve): the node's memdb written through to its config.db, local mode, and in a
 * cluster the synchronisation with the other members' daemons:
 * - on every change of the corosync view (members or quorum) and whenever a daemon of the view
 *   joins, the members exchange their state (version, mtime of the last write), choose the leader
 *   with dcdb_select_leader's rule and every member whose tree differs takes the leader's;
 * - while quorate, each write goes to one sequencer (the member with the lowest node id) that
 *   applies it and sends it to every member in one order; the writer's call returns after all
 *   members answered. Without quorum every write fails (EACCES, from the view).
 */
import { constants as os } from 'node:os';
import { DT_DIR, MemDb, MemdbError, entryCsum, isLockPath, type CfsOp, type DbChange, type DbIndex, type StampedOp, type TreeEntry } from './memdb.js';

const E = os.errno;

/** What config.db offers the daemon (ConfigDb, or a stand-in in tests). */
export interface DbBackend {
  write(c: DbChange): Promise<void>;
  replaceAll(rows: readonly TreeEntry[]): Promise<void>;
}

/** This node's corosync view: its node id, the members it sees and whether it is quorate. */
export interface CorosyncView {
  localId: number;
  online: number[];
  quorate: boolean;
}

/** How a daemon reaches the daemon of member `nodeid`. */
export type PeerSend = (nodeid: number, msg: PeerMessage, timeoutMs: number) => Promise<unknown>;

/** Messages between daemons. */
export type PeerMessage =
  | { t: 'state'; from: number }
  | { t: 'dump' }
  | { t: 'replace'; from: number; rows: WireRow[] }
  | { t: 'submit'; from: number; op: StampedOp }
  /** `version`: the sequencer's database version once it applied the op */
  | { t: 'apply'; from: number; op: StampedOp; version?: number };

/** A tree row on the wire (data in base64). */
export type WireRow = Omit<TreeEntry, 'data'> & { data?: string };

/** A member's state in a sync round (dfsm_node_info_t + memdb_index_t, reduced). */
export interface MemberState {
  nodeid: number;
  pid: number;
  index: DbIndex;
}

/**
 * dcdb_select_leader (pve-cluster src/pmxcfs/dcdb.c): members sorted by node id, then pid
 * (dfsm.c dfsm_sync_info_compare); the first is the candidate, a later one replaces it when its
 * version is higher, or equal with a later mtime of the last write. So on a full tie the lowest
 * node id leads.
 */
export function selectLeader(states: readonly MemberState[]): MemberState | undefined {
  const sorted = [...states].sort((a, b) => a.nodeid - b.nodeid || a.pid - b.pid);
  let leader: MemberState | undefined;
  for (const s of sorted) {
    if (!leader) leader = s;
    else if (s.index.version === leader.index.version && s.index.mtime > leader.index.mtime) leader = s;
    else if (s.index.version > leader.index.version) leader = s;
  }
  return leader;
}

function toWire(rows: readonly TreeEntry[]): WireRow[] {
  return rows.map((r) => {
    const { data, ...rest } = r;
    return data ? { ...rest, data: data.toString('base64') } : rest;
  });
}

function fromWire(rows: readonly WireRow[]): TreeEntry[] {
  return rows.map((r) => {
    const { data, ...rest } = r;
    return data ? { ...rest, data: Buffer.from(data, 'base64') } : rest;
  });
}

function sameIndex(a: DbIndex, b: DbIndex): boolean {
  return a.version === b.version && a.mtime === b.mtime && a.writer === b.writer;
}

/** Options of a daemon. */
export interface CfsNodeOptions {
  memdb: MemDb;
  db: DbBackend;
  /** `local`: no cluster (no corosync.conf, or `pmxcfs -l`); always writable, talks to nobody */
  mode: 'local' | 'cluster';
  pid: number;
  send?: PeerSend;
  now?: () => number;
  log?: (line: string) => void;
  /** called after the tree changed (a write applied, or a leader's tree taken) */
  onChange?: () => void;
  /** read corosync's view now (the daemon otherwise polls it) */
  refreshView?: () => Promise<void>;
  /** how long a member's write waits for this daemon's view to have the member (WRITE_VIEW_CATCH_UP_MS) */
  writeViewWaitMs?: number;
  /** CFS_LOCK_TIMEOUT in seconds (120 on PVE): a lock unchanged this long is granted to an unlock request */
  lockTimeoutS?: number;
}

/** memdb_lock_info_t: a lock's state as this daemon last saw it change, and when (its own clock). */
interface LockSeen {
  csum: string;
  ltime: number;
}

const PEER_TIMEOUT_MS = 3000;
/** what sendWhileMember gives for a member that left the view before it answered */
const LEFT = Symbol('left the view');
/** how often a write is sent again after its sequencer left the view */
const RESEND_ATTEMPTS = 3;
/** how many ids of applied writes a daemon keeps to know a resent one */
const APPLIED_IDS_KEPT = 4096;
/** how often a sync round asks a member that does not answer in time */
const STATE_ATTEMPTS = 3;

/** how often a quorate member retries a sync round while some online member's daemon is not in its group */
const INCOMPLETE_RETRY_MS = 2000;
/**
 * how long in all a write waits for running daemons that missed the last sync round. Real pmxcfs
 * queues it until the sync is done, however long; a write let through earlier lands on a database
 * the next round may replace (a joining node's own files lost: ENOENT in pvecm add), so the bound
 * is only there for a member that never answers
 */
const UNSYNCED_WAIT_MS = 30_000;
/** the pause between the sync rounds of that wait */
const UNSYNCED_GAP_MS = 250;
/** how long a member's message waits for this daemon's view to have the member (a write longer: see handle) */
const VIEW_CATCH_UP_MS = 3000;
const WRITE_VIEW_CATCH_UP_MS = 15_000;
const VIEW_CATCH_UP_GAP_MS = 500;

/** The database side of one pmxcfs daemon. */
export class CfsNode {
  memdb: MemDb;
  private view: CorosyncView = { localId: 0, online: [], quorate: false };
  /** the daemons of the current view that answered the last sync round (this one included) */
  private group: number[] = [];
  private syncing: Promise<void> | undefined;
  /** online members whose daemon runs but did not take part in the last round */
  private unsynced: number[] = [];
  private resyncWanted = false;
  private lastRound = 0;
  private sequence: Promise<unknown> = Promise.resolve();
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  /** memdb->locks */
  private locks = new Map<string, LockSeen>();
  /** told of every new corosync view */
  private viewListeners = new Set<() => void>();
  /** ids of the writes applied here lately, oldest first */
  private appliedIds = new Set<string>();
  private writeCount = 0;

  constructor(private readonly o: CfsNodeOptions) {
    this.memdb = o.memdb;
    this.log = o.log ?? (() => undefined);
    this.now = o.now ?? (() => Math.floor(Date.now() / 1000));
    this.updateLocks();
  }

  /**
   * memdb_lock_expired: has the lock at `path` stayed as `csum` for longer than the lock timeout, by
   * this daemon's clock? A lock seen for the first time, or changed since (renewed), starts its
   * time now.
   */
  private lockExpired(path: string, csum: string): boolean {
    const now = this.now();
    const li = this.locks.get(path);
    if (!li || li.csum !== csum) {
      this.locks.set(path, { csum, ltime: now });
      return false;
    }
    return now > li.ltime && now - li.ltime > (this.o.lockTimeoutS ?? 120);
  }

  /** memdb_update_locks (on open and after a sync): the locks in the tree now, each keeping its time if unchanged. */
  private updateLocks(): void {
    const next = new Map<string, LockSeen>();
    let dir: TreeEntry[] = [];
    try {
      dir = this.memdb.list('priv/lock');
    } catch {
      // no priv/lock yet
    }
    for (const te of dir) {
      if (te.type !== DT_DIR) continue;
      const path = `priv/lock/${te.name}`;
      const csum = entryCsum(te);
      const old = this.locks.get(path);
      next.set(path, { csum, ltime: old && old.csum === csum ? old.ltime : this.now() });
    }
    this.locks = next;
  }

  /**
   * dcdb_deliver of DCDB_MESSAGE_CFS_UNLOCK_REQUEST on the lowest node: the lock, if it is still the
   * one the requester saw and has expired here, goes (DCDB_MESSAGE_CFS_UNLOCK: memdb_delete).
   */
  private unlockOf(op: Extract<CfsOp, { kind: 'unlock-request' }>): CfsOp | undefined {
    const te = this.memdb.lookup(op.path);
    if (!te || te.type !== DT_DIR || !isLockPath(op.path) || entryCsum(te) !== op.csum) return undefined;
    return this.lockExpired(op.path, op.csum) ? { kind: 'rmdir', path: op.path } : undefined;
  }

  /** cfs_is_quorate: local mode is always quorate; a member only while its partition is. */
  quorate(): boolean {
    return this.o.mode === 'local' || this.view.quorate;
  }

  /** Node id of this daemon (0 in local mode, the `writer` pmxcfs records then). */
  get nodeid(): number {
    return this.o.mode === 'local' ? 0 : this.view.localId;
  }

  /** Members of the current sync group. */
  members(): number[] {
    return [...this.group];
  }

  /** The online members corosync reports. */
  online(): number[] {
    return [...this.view.online];
  }

  /** Resolves once no sync round runs (or is wanted). */
  async settled(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  /**
   * Feed the current corosync view; a change starts a sync round. So does, now and then, a quorate
   * view whose members are not all in the sync group: a member's daemon that did not answer the last
   * round (started late, or busy) must join the group, as it would join pmxcfs's CPG group.
   */
  async setView(v: CorosyncView): Promise<void> {
    const changed = v.localId !== this.view.localId || v.quorate !== this.view.quorate || v.online.join(',') !== this.view.online.join(',');
    this.view = { ...v, online: [...v.online].sort((a, b) => a - b) };
    for (const l of [...this.viewListeners]) l();
    const incomplete = this.o.mode === 'cluster' && v.quorate && v.online.some((id) => !this.group.includes(id));
    if (changed || (incomplete && Date.now() - this.lastRound >= INCOMPLETE_RETRY_MS)) await this.resync();
  }

  /** Run a sync round (serialised; a request during one runs another after it). */
  resync(): Promise<void> {
    if (this.syncing) {
      this.resyncWanted = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.resyncWanted = false;
          await this.syncRound();
        } while (this.resyncWanted);
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  private async syncRound(): Promise<void> {
    this.lastRound = Date.now();
    if (this.o.mode === 'local') return;
    const self = this.view.localId;
    if (!this.view.quorate || !this.o.send) {
      this.group = [self];
      this.unsynced = [];
      return;
    }
    const states: MemberState[] = [{ nodeid: self, pid: this.o.pid, index: { ...this.memdb.root } }];
    const unsynced: number[] = [];
    const send = this.o.send;
    await Promise.all(
      this.view.online
        .filter((id) => id !== self)
        .map(async (id) => {
          // a daemon that runs is in pmxcfs's CPG group and must take part: a slow answer is asked
          // again; a refused connection means no daemon there (yet), whose own start will sync
          for (let attempt = 1; attempt <= STATE_ATTEMPTS; attempt++) {
            try {
              const s = (await send(id, { t: 'state', from: self }, PEER_TIMEOUT_MS)) as MemberState;
              if (s && typeof s.nodeid === 'number' && s.index) states.push(s);
              return;
            } catch (e) {
              const why = e instanceof Error ? e.message : String(e);
              // a daemon in the group that is too busy to answer is still owed the round; one before its
              // first corosync view is not in pmxcfs's CPG group yet and starts a round itself once it is
              if (/no answer within/.test(why) && attempt === STATE_ATTEMPTS) unsynced.push(id);
              if (!/no answer within/.test(why)) return;
            }
          }
        }),
    );
    const before = this.group.join(',');
    this.unsynced = unsynced;
    this.group = states.map((s) => s.nodeid).sort((a, b) => a - b);
    const leader = selectLeader(states);
    if (!leader) return;
    // a round that found the same group and nothing to copy is not worth a line
    const same = before === this.group.join(',') && states.every((s) => sameIndex(s.index, this.memdb.root));
    if (!same) this.log(`[dcdb] notice: members: ${states.map((s) => `${s.nodeid}/${s.pid}`).join(', ')}; leader is ${leader.nodeid}/${leader.pid}`);
    if (leader.nodeid === self) {
      const rows = toWire(this.memdb.rows());
      await Promise.all(
        states
          .filter((s) => s.nodeid !== self && !sameIndex(s.index, this.memdb.root))
          .map(async (s) => {
            try {
              await send(s.nodeid, { t: 'replace', from: self, rows }, PEER_TIMEOUT_MS * 4);
            } catch (e) {
              this.log(`[dcdb] crit: sending the database to node ${s.nodeid} failed: ${e instanceof Error ? e.message : String(e)}`);
            }
          }),
      );
    } else if (!sameIndex(leader.index, this.memdb.root)) {
      try {
        const dump = (await send(leader.nodeid, { t: 'dump' }, PEER_TIMEOUT_MS * 4)) as { rows: WireRow[] };
        await this.takeTree(fromWire(dump.rows));
      } catch (e) {
        this.log(`[dcdb] crit: reading the database of node ${leader.nodeid} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  private async takeTree(rows: TreeEntry[]): Promise<void> {
    const next = MemDb.fromRows(rows);
    // The leader of a round has the highest version, so a tree older than ours is a round's message
    // that writes overtook: the sequencer applied them here after the tree was read. Taken, it would
    // lose them (a joining node's own files: ENOENT in pvecm add). Real pmxcfs queues writes while a
    // sync runs, so no write can overtake one.
    if (next.root.version < this.memdb.root.version) {
      this.log(`[dcdb] notice: left out a database older than this one (version = ${next.root.version} < ${this.memdb.root.version})`);
      return;
    }
    this.memdb = next;
    this.updateLocks();
    await this.o.db.replaceAll(rows);
    this.log(`[dcdb] notice: took the leader's database (version = ${next.root.version})`);
    this.o.onChange?.();
  }

  /** Apply an operation here and persist it; a lock made or renewed starts its time (memdb.c). */
  private async applyLocal(s: StampedOp): Promise<void> {
    const change = this.memdb.apply(s);
    if (s.id !== undefined) {
      this.appliedIds.add(s.id);
      if (this.appliedIds.size > APPLIED_IDS_KEPT) this.appliedIds.delete(this.appliedIds.values().next().value as string);
    }
    await this.o.db.write(change);
    const path = s.op.kind === 'mkdir' || s.op.kind === 'mtime' ? s.op.path : undefined;
    const te = path !== undefined && isLockPath(path) ? this.memdb.lookup(path) : undefined;
    if (path !== undefined && te?.type === DT_DIR) this.lockExpired(path, entryCsum(te));
    this.o.onChange?.();
  }

  /**
   * Send to member `id`, or stop waiting once this daemon's view no longer has it (LEFT). Corosync
   * delivers a message to the members of the configuration it ends in; a member cut off meanwhile is
   * not waited for, and takes the database at the sync of its return.
   */
  private async sendWhileMember(send: PeerSend, id: number, msg: PeerMessage, timeoutMs: number): Promise<unknown> {
    let check!: () => void;
    const left = new Promise<typeof LEFT>((resolve) => {
      check = () => {
        if (!this.view.online.includes(id)) resolve(LEFT);
      };
    });
    this.viewListeners.add(check);
    try {
      check();
      const answer = send(id, msg, timeoutMs);
      answer.catch(() => undefined);
      return await Promise.race([answer, left]);
    } finally {
      this.viewListeners.delete(check);
    }
  }

  /** The sequencer: apply here, then on every other member of the group, one operation at a time. */
  private sequenceOp(first: StampedOp): Promise<void> {
    const run = async (): Promise<void> => {
      let s = first;
      // a write resent after its sequencer left: applied already, the sync spreads it
      if (s.id !== undefined && this.appliedIds.has(s.id)) return;
      if (s.op.kind === 'unlock-request') {
        // decided in the order of the writes, as on delivery: an unlock or nothing
        const unlock = this.unlockOf(s.op);
        if (!unlock) return;
        s = { op: unlock, writer: this.view.localId, mtime: this.now() };
      }
      await this.applyLocal(s);
      const version = this.memdb.root.version;
      const send = this.o.send;
      if (!send) return;
      const self = this.view.localId;
      let diverged = false;
      await Promise.all(
        this.group
          .filter((id) => id !== self)
          .map(async (id) => {
            try {
              const a = (await this.sendWhileMember(send, id, { t: 'apply', from: self, op: s, version }, PEER_TIMEOUT_MS * 4)) as { errno?: number } | typeof LEFT;
              if (a === LEFT) return;
              if (a?.errno) throw new Error(`errno ${a.errno}`);
            } catch (e) {
              diverged = true;
              this.log(`[dcdb] crit: node ${id} did not take a write: ${e instanceof Error ? e.message : String(e)}`);
            }
          }),
      );
      // a member that missed a write differs now: a sync round gives it this (newer) database
      if (diverged) setImmediate(() => void this.resync());
    };
    const p = this.sequence.then(run);
    this.sequence = p.catch(() => undefined);
    return p;
  }

  /** A write from this node's /etc/pve; resolves once applied (everywhere), rejects with a MemdbError. */
  async submit(op: CfsOp): Promise<void> {
    const id = `${this.nodeid}:${this.o.pid}:${++this.writeCount}`;
    const s: StampedOp = { op, writer: this.nodeid, mtime: this.now(), id };
    if (this.o.mode === 'local') {
      // without dfsm the daemon grants an unlock request itself (cfs_plug_memdb_utimens)
      if (op.kind === 'unlock-request') {
        const unlock = this.unlockOf(op);
        if (unlock) await this.applyLocal({ ...s, op: unlock });
        return;
      }
      await this.applyLocal(s);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      if (this.syncing) await this.syncing;
      // dfsm queues a write until the sync with every running member is done: one applied on a part of
      // the group could be lost to the other part's database at the next round
      // bounded in time: a member that stays too busy to answer would otherwise hold every write for minutes
      const waitUntil = Date.now() + UNSYNCED_WAIT_MS;
      while (Date.now() < waitUntil && this.view.quorate && this.unsynced.length > 0) {
        await new Promise((r) => setTimeout(r, UNSYNCED_GAP_MS));
        await this.resync();
      }
      if (!this.view.quorate) throw new MemdbError(E.EACCES);
      const seq = Math.min(...this.group);
      if (!Number.isFinite(seq) || seq === this.view.localId || !this.o.send) {
        await this.sequenceOp(s);
        return;
      }
      let answer: { errno?: number } | typeof LEFT;
      try {
        answer = (await this.sendWhileMember(this.o.send, seq, { t: 'submit', from: this.view.localId, op: s }, PEER_TIMEOUT_MS * 8)) as { errno?: number } | typeof LEFT;
      } catch (e) {
        this.log(`[dcdb] crit: sending a write to node ${seq} failed: ${e instanceof Error ? e.message : String(e)}`);
        throw new MemdbError(E.EACCES);
      }
      if (answer === LEFT) {
        // corosync delivers the write in the configuration without the sequencer: here, if the
        // sequencer sent it on before it went (the sync spreads it), else through the next one
        if (this.appliedIds.has(id)) return;
        if (attempt < RESEND_ATTEMPTS) continue;
        throw new MemdbError(E.EACCES);
      }
      if (answer?.errno) throw new MemdbError(answer.errno);
      return;
    }
  }

  /**
   * Does this daemon's view have `from` as a member (and quorum, when `needQuorum`)? Corosync
   * delivers a member's message only in a configuration both share; this daemon polls corosync, so
   * a message can arrive before its own poll saw the new configuration: it reads corosync again for
   * a moment before refusing.
   */
  private async sharesView(from: number, needQuorum: boolean, waitMs = VIEW_CATCH_UP_MS): Promise<boolean> {
    const ok = (): boolean => this.view.online.includes(from) && (!needQuorum || this.view.quorate);
    const until = Date.now() + waitMs;
    for (let i = 0; !ok() && this.o.refreshView && (i === 0 || Date.now() < until); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, VIEW_CATCH_UP_GAP_MS));
      await this.o.refreshView();
    }
    return ok();
  }

  /** Answer a message of another member's daemon. */
  async handle(msg: PeerMessage): Promise<unknown> {
    if (this.o.mode === 'local') throw new Error('local mode');
    switch (msg.t) {
      case 'state':
        // not a member of any group before corosync has told who we are
        if (!this.view.localId) throw new Error('no corosync view yet');
        // a daemon of our view we have not synced with: a new round for everybody (a CPG join)
        if (!this.group.includes(msg.from) && this.view.online.includes(msg.from)) setImmediate(() => void this.resync());
        return { nodeid: this.view.localId, pid: this.o.pid, index: { ...this.memdb.root } } satisfies MemberState;
      case 'dump':
        return { rows: toWire(this.memdb.rows()) };
      case 'replace':
        if (!(await this.sharesView(msg.from, false))) throw new Error('not a member of this partition');
        await this.takeTree(fromWire(msg.rows));
        return { ok: true };
      case 'submit':
        // corosync delivers a write to every member of the configuration the writer sent it in, so the
        // writer's quorate view is ours too as soon as our slower poll sees it: a write is not refused
        // for that lag (refused, a joining node's certificate was never written: its pvecm add exits 0)
        if (!(await this.sharesView(msg.from, true, this.o.writeViewWaitMs ?? WRITE_VIEW_CATCH_UP_MS))) return { errno: E.EACCES };
        // the writer must get its own write back: a member not yet in the group joins it first
        if (!this.group.includes(msg.from)) await this.resync();
        if (!this.group.includes(msg.from)) return { errno: E.EACCES };
        try {
          await this.sequenceOp(msg.op);
          return { ok: true };
        } catch (e) {
          return { errno: e instanceof MemdbError ? e.errno : E.EIO };
        }
      case 'apply':
        if (!(await this.sharesView(msg.from, false, this.o.writeViewWaitMs ?? WRITE_VIEW_CATCH_UP_MS))) return { errno: E.EACCES };
        // dfsm delivers a message that comes during a sync only once the sync is done: applied to the
        // database this node is about to replace (a joining node's fresh one), the write would be lost
        if (!this.group.includes(msg.from)) await this.resync();
        else if (this.syncing) await this.settled();
        // the database the sync brought may hold the write already
        if (msg.version !== undefined && this.memdb.root.version >= msg.version) return { ok: true };
        try {
          await this.applyLocal(msg.op);
          return { ok: true };
        } catch (e) {
          return { errno: e instanceof MemdbError ? e.errno : E.EIO };
        }
    }
  }
}
