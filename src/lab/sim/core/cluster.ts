/** Cluster facts: corosync.conf from /etc/pve, membership and nodelist from the real corosync, guests from /etc/pve. */
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import type { SimContext } from '../types.js';
import { block, nodelist, parseConf, scalar, totem, type PveCorosyncConf } from './corosync-conf.js';
import { Die } from './errors.js';
import { BIN, run } from './exec.js';
import type { SimPaths } from './paths.js';
import { listDir, readText } from './pvefs.js';

/** A node of a corosync.conf, numbers converted (missing numbers are 0, votes default to 1 as in corosync). */
export interface ClusterNode {
  name: string;
  nodeid: number;
  quorumVotes: number;
  /** link number -> address, from `ringN_addr`/`linkN_addr` */
  links: Record<number, string>;
}

/** What the simulated tools need from a corosync.conf. */
export interface ClusterSummary {
  clusterName: string;
  configVersion: number;
  nodes: ClusterNode[];
}

/** A corosync.conf, parsed as PVE::Corosync::parse_conf does; undefined on a standalone node. */
export interface ClusterConf {
  text: string;
  conf: PveCorosyncConf;
  summary: ClusterSummary;
}

/** The numbers of a parsed corosync.conf; nodes in key (name) order. */
export function summarize(conf: PveCorosyncConf): ClusterSummary {
  const t = totem(conf);
  const nodes = Object.entries(nodelist(conf))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, n]): ClusterNode => {
      const links: Record<number, string> = {};
      for (const [k, v] of Object.entries(n)) {
        const m = /^(?:ring|link)(\d+)_addr$/.exec(k);
        if (m && typeof v === 'string') links[Number(m[1])] = v;
      }
      return { name, nodeid: Number(scalar(n, 'nodeid') ?? 0), quorumVotes: Number(scalar(n, 'quorum_votes') ?? 1), links };
    });
  return { clusterName: scalar(t, 'cluster_name') ?? '', configVersion: Number(scalar(t, 'config_version') ?? 0), nodes };
}

/** Read and parse /etc/pve/corosync.conf (or another copy); undefined when absent or empty. */
export function readClusterConf(file: string): ClusterConf | undefined {
  const text = readText(file);
  if (text === undefined || text.trim() === '') return undefined;
  const conf = parseConf(text);
  if (!conf) return undefined;
  return { text, conf, summary: summarize(conf) };
}

/** The cluster configuration as pmxcfs serves it (cfs_read_file('corosync.conf')). */
export function pveClusterConf(paths: SimPaths): ClusterConf | undefined {
  return readClusterConf(path.join(paths.etcPve, 'corosync.conf'));
}

/** The quorum device block of a configuration (`quorum { device { … } }`), if any. */
export function quorumDevice(cc: ClusterConf): unknown {
  return block(cc.conf, 'quorum')?.['device'];
}

/**
 * pmxcfs's cluster info (confdb.c cmap_read_config): cluster name, config version and the nodes
 * corosync runs with, as its cmap holds them.
 */
export interface CorosyncClinfo {
  clusterName: string;
  configVersion: number;
  nodes: Array<{ name: string; nodeid: number; votes: number }>;
}

/**
 * Parse `corosync-cmapctl` lines (`key (type) = value`, tools/corosync-cmapctl.c print_key) the way
 * confdb.c reads the keys: a node counts once it has a name (`name`, else `ring0_addr`) and a nodeid.
 */
