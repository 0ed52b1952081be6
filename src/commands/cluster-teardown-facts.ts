/** What `cluster teardown` reads before it decides: memberships, corosync.conf files, guests, HA, shared storage. */
import { UnreachableError } from '../errors.js';
import { CLUSTER_PATHS, pveshGet } from '../pve/argv.js';
import { parseCorosyncConf, summarizeCorosyncConf } from '../pve/parse/corosync-conf.js';
import { ParseError } from '../pve/parse/errors.js';
import { parseClusterResources, type GuestResource } from '../pve/parse/pvesh-resources.js';
import { parseHaStatusCurrent, type HaServiceDetail } from '../pve/parse/pvesh-ha-status.js';
import type { Transport } from '../transport/types.js';
import { guestFilesArgv, parseGuestFiles, type GuestFile } from '../workflows/guest-files.js';
import { decideTeardown, pickAuthority, type LocalConf, type NodeReading, type TeardownDecision } from '../workflows/teardown-decide.js';
import { readMembership } from './cluster-membership.js';

/** HA as the cluster reports it. */
export type HaFacts = { services: HaServiceDetail[]; activeLrms: string[] } | { problem: string };

/** A storage every node shares. */
export interface SharedStorage {
  storage: string;
  plugintype: string;
  nodes: string[];
}

/** Everything the overview and the plan need. */
export interface TeardownFacts {
  decision: TeardownDecision;
  readings: NodeReading[];
  /** guest configuration files per node, as the node itself holds them (down nodes: as the cluster does) */
  guestFiles: Map<string, GuestFile[]>;
  /** per node read: the folders under /etc/pve/nodes that hold guest configurations there */
  guestFolders: Map<string, string[]>;
  /** guests as /cluster/resources reports them (names, status, HA state) */
  guests: GuestResource[];
  ha?: HaFacts;
  sharedStorages: SharedStorage[];
  /** reads that failed on nodes the teardown would act on: any of them means no change may run */
  unread: ReadProblem[];
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

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}

/** A node's own /etc/corosync/corosync.conf, when it has a readable one. */
async function readLocalConf(t: Transport, node: string, unread: ReadProblem[]): Promise<LocalConf | undefined> {
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

async function readGuestFiles(t: Transport, node: string, unread: ReadProblem[]): Promise<Map<string, GuestFile[]> | undefined> {
  try {
    const r = await t.exec(node, guestFilesArgv(), { timeoutMs: READ_TIMEOUT_MS, title: 'list the guest configurations' });
    if (r.exitCode === 0) return parseGuestFiles(r.stdout);
    unread.push({ node, what: 'its guest configurations', unreachable: false, message: lastLine(r.stderr) || `exit code ${r.exitCode}` });
    return undefined;
  } catch (e) {
    if (e instanceof UnreachableError || e instanceof ParseError) {
      unread.push(problemOf(node, 'its guest configurations', e));
      return undefined;
    }
    throw e;
  }
}

async function readHa(t: Transport, node: string): Promise<HaFacts> {
  try {
    const r = await t.exec(node, pveshGet('/cluster/ha/status/current'), { timeoutMs: READ_TIMEOUT_MS, title: 'read the HA status' });
    if (r.exitCode !== 0) return { problem: lastLine(r.stderr) || `exit code ${r.exitCode}` };
    const s = parseHaStatusCurrent(r.stdout);
    return { services: s.services, activeLrms: s.lrms.filter((l) => l.state === 'active').map((l) => l.node) };
  } catch (e) {
    if (e instanceof UnreachableError || e instanceof ParseError) return { problem: e.message };
    throw e;
  }
}

async function readResources(t: Transport, node: string, unread: ReadProblem[]): Promise<{ guests: GuestResource[]; shared: SharedStorage[] } | undefined> {
  try {
    const r = await t.exec(node, pveshGet('/cluster/resources'), { timeoutMs: READ_TIMEOUT_MS, title: 'read the cluster resources' });
    if (r.exitCode !== 0) {
      unread.push({ node, what: 'the cluster resources', unreachable: false, message: lastLine(r.stderr) || `exit code ${r.exitCode}` });
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

/** Read every inventory node in parallel, decide, then read guests, HA and storage from the member that speaks for the cluster. */
export async function readTeardownFacts(t: Transport, nodes: readonly string[]): Promise<TeardownFacts> {
  const unread: ReadProblem[] = [];
  const per = await Promise.all(
    nodes.map(async (node) => {
      const membership = await readMembership(t, node);
      if (membership.kind === 'unreachable') return { reading: { node, membership } satisfies NodeReading, files: undefined };
      const [conf, files] = await Promise.all([readLocalConf(t, node, unread), readGuestFiles(t, node, unread)]);
      return { reading: { node, membership, ...(conf ? { conf } : {}) } satisfies NodeReading, files };
    }),
  );
  const readings = per.map((p) => p.reading);
  const decision = decideTeardown(readings);
  const facts: TeardownFacts = { decision, readings, guestFiles: new Map(), guestFolders: new Map(), guests: [], sharedStorages: [], unread };
  for (const p of per) {
    const own = p.files?.get(p.reading.node);
    if (p.files) {
      facts.guestFiles.set(p.reading.node, own ?? []);
      facts.guestFolders.set(p.reading.node, [...p.files.keys()].sort());
    }
  }
  if (decision.kind !== 'plan') return facts;
  const authority = pickAuthority(readings, decision.input.cluster);
  if (!authority) return facts;
  const view = per.find((p) => p.reading.node === authority.node)?.files;
  for (const n of decision.input.nodes) {
    if (!facts.guestFiles.has(n.name)) facts.guestFiles.set(n.name, view?.get(n.name) ?? []);
  }
  const [resources, ha] = await Promise.all([readResources(t, authority.node, unread), readHa(t, authority.node)]);
  if (resources) {
    facts.guests = resources.guests;
    facts.sharedStorages = resources.shared;
  }
  facts.ha = ha;
  return facts;
}
