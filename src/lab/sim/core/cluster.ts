/** Cluster facts: corosync.conf from /etc/pve, membership from the real corosync, guests from /etc/pve. */
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { parseCorosyncConf, summarizeCorosyncConf, type CorosyncConf, type CorosyncSummary } from '../../../pve/parse/corosync-conf.js';
import type { SimContext } from '../types.js';
import { Die } from './errors.js';
import { BIN, run } from './exec.js';
import type { SimPaths } from './paths.js';
import { listDir, readText } from './pvefs.js';

/** /etc/pve/corosync.conf, parsed; undefined on a standalone node. */
export interface ClusterConf {
  text: string;
  conf: CorosyncConf;
  summary: CorosyncSummary;
}

/** Read and parse /etc/pve/corosync.conf (or another copy). */
export function readClusterConf(file: string): ClusterConf | undefined {
  const text = readText(file);
  if (text === undefined || text.trim() === '') return undefined;
  const conf = parseCorosyncConf(text);
  return { text, conf, summary: summarizeCorosyncConf(conf) };
}

/** The cluster configuration as pmxcfs serves it. */
export function pveClusterConf(paths: SimPaths): ClusterConf | undefined {
  return readClusterConf(path.join(paths.etcPve, 'corosync.conf'));
}

/** Current membership of this node's corosync partition (corosync-quorumtool -l). */
export interface Membership {
  localId?: number;
  online: Set<number>;
}

/** Parse the rows of `corosync-quorumtool -l`. */
export function parseMembershipList(text: string): Membership {
  const m: Membership = { online: new Set() };
  for (const line of text.split('\n')) {
    const r = /^\s*(\d+|0x[0-9a-fA-F]+)\s+(\d+)\s+(\S+)(\s+\(local\))?/.exec(line);
    if (!r) continue;
    const id = Number(r[1]);
    if (id === 0) continue;
    m.online.add(id);
    if (r[4]) m.localId = id;
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

/** PVE::Cluster::remote_node_ip: the corosync address of a member, else name resolution. */
export async function remoteNodeIp(paths: SimPaths, name: string, noerr = false): Promise<string | undefined> {
  const cc = pveClusterConf(paths);
  const n = cc?.summary.nodes.find((x) => x.name === name);
  const link0 = n?.links[0];
  if (link0) return link0;
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

/** Which nodes are online: members of the local corosync partition (standalone: this node). */
export async function onlineNodes(ctx: SimContext, paths: SimPaths): Promise<Set<string>> {
  const cc = pveClusterConf(paths);
  if (!cc) return new Set([ctx.node.name]);
  const m = await corosyncMembership();
  const out = new Set<string>();
  if (!m) return out;
  for (const n of cc.summary.nodes) if (m.online.has(n.nodeid)) out.add(n.name);
  return out;
}