export function parseCmapClinfo(text: string): CorosyncClinfo | undefined {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\S+) \([a-z0-9]+\) = (.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) values.set(m[1], m[2]);
  }
  const clusterName = values.get('totem.cluster_name');
  // cmap_read_config gives up without a cluster name; config_version is optional
  if (clusterName === undefined) return undefined;
  const byId = new Map<number, { name?: string; ring0?: string; nodeid: number; votes: number }>();
  for (const [k, v] of values) {
    const m = /^nodelist\.node\.(\d+)\.(.+)$/.exec(k);
    if (!m) continue;
    const idx = Number(m[1]);
    const e = byId.get(idx) ?? { nodeid: 0, votes: 0 };
    byId.set(idx, e);
    if (m[2] === 'nodeid') e.nodeid = Number(v);
    else if (m[2] === 'quorum_votes') e.votes = Number(v);
    else if (m[2] === 'name') e.name = v;
    else if (m[2] === 'ring0_addr') e.ring0 = v;
  }
  const nodes: CorosyncClinfo['nodes'] = [];
  for (const idx of [...byId.keys()].sort((a, b) => a - b)) {
    const e = byId.get(idx);
    const name = e?.name ?? e?.ring0;
    if (e && name && e.nodeid) nodes.push({ name, nodeid: e.nodeid, votes: e.votes });
  }
  return { clusterName, configVersion: Number(values.get('totem.config_version') ?? 0), nodes };
}

/** The cluster info from the running corosync; undefined when it does not answer or runs no cluster. */
export async function corosyncClinfo(): Promise<CorosyncClinfo | undefined> {
  const r = await run(BIN.cmapctl, ['nodelist.node.', 'totem.cluster_name', 'totem.config_version'], { timeoutMs: 10_000 });
  if (r.exitCode !== 0) return undefined;
  return parseCmapClinfo(r.stdout);
}

/** Current membership of this node's corosync partition (corosync-quorumtool -l). */
export interface Membership {
  localId?: number;
  online: Set<number>;
}

/** Parse the membership rows of `corosync-quorumtool -l` (or the membership section of `-s`). */
export function parseMembershipList(text: string): Membership {
  const m: Membership = { online: new Set() };
  for (const line of text.split('\n')) {
    // with a QDevice a flags column (A,V,NMW) comes before the name, and the device's own row has id 0
    const r = /^\s*(\d+|0x[0-9a-fA-F]+)\s+(\d+)\s+(\S.*?)\s*$/.exec(line);
    if (!r) continue;
    const id = Number(r[1]);
    if (id === 0) continue;
    m.online.add(id);
    if (/\s\(local\)$/.test(r[3] ?? '')) m.localId = id;
  }
  return m;
}

/** Membership from the real corosync; undefined when corosync does not answer. */
export async function corosyncMembership(): Promise<Membership | undefined> {
  const r = await run(BIN.quorumtool, ['-l'], { timeoutMs: 10_000 });
  if (r.exitCode !== 0) return undefined;
  return parseMembershipList(r.stdout);
}

/** Is the local corosync quorate (corosync-quorumtool -s exit code)? */
export async function corosyncQuorate(): Promise<boolean> {
  const r = await run(BIN.quorumtool, ['-s'], { timeoutMs: 10_000 });
  return r.exitCode === 0;
}

/** Addresses of `name` in a hosts(5) file. */
export function hostsLookup(text: string, name: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.replace(/#.*/, '').trim().split(/\s+/);
    if (f.length > 1 && f.slice(1).includes(name) && f[0]) out.push(f[0]);
  }
  return out;
}

async function resolveAll(paths: SimPaths, name: string): Promise<Array<{ address: string }>> {
  // under a test root the root's etc/hosts stands for the node's resolver
  if (paths.root) {
    const hits = hostsLookup(readText(path.join(paths.root, 'etc', 'hosts')) ?? '', name);
    if (hits.length === 0) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return hits.map((address) => ({ address }));
  }
  return lookup(name, { all: true, verbatim: true });
}

/** PVE::Network::get_ip_from_hostname: first address that is not loopback. */
export async function ipFromHostname(paths: SimPaths, name: string, noerr = false): Promise<string | undefined> {
  let addrs: Array<{ address: string }>;
  try {
    addrs = await resolveAll(paths, name);
  } catch (e) {
    if (noerr) return undefined;
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
    const reason = code === 'ENOTFOUND' ? 'Name or service not known' : code === 'EAI_AGAIN' ? 'Temporary failure in name resolution' : code;
    throw new Die(`hostname lookup '${name}' failed - ${reason}\n`);
  }
  const hit = addrs.find((a) => !/^127\.|^::1$/.test(a.address));
  if (!hit) {
    if (noerr) return undefined;
    throw new Die(`address lookup for '${name}' did not find any IP address\n`);
  }
  return hit.address;
}

