/**
 * Who is what in a teardown: which cluster, which member stays last, which nodes are separated,
 * which only leave the membership (down, or separated already), and what makes pvx refuse.
 */
import { describeMembership, type Membership } from '../../facts/node.js';

/** What pvx read of each node, as the decision takes it. */
export type { LocalConf, NodeReading } from '../../facts/teardown.js';
import type { LocalConf, NodeReading } from '../../facts/teardown.js';

/** A node's part in the teardown. */
export type TeardownRole =
  /** reachable with cluster state on it: separated step by step */
  | 'separate'
  /** the member that runs delnode for the others, separated last */
  | 'last'
  /** configured but down or unreachable: only removed from the membership */
  | 'down'
  /** configured but already standalone: only removed from the membership */
  | 'separated';

/** One node of the teardown, for the overview and the result. */
export interface TeardownNode {
  name: string;
  role: TeardownRole;
  inInventory: boolean;
  /** listed in the cluster configuration */
  configured: boolean;
  /** in the partition of the member pvx reads the cluster from */
  online: boolean;
  /** its state in words */
  detail: string;
}

/** The facts the plan is built from. */
export interface TeardownInput {
  cluster: string;
  /** the node separated last; runs delnode and expected while corosync runs on it */
  last: string;
  /** nodes separated before the last one, in order, and whether the cluster still lists them */
  others: Array<{ node: string; configured: boolean }>;
  /** nodes that only leave the membership, in order */
  removeOnly: string[];
  /** the running cluster as the last node sees it; absent when no corosync runs anywhere pvx can read */
  quorum?: { configured: Array<{ name: string; votes: number }>; online: string[]; expectedVotes: number };
  /** a QDevice the cluster has: removed first (`pvecm qdevice remove` on the last node), as pvecm.adoc asks */
  qdevice?: { host?: string };
  nodes: TeardownNode[];
}

/** The decision. */
export type TeardownDecision =
  | { kind: 'nothing'; standalone: string[] }
  | { kind: 'refused'; reason: 'several-clusters' | 'unreachable-online' | 'unknown-online' | 'unreachable' | 'unreadable' | 'qdevice'; problems: string[]; nodes: string[]; hint?: string }
  | { kind: 'plan'; input: TeardownInput };

type Member = Extract<Membership, { kind: 'member' }>;

function clusterOf(r: NodeReading): string | undefined {
  if (r.membership.kind === 'member') return r.membership.cluster;
  if (r.membership.kind === 'unreachable') return undefined;
  // standalone to pmxcfs with its /etc/corosync/corosync.conf still there: a separation stopped part-way
  return r.conf?.cluster;
}

/** The member that speaks for the cluster: quorate first, then the largest partition, then inventory order. */
export function pickAuthority(readings: readonly NodeReading[], cluster: string): Member | undefined {
  const members = readings.map((r) => r.membership).filter((m): m is Member => m.kind === 'member' && m.cluster === cluster);
  return [...members].sort((a, b) => Number(b.quorate) - Number(a.quorate) || b.partitionSize - a.partitionSize)[0];
}

/**
 * Nodes whose cluster pvx could not learn: unreachable, or answering what it could not read, with no
 * corosync.conf of their own to go by. Any of them may be a member, so "nothing to tear down" or
 * "that is every member" cannot be said while one is left.
 */
function unknownNodes(readings: readonly NodeReading[]): TeardownDecision | undefined {
  const unknown = readings.filter((r) => (r.membership.kind === 'unreachable' || r.membership.kind === 'error') && clusterOf(r) === undefined);
  if (unknown.length === 0) return undefined;
  const unreachable = unknown.every((r) => r.membership.kind === 'unreachable');
  return {
    kind: 'refused',
    reason: unreachable ? 'unreachable' : 'unreadable',
    problems: unknown.map((r) => `the cluster state of ${r.node} could not be ${r.membership.kind === 'unreachable' ? 'read: it cannot be reached over SSH' : 'read'} (${'message' in r.membership ? r.membership.message : '?'})`),
    nodes: unknown.map((r) => r.node),
  };
}

