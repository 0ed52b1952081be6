/** `pvx cluster status`: what every inventory node says about the cluster, merged into one view. */
import type { Deps } from '../../context.js';
import type { InventoryNode } from '../../config/inventory.js';
import { EXIT, NotQuorateError, PvxError, StepError, UnreachableError, UsageError, type ExitCode } from '../../errors.js';
import { excerptOf } from '../../pve/parse/errors.js';
import { readNode, type NodeView } from '../../facts/node.js';
import type { Transport } from '../../transport/types.js';
import type { Outcome } from '../../ui/report.js';

/** One member row of the merged view (CLI.md result shape). */
export interface StatusNode {
  name: string;
  nodeid: number;
  votes: number | null;
  online: boolean;
  local: boolean;
  address: string | null;
  pveVersion: string | null;
}

/** The result of `cluster status` (CLI.md, plus standalone/unreachable/source). */
export interface ClusterStatusResult {
  cluster: { name: string; configVersion: number; transport: string; secureAuth: boolean } | null;
  quorum: { quorate: boolean; expectedVotes: number; totalVotes: number; quorum: number } | null;
  nodes: StatusNode[];
  /** inventory nodes that are not in any cluster */
  standalone: Array<{ name: string; pveVersion: string | null }>;
  unreachable: Array<{ name: string; code: string; message: string; hint?: string }>;
  /** inventory nodes that answered with something pvx could not read */
  unreadable: Array<{ name: string; message: string }>;
  /** the node whose view of the cluster is shown */
  source: string | null;
}

/** Merge the views: the quorate member seeing the most members speaks for the cluster. */
export function mergeViews(views: readonly NodeView[], inventory: readonly InventoryNode[]): { result: ClusterStatusResult; warnings: string[] } {
  const warnings: string[] = [];
  const members = views.filter((v): v is Extract<NodeView, { kind: 'member' }> => v.kind === 'member');
  const versionByName = new Map(views.map((v) => [v.node, 'pveVersion' in v ? v.pveVersion : null]));
  const authority = [...members].sort(
    (a, b) => Number(b.status.quorum.quorate) - Number(a.status.quorum.quorate) || b.status.members.length - a.status.members.length,
  )[0];

  const result: ClusterStatusResult = {
    cluster: null,
    quorum: null,
    nodes: [],
    standalone: views.filter((v) => v.kind === 'standalone').map((v) => ({ name: v.node, pveVersion: versionByName.get(v.node) ?? null })),
    unreachable: views
      .filter((v): v is Extract<NodeView, { kind: 'unreachable' }> => v.kind === 'unreachable')
      .map((v) => ({ name: v.node, code: v.error.code, message: v.error.message, ...(v.error.hint ? { hint: v.error.hint } : {}) })),
    unreadable: views.filter((v): v is Extract<NodeView, { kind: 'error' }> => v.kind === 'error').map((v) => ({ name: v.node, message: v.message })),
    source: authority?.node ?? null,
  };

  for (const v of views) {
    if (v.kind === 'corosync-down') warnings.push(`${v.node}: corosync is not running (${v.message})`);
    // the view is still shown; cluster changes refuse a membership with rows left out (membershipOf)
    if (v.kind === 'member') for (const l of v.status.unrecognized) warnings.push(`${v.node}: a membership row of pvecm status pvx could not read, left out: '${excerptOf(l)}'`);
  }
  if (!authority) return { result, warnings };

  const st = authority.status;
  if (st.cluster) result.cluster = { ...st.cluster };
  result.quorum = {
    quorate: st.quorum.quorate,
    expectedVotes: st.quorum.expectedVotes,
    totalVotes: st.quorum.totalVotes,
    quorum: st.quorum.quorum,
  };
  const votesById = new Map(st.members.map((m) => [m.nodeid, m.votes]));
  const addrById = new Map(st.members.map((m) => [m.nodeid, m.address]));
  const cs = authority.clusterStatus;
  if (cs && cs.nodes.length > 0) {
    result.nodes = cs.nodes.map((n) => ({
      name: n.name,
      nodeid: n.nodeid,
      votes: votesById.get(n.nodeid) ?? null,
      // online and votes both from the one quorumtool membership read, so they never disagree
      online: votesById.has(n.nodeid),
      local: n.name === authority.node,
      address: n.ip ?? addrById.get(n.nodeid) ?? null,
      pveVersion: versionByName.get(n.name) ?? null,
    }));
  } else {
    // no /cluster/status: name members by matching their link address against the inventory
    const byAddr = new Map<string, string>();
    for (const n of inventory) for (const a of [n.link0, n.host]) if (a) byAddr.set(a, n.name);
    result.nodes = st.members.map((m) => {
      const name = byAddr.get(m.address) ?? m.address;
      return { name, nodeid: m.nodeid, votes: m.votes, online: true, local: m.local, address: m.address, pveVersion: versionByName.get(name) ?? null };
    });
  }
  result.nodes.sort((a, b) => a.nodeid - b.nodeid || a.name.localeCompare(b.name));

  for (const m of members) {
    if (m === authority) continue;
    const name = m.status.cluster?.name;
    if (name && result.cluster && name !== result.cluster.name) {
      warnings.push(`${m.node} is a member of another cluster, '${name}'`);
    } else if (m.status.members.length !== st.members.length || m.status.quorum.quorate !== st.quorum.quorate) {
      warnings.push(
        `${m.node} sees ${m.status.members.length} member(s) and is ${m.status.quorum.quorate ? 'quorate' : 'NOT quorate'} (partitioned from ${authority.node}?)`,
      );
    }
  }
  return { result, warnings };
}

