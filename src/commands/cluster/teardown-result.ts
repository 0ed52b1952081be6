/** The JSON contract of `cluster teardown`: what the run returns and the renderer shows. */
import type { PlannedStep } from '../../workflows/plan.js';
import type { TeardownNode, TeardownRole } from '../../workflows/teardown/decide.js';
import type { StepReport } from '../shared/plan-run.js';
import type { TeardownFacts } from './teardown-facts.js';

/** One node in the result. */
export interface TeardownNodeResult {
  name: string;
  role: TeardownRole;
  /** its state before, in words */
  before: string;
  /** its state at the end (or at the failure), in words */
  after?: string;
  guestsBefore: string[];
  /** the guest configurations it holds at the end; absent when not checked */
  guestsAfter?: string[];
  /** the other nodes' folders removed from its /etc/pve/nodes; copies are in its backup archive under etc/pve/nodes/ */
  foldersRemoved?: string[];
  /** other nodes' folders it still holds, and why */
  foldersKept?: Array<{ folder: string; why: string }>;
}

/** The backups of a run. */
export interface TeardownBackups {
  /** the set's directory on this workstation */
  dir: string;
  /** the set's directory on every node */
  nodeDir: string;
  nodes: Array<{ node: string; file: string; nodeFile: string; sha256: string; files: string[]; missing: string[] }>;
}

/** The JSON result of `cluster teardown`. */
export interface TeardownResult {
  cluster: string | null;
  outcome: 'torn-down' | 'unchanged' | 'failed';
  summary: string;
  nodes: TeardownNodeResult[];
  backups?: TeardownBackups;
  steps: StepReport[];
  /** what to do on nodes that were down */
  downNodes: Array<{ node: string; advice: string }>;
  notes: string[];
  journal?: string;
  /** the command that puts the separated nodes back (after a failure: those whose separation started) */
  restore?: string;
  /** after a failure: the command that finishes the teardown */
  continue?: string;
}

/** The result of `cluster teardown --dry-run`. */
export interface TeardownPlanResult {
  title: string;
  cluster: string;
  /** where the backups would go on this workstation (the timestamp is that of this run) */
  backupDir: string;
  plan: PlannedStep[];
}

/** The overview shown before the question (stderr, people only). */
export interface TeardownOverview {
  cluster: string;
  quorate: boolean | undefined;
  nodes: TeardownNode[];
  facts: TeardownFacts;
  last: string;
  others: string[];
  removeOnly: string[];
  /** nodes before whose removal the last node gets `pvecm expected` */
  expectedBefore: string[];
  /** the QDevice removed first */
  qdevice?: { host?: string };
  localDir: string;
  nodeDir: string;
}
