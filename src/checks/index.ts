/**
 * Preflight: the one implementation that `preflight`, `cluster create`, `cluster join` and
 * `migrate` run before their first change. Reads every node at once, then lets each check judge.
 */
import type { InventoryNode } from '../config/inventory.js';
import type { Transport } from '../transport/types.js';
import { clockSkewCheck } from './clock-skew.js';
import { clusterNameCheck } from './cluster-name.js';
import { finding } from './finding.js';
import { haVotesCheck } from './ha-votes.js';
import { hostnameResolutionCheck } from './hostname-resolution.js';
import { linkLatencyCheck } from './link-latency.js';
import { noGuestsCheck } from './no-guests.js';
import { nodeNamesCheck } from './node-names.js';
import { notClusteredCheck } from './not-clustered.js';
import { ntpSyncCheck } from './ntp-sync.js';
import { pveVersionCheck } from './pve-version.js';
import { quorumCheck } from './quorum.js';
import { deriveRoles } from './roles.js';
import { sshCheck } from './ssh.js';
import { twoNodeCheck } from './two-node.js';
import { udpCorosyncCheck } from './udp-corosync.js';
import { gatherBySession } from '../facts/preflight/session.js';
import type { ProbeTiming } from '../facts/preflight/udp-probe.js';
import { DEFAULT_THRESHOLDS, type Check, type CheckContext, type Finding, type NodeFacts, type PreflightSpec, type Roles } from './types.js';

export type { Check, Finding, FindingStatus, NodeFacts, PreflightSpec, Purpose, Roles, Thresholds } from './types.js';
export { DEFAULT_THRESHOLDS, PURPOSES } from './types.js';

/** Every check, in report order. */
export const CHECKS: readonly Check[] = [
  sshCheck,
  nodeNamesCheck,
  pveVersionCheck,
  ntpSyncCheck,
  clockSkewCheck,
  hostnameResolutionCheck,
  udpCorosyncCheck,
  linkLatencyCheck,
  notClusteredCheck,
  noGuestsCheck,
  clusterNameCheck,
  quorumCheck,
  twoNodeCheck,
  haVotesCheck,
];

/** What runPreflight needs besides the spec. */
export interface PreflightEnv {
  /** a transport that knows every node of the spec (and the existing member) */
  transport: Transport;
  /** workstation clock, ms since the epoch */
  now(): number;
  probeTiming?: ProbeTiming;
  /** told when a round starts, for progress output */
  onRound?(text: string): void;
}

/** What preflight found and learned. */
export interface PreflightResult {
  findings: Finding[];
  /** per inventory node: what was read (create/join use it to skip members of the target cluster) */
  nodeFacts: Map<string, NodeFacts>;
  roles: Roles;
  /** the checks that ran, in order, with their titles */
  checks: Array<{ id: string; title: string }>;
}

/** True when any finding failed. */
export function preflightFailed(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.status === 'fail');
}

/** The checks of a purpose. */
export function checksFor(purpose: PreflightSpec['purpose']): Check[] {
  return CHECKS.filter((c) => c.purposes.includes(purpose));
}

function nodesOf(spec: PreflightSpec): InventoryNode[] {
  const out: InventoryNode[] = [];
  for (const n of [...spec.nodes, ...(spec.existingMember ? [spec.existingMember] : [])]) {
    if (!out.some((o) => o.name === n.name)) out.push(n);
  }
  return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function runCheck(check: Check, ctx: CheckContext): Finding[] {
  try {
    return check.run(ctx);
  } catch (e) {
    // one broken check must not hide what the others found
    const node = ctx.nodes[0] ?? '';
    return [finding(check.id, node, 'fail', `the check itself failed: ${e instanceof Error ? e.message : String(e)}`, { hint: 'this is a bug in pvx; please report it with the output of -v' })];
  }
}

/** Run every check of the spec's purpose on every node: every node read at once (gather.ts). */
export async function runPreflight(spec: PreflightSpec, env: PreflightEnv): Promise<PreflightResult> {
  const nodes = nodesOf(spec);
  const names = nodes.map((n) => n.name);
  const gatherEnv = { transport: env.transport, now: env.now, ...(env.probeTiming ? { probeTiming: env.probeTiming } : {}) };

  env.onRound?.(`reading ${nodes.length} node(s)`);
  const onProbing = (n: number) => env.onRound?.(`probing corosync UDP ports between ${n} node(s)`);
  const { facts, udp } = await gatherBySession(gatherEnv, nodes, onProbing);

  const roles = deriveRoles(spec.purpose, names, facts, spec.clusterName, spec.existingMember?.name);
  const ctx: CheckContext = {
    purpose: spec.purpose,
    nodes: names,
    inventory: new Map(nodes.map((n) => [n.name, n])),
    ...(spec.clusterName !== undefined ? { clusterName: spec.clusterName } : {}),
    thresholds: { ...DEFAULT_THRESHOLDS, ...definedOnly(spec.thresholds ?? {}) },
    facts,
    udp,
    roles,
  };
  const checks = checksFor(spec.purpose);
  return {
    findings: checks.flatMap((c) => runCheck(c, ctx)),
    nodeFacts: facts,
    roles,
    checks: checks.map((c) => ({ id: c.id, title: c.title })),
  };
}