/**
 * PVE::Cluster::remote_node_ip: the address pmxcfs knows for a member (its `nodeip`, which that node
 * resolved from its own name, status.c), else get_ip_from_hostname. Every lab node resolves every
 * node's name alike, so this node's lookup stands for both.
 */
export async function remoteNodeIp(paths: SimPaths, name: string, noerr = false): Promise<string | undefined> {
  return ipFromHostname(paths, name, noerr);
}

/** Addresses configured on this node's interfaces. */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(a.address);
  return out;
}

/** A guest known to pmxcfs (the vmlist). */
export interface VmEntry {
  vmid: number;
  node: string;
  type: 'qemu' | 'lxc';
}

/** PVE::Cluster::get_vmlist: every guest config under /etc/pve/nodes. */
export function vmlist(paths: SimPaths): Map<number, VmEntry> {
  const out = new Map<number, VmEntry>();
  const nodesDir = path.join(paths.etcPve, 'nodes');
  for (const node of listDir(nodesDir)) {
    for (const [sub, type] of [['qemu-server', 'qemu'], ['lxc', 'lxc']] as const) {
      for (const f of listDir(path.join(nodesDir, node, sub))) {
        const m = /^(\d+)\.conf$/.exec(f);
        if (m) out.set(Number(m[1]), { vmid: Number(m[1]), node, type });
      }
    }
  }
  return out;
}

/** Names of the cluster's nodes (corosync nodelist), or just this node when standalone. */
export function clusterNodeNames(ctx: SimContext, paths: SimPaths): string[] {
  const cc = pveClusterConf(paths);
  if (!cc) return [ctx.node.name];
  return cc.summary.nodes.map((n) => n.name).sort();
}

/** check_node_exists: a node of the corosync nodelist (standalone: only itself). */
export function checkNodeExists(ctx: SimContext, paths: SimPaths, name: string): void {
  if (!clusterNodeNames(ctx, paths).includes(name)) throw new Die(`no such cluster node '${name}'\n`);
}

/** A node as pmxcfs lists it (get_members): corosync's nodelist entry and whether it is in this partition. */
export interface Member {
  name: string;
  nodeid: number;
  online: boolean;
}

/** pmxcfs's cluster info: name, config version and members. */
export interface Members {
  clusterName: string;
  configVersion: number;
  nodes: Member[];
}

function clinfoOfConf(cc: ClusterConf): CorosyncClinfo {
  const { clusterName, configVersion, nodes } = cc.summary;
  return { clusterName, configVersion, nodes: nodes.map((n) => ({ name: n.name, nodeid: n.nodeid, votes: n.quorumVotes })) };
}

/**
 * The members pmxcfs reports, from the running corosync's cmap; while corosync does not answer,
 * from /etc/corosync/corosync.conf (what it last ran with: pmxcfs keeps its last cluster info).
 * Without corosync's membership only this node counts as online. Undefined on a standalone node.
 */
export async function clusterMembers(ctx: SimContext, paths: SimPaths): Promise<Members | undefined> {
  const cc = pveClusterConf(paths);
  if (!cc) return undefined;
  const info = (await corosyncClinfo()) ?? clinfoOfConf(readClusterConf(paths.corosyncConf) ?? cc);
  const m = await corosyncMembership();
  const nodes = info.nodes.map((n) => ({ name: n.name, nodeid: n.nodeid, online: m ? m.online.has(n.nodeid) : n.name === ctx.node.name }));
  return { clusterName: info.clusterName, configVersion: info.configVersion, nodes };
}

/** Which nodes are online: members of the local corosync partition (standalone: this node). */
export async function onlineNodes(ctx: SimContext, paths: SimPaths): Promise<Set<string>> {
  const cc = pveClusterConf(paths);
  if (!cc) return new Set([ctx.node.name]);
  const m = await corosyncMembership();
  const out = new Set<string>();
  if (!m) return out;
  const info = (await corosyncClinfo()) ?? clinfoOfConf(cc);
  for (const n of info.nodes) if (m.online.has(n.nodeid)) out.add(n.name);
  return out;
}