/** The exit code of a merged view: 5 not quorate, 6 a node unreachable, 1 a node's answer unreadable, else 0. */
export function statusExitCode(r: ClusterStatusResult): { exitCode: ExitCode; error?: PvxError } {
  if (r.quorum && !r.quorum.quorate) {
    return {
      exitCode: EXIT.NOT_QUORATE,
      error: new NotQuorateError(
        `cluster '${r.cluster?.name ?? '?'}' is not quorate: ${r.quorum.totalVotes} of ${r.quorum.expectedVotes} votes present, ${r.quorum.quorum} needed`,
        { hint: 'bring the missing nodes back (or check corosync links with corosync-cfgtool -s); /etc/pve is read-only until quorum returns' },
      ),
    };
  }
  const first = r.unreachable[0];
  if (first) {
    return {
      exitCode: EXIT.UNREACHABLE,
      error: new UnreachableError(first.name, r.unreachable.length === 1 ? first.message : `${r.unreachable.length} nodes could not be reached (${r.unreachable.map((u) => u.name).join(', ')}): ${first.message}`, {
        code: first.code,
        ...(first.hint ? { hint: first.hint } : {}),
      }),
    };
  }
  if (r.unreadable.length > 0) {
    const names = r.unreadable.map((u) => u.name).join(', ');
    return {
      exitCode: EXIT.STEP_FAILED,
      error: new StepError(
        r.unreadable.length === 1 ? `the cluster state of ${names} could not be read: ${r.unreadable[0]!.message}` : `the cluster state of ${r.unreadable.length} nodes (${names}) could not be read: ${r.unreadable[0]!.message}`,
        { code: 'UNREADABLE', hint: 'run with --verbose to see what the node answered; the view shown lacks these nodes' },
      ),
    };
  }
  return { exitCode: EXIT.OK };
}

/** Run `cluster status` over the inventory (or one node of it). */
export async function clusterStatus(deps: Deps, opts: { node?: string | undefined }): Promise<Outcome<ClusterStatusResult>> {
  const inv = deps.inventory();
  let nodes = inv.nodes;
  if (opts.node !== undefined) {
    const one = inv.nodes.find((n) => n.name === opts.node);
    if (!one) {
      throw new UsageError(`node '${opts.node}' is not in the inventory ${inv.file}`, {
        hint: `known nodes: ${inv.nodes.map((n) => n.name).join(', ')}`,
      });
    }
    nodes = [one];
  }
  const t = deps.transport(nodes);
  const step = await deps.progress.start(`reading cluster state from ${nodes.length} node(s)`);
  const views = await Promise.all(nodes.map((n) => readNode(t, n.name)));
  const { result, warnings } = mergeViews(views, inv.nodes);
  const { exitCode, error } = statusExitCode(result);
  if (exitCode === EXIT.OK) step.succeed(`read ${nodes.length} node(s)`);
  else step.fail(`read ${nodes.length} node(s)`);
  return { command: 'cluster status', result, exitCode, warnings, ...(error ? { error } : {}) };
}
