/**
 * A node's pmxcfs daemon on a lab node: config.db loaded into memdb, /etc/pve mounted as a FUSE
 * view of it, and in a cluster the sync with the other members' daemons (node.ts) over the peer
 * channel (peer.ts), driven by the node's real corosync. Nothing here may use synchronous file
 * calls on /etc/pve: this process serves them.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import path from 'node:path';
import { summarize, type ClusterSummary } from '../core/cluster.js';
import { parseConf } from '../core/corosync-conf.js';
import type { NodeIdentity } from '../../layout.js';
import { parseMembershipList } from '../core/cluster.js';
import { BIN, run } from '../core/exec.js';
import { baseEntryOps } from './base.js';
import { ConfigDb, loadRows } from './config-db.js';
import { mountFuse, type FuseSession } from './fuse.js';
import { MemDb, MemdbError, type CfsOp } from './memdb.js';
import { CfsNode, type CorosyncView, type PeerMessage } from './node.js';
import { listenLocal, listenPeers, PEER_PORT, request } from './peer.js';
import { localRrdUpdates, RRD_INTERVAL_S } from './rrd-source.js';
import { CfsStatus, memberlistText, type ClogEntry, type ClusterInfo } from './status.js';
import { CfsView } from './view.js';
import { pmxcfsSocket, type ClusterLogRequest } from '../core/cluster-log.js';
import type { SimPaths } from '../core/paths.js';
import { pveRelease } from '../core/versions.js';
import { readWatchdogTimeout } from '../../watchdog.js';

/** What a daemon is started with. */
export interface CfsDaemonOptions {
  node: NodeIdentity;
  /** /var/lib/pve-cluster/config.db */
  dbFile: string;
  /** /etc/pve */
  mountPoint: string;
  /** /etc/corosync/corosync.conf, imported into a new database (pmxcfs.c, "automatically import") */
  hostCorosyncConf: string;
  forceLocal: boolean;
  log: (line: string) => void;
  /** the node's paths: the local socket, the guests' running state */
  paths: SimPaths;
}

/** A running daemon. */
export interface CfsDaemon {
  cfs: CfsNode;
  status: CfsStatus;
  mode: 'local' | 'cluster';
  /** poll corosync once: membership, quorum; a change runs a sync round */
  tick(): Promise<void>;
  /** the cluster corosync.conf as the database holds it */
  corosyncConfText(): string | undefined;
  stop(): Promise<void>;
}

function confSummary(memdb: MemDb): ClusterSummary | undefined {
  const te = memdb.lookup('corosync.conf');
  if (!te?.data) return undefined;
  try {
    const conf = parseConf(te.data.toString('utf8'));
    return conf ? summarize(conf) : undefined;
  } catch {
    return undefined;
  }
}

/** cmap_read_config's cluster information, from the database's corosync.conf (what corosync runs with). */
export function clusterInfoOf(conf: ClusterSummary | undefined): ClusterInfo | undefined {
  if (!conf) return undefined;
  return { name: conf.clusterName, version: conf.configVersion, nodes: conf.nodes.map((n) => ({ name: n.name, nodeid: n.nodeid, votes: n.quorumVotes })) };
}

/** Messages of the status group between daemons (status.c: kvstore updates, log entries, the log state of a sync). */
export type StatusMessage =
  | { t: 'kv'; from: number; entries: Array<{ key: string; data: string }> }
  | { t: 'log'; from: number; entry: ClogEntry }
  /** the sync of a membership change: the sender's log and address; the answer carries the receiver's */
  | { t: 'clog'; from: number; entries: ClogEntry[]; ip: string };

/** The answer to a 'clog' message. */
interface SyncAnswer {
  entries: ClogEntry[];
  ip: string;
}

function isStatusMessage(m: unknown): m is StatusMessage {
  const t = (m as { t?: unknown } | null)?.t;
  return t === 'kv' || t === 'log' || t === 'clog';
}