/** Decide the teardown from what every inventory node said (in inventory order). */
export function decideTeardown(readings: readonly NodeReading[]): TeardownDecision {
  const clusters = [...new Set(readings.map(clusterOf).filter((c): c is string => c !== undefined))];
  if (clusters.length === 0) return unknownNodes(readings) ?? { kind: 'nothing', standalone: readings.filter((r) => r.membership.kind === 'standalone').map((r) => r.node) };
  if (clusters.length > 1) {
    const problems = clusters.map((c) => `'${c}': ${readings.filter((r) => clusterOf(r) === c).map((r) => r.node).join(', ')}`);
    return { kind: 'refused', reason: 'several-clusters', problems: [`the inventory holds nodes of ${clusters.length} clusters (${problems.join('; ')})`], nodes: [] };
  }
  const cluster = clusters[0] as string;
  const byName = new Map(readings.map((r) => [r.node, r]));
  const authority = pickAuthority(readings, cluster);
  const authorityConf = authority ? byName.get(authority.node)?.conf : undefined;
  // the configured members: the running cluster's list, else what the nodes' own files say
  const configuredNames = authority
    ? authority.configured
    : [...new Set(readings.flatMap((r) => (r.conf?.cluster === cluster ? r.conf.nodes.map((n) => n.name) : [])))].sort();
  const votes = new Map((authorityConf?.cluster === cluster ? authorityConf.nodes : []).map((n) => [n.name, n.votes]));
  const online = new Set(authority?.online ?? []);

  const problems: string[] = [];
  const blocking: string[] = [];
  let unreachableOnline = false;
  let unreadable = 0;
  const nodes: TeardownNode[] = [];
  const separate: string[] = [];
  const removeOnly: string[] = [];
  const order = [...readings.map((r) => r.node), ...configuredNames.filter((n) => !byName.has(n))];
  for (const name of order) {
    const r = byName.get(name);
    const configured = configuredNames.includes(name);
    const isOnline = online.has(name);
    if (!r) {
      if (isOnline) {
        problems.push(`${name} is an online member of '${cluster}' but not in the inventory: add it, so that it is separated too`);
        blocking.push(name);
        continue;
      }
      removeOnly.push(name);
      nodes.push({ name, role: 'down', inInventory: false, configured, online: false, detail: 'not in the inventory and offline' });
      continue;
    }
    const m = r.membership;
    const ours = clusterOf(r) === cluster;
    if (m.kind === 'unreachable') {
      if (!configured) continue;
      if (isOnline) {
        unreachableOnline = true;
        blocking.push(name);
        problems.push(`${name} is online in '${cluster}' but pvx cannot reach it over SSH (${m.message}): fix SSH, or power it off, then run again`);
        continue;
      }
      removeOnly.push(name);
      nodes.push({ name, role: 'down', inInventory: true, configured, online: false, detail: describeMembership(m) });
      continue;
    }
    if (m.kind === 'standalone' && r.conf === undefined) {
      if (!configured) continue;
      removeOnly.push(name);
      nodes.push({ name, role: 'separated', inInventory: true, configured, online: isOnline, detail: describeMembership(m) });
      continue;
    }
    if (!ours) {
      if (m.kind === 'error' && clusterOf(r) === undefined) {
        unreadable++;
        blocking.push(name);
        problems.push(`the cluster state of ${name} could not be read (${m.message}): it may be a member of '${cluster}'; fix it or take it out of the inventory, then run again`);
      }
      continue;
    }
    separate.push(name);
    nodes.push({ name, role: 'separate', inInventory: true, configured, online: isOnline, detail: describeMembership(m) });
  }
  if (problems.length > 0) {
    const reason = unreachableOnline ? 'unreachable-online' : unreadable === problems.length ? 'unreadable' : 'unknown-online';
    return { kind: 'refused', reason, problems, nodes: blocking };
  }
  if (separate.length === 0) return unknownNodes(readings) ?? { kind: 'nothing', standalone: readings.filter((r) => r.membership.kind === 'standalone').map((r) => r.node) };

  const last = authority && separate.includes(authority.node) ? authority.node : (separate[0] as string);
  const lastNode = nodes.find((n) => n.name === last);
  if (lastNode) lastNode.role = 'last';
  // the others leave in reverse inventory order, so the first node of the inventory stays last
  const others = separate.filter((n) => n !== last).reverse().map((node) => ({ node, configured: configuredNames.includes(node) }));
  const input: TeardownInput = { cluster, last, others, removeOnly, nodes };
  if (authority && authority.node === last) {
    input.quorum = {
      configured: configuredNames.map((name) => ({ name, votes: votes.get(name) ?? 1 })),
      online: [...online].sort(),
      expectedVotes: authority.expectedVotes,
    };
  }
  const qdevice = qdeviceOf(readings, cluster, authority);
  if (qdevice) {
    const refusal = qdeviceRefusal(cluster, qdevice, input, configuredNames);
    if (refusal) return refusal;
    input.qdevice = qdevice.host !== undefined ? { host: qdevice.host } : {};
  }
  return { kind: 'plan', input };
}

/** The cluster's QDevice: the running member's configuration first, then what corosync reports, then any node's file. */
function qdeviceOf(readings: readonly NodeReading[], cluster: string, authority: Member | undefined): { host?: string } | undefined {
  const fromConf = (r: NodeReading | undefined) => (r?.conf?.cluster === cluster ? r.conf.qdevice : undefined);
  const own = fromConf(readings.find((r) => r.node === authority?.node));
  if (own) return own.host !== undefined ? { host: own.host } : {};
  if (authority?.qdevice) return {};
  const any = readings.map(fromConf).find((q) => q !== undefined);
  return any ? (any.host !== undefined ? { host: any.host } : {}) : undefined;
}

/**
 * `pvecm qdevice remove` refuses unless every configured node is online in a quorate cluster
 * ("All nodes must be online! Node <n> is offline, aborting.", pve-cluster PVE/CLI/pvecm.pm).
 */
function qdeviceRefusal(cluster: string, qdevice: { host?: string }, input: TeardownInput, configured: readonly string[]): TeardownDecision | undefined {
  const q = input.quorum;
  const offline = q ? configured.filter((n) => !q.online.includes(n)) : [...configured];
  if (q && offline.length === 0) return undefined;
  const host = qdevice.host ? ` (QNetd host ${qdevice.host})` : '';
  const why = q ? `${offline.join(', ')} ${offline.length === 1 ? 'is' : 'are'} offline` : 'no member of it runs corosync';
  return {
    kind: 'refused',
    reason: 'qdevice',
    problems: [
      `cluster '${cluster}' has a QDevice${host}, which has to go before nodes leave (pvecm.adoc, "Adding/Deleting Nodes After QDevice Setup"), and pvecm qdevice remove needs every node online in a running cluster: ${why}`,
    ],
    nodes: offline,
    hint:
      `bring ${q ? offline.join(', ') : 'the nodes'} online and run the teardown again; if ${q && offline.length === 1 ? 'it is' : 'they are'} gone for good, remove the QDevice by hand on a quorate member: ` +
      `delete the 'device { … }' block of the quorum section in /etc/pve/corosync.conf and raise totem.config_version, then systemctl disable --now corosync-qdevice on every node`,
  };
}
