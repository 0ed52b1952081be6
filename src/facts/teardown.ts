/** The reads of `cluster teardown`: each node's own corosync.conf and guest files, and the cluster's guests, HA and shared storage. */
import { UnreachableError } from '../errors.js';
import { CLUSTER_PATHS, pveshGet } from '../pve/argv.js';
import { parseCorosyncConf, summarizeCorosyncConf } from '../pve/parse/corosync-conf.js';
import { ParseError } from '../pve/parse/errors.js';
import { parseClusterResources, type GuestResource } from '../pve/parse/pvesh-resources.js';
import { parseHaStatusCurrent, type HaServiceDetail } from '../pve/parse/pvesh-ha-status.js';
import type { Transport } from '../transport/types.js';
import { guestFilesArgv, parseGuestFiles, type GuestFile } from './guest-files.js';
import type { CorosyncQdevice } from '../pve/parse/corosync-conf.js';
import type { Membership } from './node.js';
import { lastLine } from '../pve/parse/text.js';

/** A node's cluster configuration as its own /etc/corosync/corosync.conf says. */
export interface LocalConf {
  cluster: string;
  configVersion: number;
  nodes: Array<{ name: string; votes: number }>;
  /** the quorum device it configures */
  qdevice?: CorosyncQdevice;
}

/** What pvx read of one inventory node. */
export interface NodeReading {
  node: string;
  membership: Membership;
  /** /etc/corosync/corosync.conf, when the node has one */
  conf?: LocalConf;
}

/** HA as the cluster reports it. */
export type HaFacts = { services: HaServiceDetail[]; activeLrms: string[] } | { problem: string };

/** A storage every node shares. */
export interface SharedStorage {
  storage: string;
  plugintype: string;
  nodes: string[];
}

/** A read that failed: the node could not be reached, or its answer could not be read. */
export interface ReadProblem {
  node: string;
  what: string;
  unreachable: boolean;
  message: string;
}

function problemOf(node: string, what: string, e: unknown): ReadProblem {
  return { node, what, unreachable: e instanceof UnreachableError, message: e instanceof Error ? e.message : String(e) };
}

const READ_TIMEOUT_MS = 60_000;


// GNU find's words for an absent /etc/pve/nodes: pmxcfs is not mounted there (every pmxcfs has the folder)
const NOT_MOUNTED = /^find: '\/etc\/pve\/nodes': No such file or directory$/m;

/** A node's own /etc/corosync/corosync.conf, when it has a readable one. */
export async function readLocalConf(t: Transport, node: string, unread: ReadProblem[]): Promise<LocalConf | undefined> {
  try {
    const r = await t.exec(node, ['cat', CLUSTER_PATHS.corosyncConf], { timeoutMs: READ_TIMEOUT_MS, title: 'read corosync.conf' });
    if (r.exitCode !== 0 || r.stdout.trim() === '') return undefined;
    const s = summarizeCorosyncConf(parseCorosyncConf(r.stdout));
    return { cluster: s.clusterName, configVersion: s.configVersion, nodes: s.nodes.map((n) => ({ name: n.name, votes: n.quorumVotes })), ...(s.qdevice ? { qdevice: s.qdevice } : {}) };
  } catch (e) {
    if (e instanceof UnreachableError || e instanceof ParseError) {
      unread.push(problemOf(node, 'its /etc/corosync/corosync.conf', e));
      return undefined;
    }
    throw e;
  }
}

/** The guest files a node's /etc/pve holds; `unmounted` when pmxcfs is not mounted there; undefined (and a problem in `unread`) when unreadable. */
export async function readGuestFiles(t: Transport, node: string, unread: ReadProblem[]): Promise<Map<string, GuestFile[]> | 'unmounted' | undefined> {
  try {
    const r = await t.exec(node, guestFilesArgv(), { timeoutMs: READ_TIMEOUT_MS, title: 'list the guest configurations' });
    if (r.exitCode === 0) return parseGuestFiles(r.stdout);
    if (r.stdout.trim() === '' && NOT_MOUNTED.test(r.stderr)) return 'unmounted';
    unread.push({ node, what: 'its guest configurations', unreachable: false, message: lastLine(r.stderr) ?? `exit code ${r.exitCode}` });
    return undefined;
  } catch (e) {
    if (e instanceof UnreachableError || e instanceof ParseError) {
      unread.push(problemOf(node, 'its guest configurations', e));
      return undefined;
    }
    throw e;
  }
}

export async function readHa(t: Transport, node: string): Promise<HaFacts> {
  try {
    const r = await t.exec(node, pveshGet('/cluster/ha/status/current'), { timeoutMs: READ_TIMEOUT_MS, title: 'read the HA status' });
    if (r.exitCode !== 0) return { problem: lastLine(r.stderr) ?? `exit code ${r.exitCode}` };
    const s = parseHaStatusCurrent(r.stdout);
    return { services: s.services, activeLrms: s.lrms.filter((l) => l.state === 'active').map((l) => l.node) };
  } catch (e) {
    if (e instanceof UnreachableError || e instanceof ParseError) return { problem: e.message };
    throw e;
  }
}

export async function readResources(t: Transport, node: string, unread: ReadProblem[]): Promise<{ guests: GuestResource[]; shared: SharedStorage[] } | undefined> {
  try {
    const r = await t.exec(node, pveshGet('/cluster/resources'), { timeoutMs: READ_TIMEOUT_MS, title: 'read the cluster resources' });
    if (r.exitCode !== 0) {
      unread.push({ node, what: 'the cluster resources', unreachable: false, message: lastLine(r.stderr) ?? `exit code ${r.exitCode}` });
      return undefined;
    }
    const res = parseClusterResources(r.stdout);
    const shared = new Map<string, SharedStorage>();
    for (const s of res.storages.filter((x) => x.shared)) {
      const e = shared.get(s.storage) ?? { storage: s.storage, plugintype: s.plugintype, nodes: [] };
      e.nodes.push(s.node);
      shared.set(s.storage, e);
    }
    return { guests: res.guests, shared: [...shared.values()] };
  } catch (e) {
    if (e instanceof UnreachableError || e instanceof ParseError) {
      unread.push(problemOf(node, 'the cluster resources', e));
      return undefined;
    }
    throw e;
  }
}