/** What one poll of corosync says: exit code and stdout of `corosync-quorumtool -s`. */
export interface CorosyncPoll {
  status: { exitCode: number; stdout: string; stderr?: string; timedOut?: boolean };
}

// init_all's words when a service cannot be reached: corosync is not running (or not yet)
const NO_COROSYNC = /^Cannot initiali[sz]e (CMAP|QUORUM|CFG|VOTEQUORUM) service$/m;

/**
 * The view a poll gives: real pmxcfs hears membership and quorum from corosync's callbacks, so a
 * tool that was merely slow or failed mid-way tells nothing new: 'unchanged' keeps the view.
 * corosync not answering (the tool cannot connect) or no local node is no view at all; `-s` exits
 * 0 when quorate and 2 when not.
 *
 * One `-s` reads three things one after the other (corosync-quorumtool.c show_status): the quorate
 * flag (quorum_getquorate, its exit code), then the members (the quorum tracking callback), then
 * votequorum's own flags (`Flags: ... Quorate`). The two quorum reads agreeing brackets the member
 * list: a membership change between them (a joining node listed alone while the cluster already
 * counts it, or a node cut off after quorum was read) shows as a disagreement, which is no view
 * yet, since real pmxcfs gets members and quorum in one callback. A change takes corosync seconds
 * (its token time-outs), so two within one run of the tool cannot cancel out.
 */
export function viewFromPoll(p: CorosyncPoll): CorosyncView | 'unchanged' | undefined {
  const s = p.status;
  if (s.timedOut) return 'unchanged';
  if (s.exitCode !== 0 && s.exitCode !== 2) return NO_COROSYNC.test(s.stderr ?? '') ? undefined : 'unchanged';
  const at = s.stdout.indexOf('\nMembership information\n');
  if (at < 0) return 'unchanged';
  const m = parseMembershipList(s.stdout.slice(at));
  if (m.localId === undefined) return undefined;
  const quorate = s.exitCode === 0;
  const flags = /^Flags:[ \t]*(.*)$/m.exec(s.stdout.slice(0, at))?.[1];
  if (flags !== undefined && /(^|\s)Quorate(\s|$)/.test(flags) !== quorate) return 'unchanged';
  return { localId: m.localId, online: [...m.online], quorate };
}

/** Ask the node's corosync once: one tool start, one set of IPC connections (each costs corosync tens of ms). */
async function corosyncView(): Promise<CorosyncView | 'unchanged' | undefined> {
  return viewFromPoll({ status: await run(BIN.quorumtool, ['-s'], { timeoutMs: 10_000 }) });
}

