/** `pvx replication list` (pvesr list: every job of the cluster) and `pvx replication status` (pvesr status of each node: its guests' jobs). */
import type { Deps } from '../../context.js';
import { StepError, UnreachableError, UsageError } from '../../errors.js';
import { pvesr } from '../../pve/argv.js';
import { nodeNameProblem } from '../../pve/names.js';
import { excerptOf, ParseError } from '../../pve/parse/errors.js';
import { parsePvesrStatus, type PvesrJob, type PvesrJobStatus } from '../../pve/parse/pvesr.js';
import type { Transport } from '../../transport/types.js';
import type { Outcome } from '../../ui/report.js';
import { pvesrFailure } from './change.js';
import { readJobs } from './read.js';

/** The result of `replication list` (JSON `result`). */
export interface ReplicationListResult {
  /** the node pvesr list ran on */
  node: string;
  jobs: PvesrJob[];
}

/** One job's state, with the node that runs it (the guest's node). */
export interface ReplicationJobState extends PvesrJobStatus {
  source: string;
}

/** The result of `replication status` (JSON `result`). */
export interface ReplicationStatusResult {
  jobs: ReplicationJobState[];
  /** nodes whose jobs could not be read, and why */
  unread: Array<{ node: string; message: string }>;
}

const READ_TIMEOUT_MS = 60_000;

/** Run `pvx replication list`: from the first node that answers. */
export async function replicationList(deps: Deps): Promise<Outcome<ReplicationListResult>> {
  const inv = deps.inventory();
  const t = deps.transport(inv.nodes);
  const problems: string[] = [];
  let unreachable: UnreachableError | undefined;
  let unreachableCount = 0;
  for (const n of inv.nodes) {
    try {
      const { jobs, warnings } = await readJobs(t, n.name);
      return { command: 'replication list', result: { node: n.name, jobs }, exitCode: 0, warnings: [...problems.map((p) => `not read from ${p}`), ...warnings] };
    } catch (e) {
      if (e instanceof UnreachableError) {
        unreachable ??= e;
        unreachableCount++;
      } else if (!(e instanceof StepError)) throw e;
      problems.push(`${n.name}: ${e.message}`);
    }
  }
  if (unreachable && unreachableCount === inv.nodes.length) throw unreachable;
  throw new StepError(`no node could list the replication jobs: ${problems.join('; ')}`);
}

async function nodeStatus(t: Transport, node: string): Promise<{ jobs: ReplicationJobState[]; warnings: string[] } | { problem: string; unreachable: boolean }> {
  try {
    const r = await t.exec(node, pvesr.status(), { timeoutMs: READ_TIMEOUT_MS, title: 'read the replication state' });
    if (r.exitCode !== 0) return { problem: `pvesr status failed: ${pvesrFailure(r)}`, unreachable: false };
    const rows = parsePvesrStatus(r.stdout);
    return { jobs: rows.jobs.map((j) => ({ ...j, source: node })), warnings: rows.unrecognized.map((l) => `${node}: a row of pvesr status pvx could not read, left out: '${excerptOf(l)}'`) };
  } catch (e) {
    if (e instanceof UnreachableError) return { problem: e.message, unreachable: true };
    if (e instanceof ParseError) return { problem: `pvesr status printed something pvx cannot read: ${e.message}`, unreachable: false };
    throw e;
  }
}

/**
 * Run `pvx replication status [--node n]`: pvesr status on the node, or on every inventory node (a
 * job shows on the node its guest runs on). Exit 1 when a node could not be read (the result names
 * it), 6 when none could be reached.
 */
export async function replicationStatus(deps: Deps, input: { node?: string }): Promise<Outcome<ReplicationStatusResult>> {
  if (input.node !== undefined) {
    const p = nodeNameProblem(input.node);
    if (p) throw new UsageError(`--node: ${p}`);
  }
  const inv = deps.inventory();
  if (input.node !== undefined && !inv.nodes.some((n) => n.name === input.node)) {
    throw new UsageError(`--node: ${input.node} is not in the inventory ${inv.file}`, { hint: `known nodes: ${inv.nodes.map((n) => n.name).join(', ')}` });
  }
  const nodes = input.node !== undefined ? [input.node] : inv.nodes.map((n) => n.name);
  const t = deps.transport(inv.nodes);
  const read = await Promise.all(nodes.map((n) => nodeStatus(t, n)));
  const result: ReplicationStatusResult = { jobs: [], unread: [] };
  const warnings: string[] = [];
  read.forEach((x, i) => {
    const node = nodes[i] ?? '';
    if ('problem' in x) result.unread.push({ node, message: x.problem });
    else {
      result.jobs.push(...x.jobs);
      warnings.push(...x.warnings);
    }
  });
  result.jobs.sort((a, b) => a.vmid - b.vmid || a.jobId.localeCompare(b.jobId));
  if (result.unread.length === 0) return { command: 'replication status', result, exitCode: 0, warnings };
  const what = result.unread.map((u) => `${u.node}: ${u.message}`).join('; ');
  if (read.every((x) => 'problem' in x && x.unreachable)) {
    const error = new UnreachableError(result.unread[0]?.node ?? '', `no node could be reached: ${what}`);
    return { command: 'replication status', result, exitCode: error.exitCode, warnings, error };
  }
  const error = new StepError(`the replication state of ${result.unread.map((u) => u.node).join(', ')} could not be read (the jobs of guests there are missing): ${what}`, {
    hint: 'pvx cluster status shows which nodes are up',
  });
  return { command: 'replication status', result, exitCode: error.exitCode, warnings, error };
}
