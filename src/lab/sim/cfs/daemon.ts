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
import { listenPeers, PEER_PORT, request } from './peer.js';
import { CfsView } from './view.js';

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
}

/** A running daemon. */
export interface CfsDaemon {
  cfs: CfsNode;
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

/** `.members` (status.c cfs_create_memberlist_msg) from the database's nodelist and corosync's view. */
export function membersText(node: NodeIdentity, version: number, conf: ClusterSummary | undefined, online: readonly number[], quorate: boolean): string {
  let s = '{\n';
  if (!conf || conf.nodes.length === 0) return `${s}"nodename": "${node.name}",\n"version": ${version}\n}\n`;
  s += `"nodename": "${node.name}",\n"version": ${version},\n`;
  s += `"cluster": { "name": "${conf.clusterName}", "version": ${conf.configVersion}, "nodes": ${conf.nodes.length}, "quorate": ${quorate ? 1 : 0} },\n`;
  s += '"nodelist": {\n';
  s += conf.nodes
    .map((n) => {
      const ip = node.nodes.find((x) => x.name === n.name)?.address ?? n.links[0];
      return `  "${n.name}": { "id": ${n.nodeid}, "online": ${online.includes(n.nodeid) ? 1 : 0}${ip ? `, "ip": "${ip}"` : ''}}`;
    })
    .join(',\n');
  return `${s}\n  }\n}\n`;
}

/** What one poll of corosync's tools says (exit codes and stdout of `corosync-quorumtool -l` and `-s`). */
export interface CorosyncPoll {
  list: { exitCode: number; stdout: string; timedOut?: boolean };
  /** absent when the list already settled it */
  status?: { exitCode: number; timedOut?: boolean };
}

/**
 * The view a poll gives: real pmxcfs hears membership and quorum from corosync's callbacks, so a
 * tool that was merely slow or failed mid-way (a time-out, quorumtool's own error exit 1 while the
 * list worked) tells nothing new: 'unchanged' keeps the view. No list (corosync not running) or no
 * local node is no view at all; `-s` exits 0 when quorate and 2 when not.
 */
export function viewFromPoll(p: CorosyncPoll): CorosyncView | 'unchanged' | undefined {
  if (p.list.timedOut) return 'unchanged';
  if (p.list.exitCode !== 0) return undefined;
  const m = parseMembershipList(p.list.stdout);
  if (m.localId === undefined) return undefined;
  if (!p.status || p.status.timedOut || (p.status.exitCode !== 0 && p.status.exitCode !== 2)) return 'unchanged';
  return { localId: m.localId, online: [...m.online], quorate: p.status.exitCode === 0 };
}

async function corosyncView(): Promise<CorosyncView | 'unchanged' | undefined> {
  const list = await run(BIN.quorumtool, ['-l'], { timeoutMs: 10_000 });
  const first = viewFromPoll({ list });
  if (first !== 'unchanged') return first;
  if (list.timedOut) return 'unchanged';
  const status = await run(BIN.quorumtool, ['-s'], { timeoutMs: 5_000 });
  return viewFromPoll({ list, status });
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
    refreshView: pollView,
    send: async (nodeid, msg, timeoutMs) => {
      const host = addressOf(nodeid);
      if (!host) throw new Error(`no address for node ${nodeid}`);
      return request(host, PEER_PORT, msg, timeoutMs);
    },
  });
  memdb = cfs.memdb;
  let server: Server | undefined;
  if (mode === 'cluster') {
    server = await listenPeers(o.node.address, PEER_PORT, (msg) => cfs.handle(msg as PeerMessage));
    const v = await corosyncView();
    // a slow first answer: the poll timer asks again
    if (v && v !== 'unchanged') await cfs.setView(v);
    else if (!v) o.log('[quorum] crit: quorum_initialize failed: 2');
  }
  const startTime = now();
  const view = new CfsView({
    get memdb() {
      return cfs.memdb;
    },
    nodename: o.node.name,
    quorate: () => cfs.quorate(),
    submit: (op) => cfs.submit(op),
    members: () => membersText(o.node, cfs.memdb.root.version, confSummary(cfs.memdb), cfs.online(), cfs.quorate()),
    startTime,
  });
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
  let baseDone = cfs.quorate();
  return {
    cfs,
    mode,
    async tick() {
      if (mode !== 'cluster') return;
      await pollView();
      if (!baseDone && cfs.quorate()) {
        await ensureBase();
        baseDone = true;
      }
    },
    corosyncConfText() {
      return cfs.memdb.lookup('corosync.conf')?.data?.toString('utf8');
    },
    async stop() {
      await session.unmount();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      await db.close();
    },
  };
}