/** Open the database, start the sync and mount /etc/pve. */
export async function startCfsDaemon(o: CfsDaemonOptions): Promise<CfsDaemon> {
  mkdirSync(path.dirname(o.dbFile), { recursive: true, mode: 0o755 });
  const create = !existsSync(o.dbFile);
  const rows = await loadRows(o.dbFile);
  const db = await ConfigDb.open(o.dbFile);
  let memdb = MemDb.fromRows(rows);
  const now = (): number => Math.floor(Date.now() / 1000);
  if (create && !o.forceLocal && existsSync(o.hostCorosyncConf)) {
    const data = readFileSync(o.hostCorosyncConf);
    for (const op of [{ kind: 'create', path: 'corosync.conf' }, { kind: 'write', path: 'corosync.conf', offset: 0, data: data.toString('base64') }] as CfsOp[]) {
      await db.write(memdb.apply({ op, writer: 0, mtime: now() }));
    }
  }
  const hasConf = memdb.lookup('corosync.conf') !== undefined;
  const mode = o.forceLocal || !hasConf ? 'local' : 'cluster';
  if (o.forceLocal && hasConf) o.log('[main] notice: forcing local mode (although corosync.conf exists)');
  const addressOf = (nodeid: number): string | undefined => {
    const n = confSummary(cfs.memdb)?.nodes.find((x) => x.nodeid === nodeid);
    if (!n) return undefined;
    return o.node.nodes.find((x) => x.name === n.name)?.address ?? n.links[0];
  };
  // one corosync poll at a time: the daemon's timer and a peer's message that needs a fresh view
  let polling: Promise<void> | undefined;
  const pollView = (): Promise<void> => {
    polling ??= (async () => {
      try {
        const v = await corosyncView();
        if (v !== 'unchanged') await cfs.setView(v ?? { localId: cfs.nodeid, online: [], quorate: false });
      } finally {
        polling = undefined;
      }
    })();
    return polling;
  };
  const cfs: CfsNode = new CfsNode({
    memdb,
    db,
    mode,
    pid: process.pid,
    log: o.log,
    // CFS_LOCK_TIMEOUT: 120 s against the real 60 s watchdog; the lab scales both
    lockTimeoutS: 2 * readWatchdogTimeout(o.paths.labRoot),
    refreshView: pollView,
    send: async (nodeid, msg, timeoutMs) => {
      const host = addressOf(nodeid);
      if (!host) throw new Error(`no address for node ${nodeid}`);
      return request(host, PEER_PORT, msg, timeoutMs);
    },
  });
  memdb = cfs.memdb;
  const status = new CfsStatus(o.node.name, process.pid, now());
  const nameOf = (nodeid: number): string | undefined => confSummary(cfs.memdb)?.nodes.find((x) => x.nodeid === nodeid)?.name;
  /** dfsm_send_message of the status group: to every other member this node's corosync sees, no answer awaited */
  const broadcast = (msg: StatusMessage): void => {
    if (mode !== 'cluster') return;
    for (const id of cfs.online()) {
      const host = id === cfs.nodeid ? undefined : addressOf(id);
      if (host) request(host, PEER_PORT, msg, 3000).catch(() => undefined);
    }
  };
  // dfsm_deliver of the status group; a member's message only arrives while the network lets it through
  const onStatus = (m: StatusMessage): unknown => {
    const from = nameOf(m.from);
    if (!from) return { ok: false };
    if (m.t === 'kv') {
      for (const e of m.entries) if (e.key.startsWith('rrd/')) status.setRrd(e.key.slice(4), e.data, now());
      return { ok: true };
    }
    if (m.t === 'log') {
      status.insert(m.entry);
      return { ok: true };
    }
    status.merge([m.entries]);
    status.setNodeIp(from, m.ip);
    return { entries: status.logEntries(), ip: o.node.address } satisfies SyncAnswer;
  };
  /** cmap_read_config and the status group's confchg and sync, as this daemon's last corosync view has them */
  const statusRound = (): void => {
    if (mode !== 'cluster' || cfs.nodeid === 0) return;
    const info = clusterInfoOf(confSummary(cfs.memdb));
    if (info) status.setClusterInfo(info);
    if (!status.confchg(cfs.online())) return;
    // after a membership change the members merge their logs (dfsm_process_state_update), then each
    // announces its address (dfsm_synced): both ways, so a daemon that restarted gets the others' too
    status.setNodeIp(o.node.name, o.node.address);
    const self = cfs.nodeid;
    for (const id of cfs.online()) {
      const host = id === self ? undefined : addressOf(id);
      const name = nameOf(id);
      if (!host || !name) continue;
      const msg: StatusMessage = { t: 'clog', from: self, entries: status.logEntries(), ip: o.node.address };
      request<SyncAnswer>(host, PEER_PORT, msg, 5000).then(
        (a) => {
          if (Array.isArray(a?.entries)) status.merge([a.entries]);
          if (typeof a?.ip === 'string') status.setNodeIp(name, a.ip);
        },
        () => undefined,
      );
    }
  };
  let server: Server | undefined;
  if (mode === 'cluster') {
    server = await listenPeers(o.node.address, PEER_PORT, async (msg) => (isStatusMessage(msg) ? onStatus(msg) : cfs.handle(msg as PeerMessage)));
    const v = await corosyncView();
    // a slow first answer: the poll timer asks again
    if (v && v !== 'unchanged') await cfs.setView(v);
    else if (!v) o.log('[quorum] crit: quorum_initialize failed: 2');
    statusRound();
  }
  // CFS_IPC_LOG_CLUSTER_MSG from the node's own processes (PVE::Cluster::log_msg)
  let ipc: Server | undefined;
  try {
    ipc = await listenLocal(pmxcfsSocket(o.paths), async (msg) => {
      const r = msg as Partial<ClusterLogRequest>;
      if (r?.t !== 'log' || typeof r.msg !== 'string' || typeof r.pri !== 'number' || r.pri < 0 || r.pri > 7) return { errno: 22 };
      const entry = status.logAdd(String(r.user ?? ''), String(r.tag ?? ''), Number(r.pid ?? 0), r.pri, r.msg, now());
      broadcast({ t: 'log', from: cfs.nodeid, entry });
      return { ok: true };
    });
  } catch (e) {
    // the file system must come up without it: clients then lose their log messages only
    o.log(`[ipcs] crit: local socket failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  // pvestatd's broadcast_rrd every RRD_INTERVAL_S; stored here in local mode too (cfs_status_set)
  const major = pveRelease(o.node.pveVersion).major;
  const rrdRound = (): void => {
    try {
      const t = now();
      const updates = localRrdUpdates(cfs.memdb, o.paths, o.node.name, major, t);
      for (const u of updates) status.setRrd(u.key, u.data, t);
      broadcast({ t: 'kv', from: cfs.nodeid, entries: updates.map((u) => ({ key: `rrd/${u.key}`, data: u.data })) });
    } catch (e) {
      o.log(`[status] crit: rrd update failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const rrdTimer = setInterval(rrdRound, RRD_INTERVAL_S * 1000);
  rrdTimer.unref();
  const startTime = now();
  const view = new CfsView({
    get memdb() {
      return cfs.memdb;
    },
    nodename: o.node.name,
    quorate: () => cfs.quorate(),
    submit: (op) => cfs.submit(op),
    members: () => memberlistText(o.node.name, status.memberlistVersion, mode === 'cluster' && status.hasNodes() ? clusterInfoOf(confSummary(cfs.memdb)) : undefined, cfs.online(), cfs.quorate(), (n) => status.nodeIp(n)),
    rrd: () => status.rrdDump(now()),
    clusterlog: () => status.clusterlogDump(),
    startTime,
    clinfoVersion: () => status.memberlistVersion,
  });
  // pveproxy.service's ExecStartPre=-pvecm updatecerts --silent makes a node's missing files when the
  // node starts; the real one waits up to 80 s for quorum. The lab does it once, at start, only with
  // quorum: a node that gets quorum later has its files made by whatever runs updatecerts then
  // (pvecm add, or the user), the harder case of the two. Doing it here later would race that writer.
  const ensureBase = async (): Promise<void> => {
    if (!cfs.quorate()) return;
    for (const op of await baseEntryOps(cfs.memdb, o.node)) {
      try {
        await cfs.submit(op);
      } catch (e) {
        if (!(e instanceof MemdbError)) throw e;
      }
    }
  };
  await ensureBase();
  mkdirSync(o.mountPoint, { recursive: true });
  const session: FuseSession = await mountFuse(o.mountPoint, view, {
    fsName: '/dev/fuse',
    subtype: 'pmxcfs',
    onError: (e) => o.log(`[fuse] crit: ${e instanceof Error ? e.message : String(e)}`),
  });
  rrdRound();
  return {
    cfs,
    status,
    mode,
    async tick() {
      if (mode !== 'cluster') return;
      await pollView();
      statusRound();
    },
    corosyncConfText() {
      return cfs.memdb.lookup('corosync.conf')?.data?.toString('utf8');
    },
    async stop() {
      clearInterval(rrdTimer);
      await new Promise<void>((r) => (ipc ? ipc.close(() => r()) : r()));
      await session.unmount();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      await db.close();
    },
  };
}
