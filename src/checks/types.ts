/** Shapes shared by every preflight check: findings, the spec of a run, what was learned per node. */
import type { InventoryNode } from '../config/inventory.js';
import type { NodeFacts } from '../facts/preflight/types.js';
import type { UdpProbeResults } from '../facts/preflight/udp-probe.js';

/** The facts the checks judge, read by facts/preflight. */
export type { ClockReading, Guest, NodeCluster, NodeFacts, Reading, TimeSync } from '../facts/preflight/types.js';

/** What the run prepares for; it decides which checks apply. */
export type Purpose = 'create' | 'join' | 'migrate' | 'ha' | 'general';

/** Every purpose, in the order help texts list them. */
export const PURPOSES: readonly Purpose[] = ['general', 'create', 'join', 'migrate', 'ha'];

/** ok, warn and fail are verdicts; skip means the check could not run there (never a pass). */
export type FindingStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One verdict of one check on one node (or on one ordered pair of nodes, or one port of a pair). */
export interface Finding {
  id: string;
  node: string;
  peer?: string;
  port?: number;
  status: FindingStatus;
  /** one sentence */
  message: string;
  /** names the fix */
  hint?: string;
}

/** Limits a check compares against; all settable from the command line. */
export interface Thresholds {
  /** largest clock difference between nodes before a warning, seconds */
  skewWarnSec: number;
  /** … before a failure, seconds */
  skewFailSec: number;
  /** link0 round trip before a warning, milliseconds */
  latencyWarnMs: number;
}

/** PVE's limits: the HA stack complains above 2 s of drift; corosync wants LAN latency (< 5 ms). */
export const DEFAULT_THRESHOLDS: Thresholds = { skewWarnSec: 0.5, skewFailSec: 2, latencyWarnMs: 5 };

/** What to check. */
export interface PreflightSpec {
  purpose: Purpose;
  /** inventory nodes, in order; for create the first one creates the cluster */
  nodes: readonly InventoryNode[];
  /** create: the name of the new cluster; join: the name the member's cluster must have */
  clusterName?: string;
  /** join: a member of the target cluster (quorum and member names are read there) */
  existingMember?: InventoryNode;
  thresholds?: Partial<Thresholds>;
}

/** Who does what in the run, derived from the spec and the facts. */
export interface Roles {
  /** create: the node that runs pvecm create */
  creator?: string;
  /** join: the member whose cluster is joined */
  member?: string;
  /** the cluster the nodes end up in (create: the given name; join: the member's) */
  targetCluster?: string;
  /** nodes that would run pvecm add (create: all but the creator; join: all but members), minus those already in the target */
  joining: string[];
  /** nodes already in the target cluster (create/join skip them) */
  alreadyMembers: string[];
}

/** Everything a check reads; checks never talk to nodes themselves. */
export interface CheckContext {
  purpose: Purpose;
  /** inventory names of every node checked, in spec order (for join, the member too) */
  nodes: readonly string[];
  inventory: ReadonlyMap<string, InventoryNode>;
  clusterName?: string;
  thresholds: Thresholds;
  facts: ReadonlyMap<string, NodeFacts>;
  udp: UdpProbeResults;
  roles: Roles;
}

/** One preflight check. */
export interface Check {
  id: string;
  title: string;
  /** purposes the check runs for */
  purposes: readonly Purpose[];
  run(ctx: CheckContext): Finding[];
}
