/** Reads of `pvx replication …`: a quorate member to ask, the cluster's resources and its replication jobs. */
import type { InventoryNode } from '../../config/inventory.js';
import type { Deps } from '../../context.js';
import { PreflightError, StepError, UnreachableError } from '../../errors.js';
import { ResourceReader } from '../../facts/resources.js';
import { pvecm, pvesrList } from '../../pve/argv.js';
import { excerptOf, ParseError } from '../../pve/parse/errors.js';
import { classifyPvecmStatus } from '../../pve/parse/pvecm-status.js';
import { parsePvesrList, type PvesrJob } from '../../pve/parse/pvesr.js';
import type { ClusterResources } from '../../pve/parse/pvesh-resources.js';
import { lastLine } from '../../pve/parse/text.js';
import type { Transport } from '../../transport/types.js';

const READ_TIMEOUT_MS = 60_000;

/** What was read from a quorate member. */
export interface ReplicationReading {
  /** the quorate member that answered */
  anchor: string;
  resources: ClusterResources;
  jobs: PvesrJob[];
  warnings: string[];
}

/**
 * The first inventory node that is a member of a quorate cluster. Exit 3 when the nodes that
 * answer have no quorum (or no cluster), exit 6 when none answers.
 */
export async function findQuorateMember(t: Transport, nodes: readonly InventoryNode[]): Promise<string> {
  const seen: string[] = [];
  let unreachable: UnreachableError | undefined;
  for (const n of nodes) {
    try {
      const r = await t.exec(n.name, pvecm.status(), { timeoutMs: READ_TIMEOUT_MS, title: 'read the quorum' });
      const s = classifyPvecmStatus(r);
      if (s.kind === 'status') {
        if (s.status.quorum.quorate) return n.name;
        seen.push(`${n.name}: member of a cluster without quorum`);
      } else if (s.kind === 'standalone') seen.push(`${n.name}: not in a cluster`);
      else seen.push(`${n.name}: ${s.message}`);
    } catch (e) {
      if (e instanceof UnreachableError) {
        unreachable ??= e;
        seen.push(`${n.name}: unreachable`);
        continue;
      }
      if (e instanceof ParseError) {
        seen.push(`${n.name}: pvecm status could not be read (${e.message})`);
        continue;
      }
      throw e;
    }
  }
  if (unreachable && seen.every((s) => s.endsWith(': unreachable'))) throw unreachable;
  throw new PreflightError(`no node is a member of a quorate cluster, nothing was changed: ${seen.join('; ')}`, {
    hint: 'replication jobs live in /etc/pve, which only a quorate cluster can change; pvx cluster status shows where each node stands',
  });
}

/** `pvesr list` on a node; exit 1 when it fails or prints something else. */
export async function readJobs(t: Transport, node: string): Promise<{ jobs: PvesrJob[]; warnings: string[] }> {
  const r = await t.exec(node, pvesrList(), { timeoutMs: READ_TIMEOUT_MS, title: 'read the replication jobs' });
  if (r.exitCode !== 0) throw new StepError(`pvesr list failed on ${node}: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}`);
  try {
    const rows = parsePvesrList(r.stdout);
    return { jobs: rows.jobs, warnings: rows.unrecognized.map((l) => `${node}: a row of pvesr list pvx could not read, left out: '${excerptOf(l)}'`) };
  } catch (e) {
    if (e instanceof ParseError) throw new StepError(`pvesr list on ${node} printed something pvx cannot read: ${e.message}`);
    throw e;
  }
}

/** A quorate member, then the cluster resources and the replication jobs read from it. */
export async function readReplication(deps: Deps, t: Transport, nodes: readonly InventoryNode[]): Promise<ReplicationReading> {
  const step = await deps.progress.start('reading the cluster and its replication jobs');
  try {
    const anchor = await findQuorateMember(t, nodes);
    const reader = new ResourceReader(t, [anchor]);
    const [res, jobs] = await Promise.all([reader.all(), readJobs(t, anchor)]);
    step.succeed(`read the cluster from ${anchor}: ${res.resources.nodes.length} node(s), ${jobs.jobs.length} replication job(s)`);
    return { anchor, resources: res.resources, jobs: jobs.jobs, warnings: jobs.warnings };
  } catch (e) {
    step.fail('could not read the cluster');
    throw e;
  }
}
