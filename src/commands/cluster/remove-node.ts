/** `pvx cluster remove-node <node>`: refuse while it hosts guests or is alive, delnode from a quorate member, clean up, verify. */
import type { Deps } from '../../context.js';
import type { InventoryNode } from '../../config/inventory.js';
import { NotQuorateError, PreflightError, StepError, UnreachableError, UsageError, type PvxError } from '../../errors.js';
import { CLUSTER_PATHS, files, pveNodeDir, pveshGet } from '../../pve/argv.js';
import { parseCorosyncConf, summarizeCorosyncConf, type CorosyncQdevice } from '../../pve/parse/corosync-conf.js';
import { ParseError } from '../../pve/parse/errors.js';
import { parseClusterResources, type GuestResource } from '../../pve/parse/pvesh-resources.js';
import type { Transport } from '../../transport/types.js';
import type { Outcome } from '../../ui/report.js';
import { planRemoveNode } from '../../workflows/cluster/remove-node.js';
import { DEFAULT_TIMING, type Membership, type Timing } from '../../facts/node.js';
import { readMembership } from '../../facts/node.js';
import { checkNodeName, inventoryNodes, pvxCommandLine } from './nodes.js';
import { confirmOrCancel } from '../shared/confirm.js';
import { nothingRead } from '../shared/nothing-read.js';
import { scopeOfViews } from '../shared/cluster-lock.js';
import { failedChangeOutcome, readStates, type ClusterChangeResult, type PlanResult } from '../shared/plan-run.js';
import { previewOrRunPlan } from '../shared/dry-run.js';

/** Options of `cluster remove-node`. */
export interface RemoveNodeOptions {
  node: string;
  via?: string | undefined;
  offlineConfirmed?: boolean | undefined;
  timing?: Timing;
}

const COMMAND = 'cluster remove-node';

/** What pvx says about corosync's CS_ERR_NOT_EXIST after a delnode. */
export const NOT_EXIST_NOTE =
  "corosync answered 'Could not kill node (error = CS_ERR_NOT_EXIST)': harmless, it only means the node was already down when pvecm delnode asked corosync to stop it";

/** Guests the cluster places on `node`, read from a member's /cluster/resources. */
export async function guestsOn(t: Transport, member: string, node: string): Promise<GuestResource[]> {
  const r = await t.exec(member, pveshGet('/cluster/resources', ['--type', 'vm']));
  if (r.exitCode !== 0) throw new PreflightError(`could not list the guests of the cluster on ${member}: ${r.stderr.trim().split('\n').pop() ?? `exit code ${r.exitCode}`}`);
  try {
    return parseClusterResources(r.stdout).guests.filter((g) => g.node === node);
  } catch (e) {
    if (e instanceof ParseError) throw new PreflightError(`could not list the guests of the cluster on ${member}: ${e.message}`);
    throw e;
  }
}

/** The member to run delnode from: --via, else the first quorate member (in inventory order) that lists the node. */
function pickVia(views: readonly Membership[], node: string): Membership | undefined {
  const members = views.filter((v): v is Extract<Membership, { kind: 'member' }> => v.kind === 'member');
  return members.find((m) => m.quorate && m.configured.includes(node)) ?? members.find((m) => m.quorate) ?? members[0] ?? views[0];
}

/** Run `cluster remove-node`. */
export async function clusterRemoveNode(deps: Deps, opts: RemoveNodeOptions): Promise<Outcome<ClusterChangeResult | PlanResult>> {
  checkNodeName('node', opts.node);
  if (opts.via !== undefined) checkNodeName('--via', opts.via);
  if (opts.via === opts.node) throw new UsageError(`--via must name another member than ${opts.node}`);
  const confirmation = confirmOrCancel(deps, { noTtyMessage: `removing ${opts.node} from its cluster cannot be undone, and there is no terminal to confirm it` });
  const inv = deps.inventory();
  const target = inv.nodes.find((n) => n.name === opts.node);
  const candidates: InventoryNode[] = opts.via !== undefined ? inventoryNodes(inv, [opts.via]) : inv.nodes.filter((n) => n.name !== opts.node);
  if (candidates.length === 0) throw new UsageError(`no other inventory node to run pvecm delnode from`, { hint: 'add a cluster member to the inventory, or pass --via <member>' });
  const timing = opts.timing ?? DEFAULT_TIMING;
  const t = deps.transport([...candidates, ...(target ? [target] : [])]);

  const reading = await deps.progress.start(`reading the cluster state${target ? ` of ${opts.node} and` : ' of'} ${candidates.map((n) => n.name).join(', ')}`);
  const views = await readStates(t, [...candidates.map((n) => n.name), ...(target ? [opts.node] : [])]);
  // the node to remove may be off for good; the members it is removed from must have been read
  const unread = nothingRead(new Map(candidates.map((n) => [n.name, views.get(n.name)!])));
  if (unread) throw unread;
  const partial = unreadCandidates(candidates.map((n) => views.get(n.name)!), opts.via);
  if (partial) throw partial;
  const via = pickVia(candidates.map((n) => views.get(n.name)!), opts.node)!;
  const targetView = target ? views.get(opts.node) : undefined;
  reading.succeed(`read ${views.size} node(s); delnode would run on ${via.node}`);
  const guests = via.kind === 'member' && via.configured.includes(opts.node) ? await guestsOn(t, via.node, opts.node) : [];
  const nodeDirExists = via.kind === 'member' ? (await t.exec(via.node, files.isDir(pveNodeDir(opts.node)))).exitCode === 0 : false;
  const qdevice = via.kind === 'member' && via.configured.includes(opts.node) ? await readQdevice(t, via) : undefined;

  const decision = planRemoveNode(
    { node: opts.node, via: via.node, offlineConfirmed: Boolean(opts.offlineConfirmed) },
    { via, guests, nodeDirExists, ...(targetView ? { target: targetView } : {}), ...(qdevice ? { qdevice } : {}) },
    { read: readMembership, timing },
  );
  if (decision.kind === 'unchanged') {
    return {
      command: COMMAND,
      result: { action: 'remove-node', cluster: decision.cluster, outcome: 'unchanged', summary: `${opts.node} is not a member of cluster '${decision.cluster}' and left nothing behind: nothing to do`, members: decision.members, steps: [] },
      exitCode: 0,
      warnings: [],
    };
  }
  if (decision.kind === 'refused') {
    const msg = `cannot remove ${opts.node}: ${decision.problems.join('; ')}`;
    if (decision.usage) throw new UsageError(msg);
    if (decision.notQuorate) {
      throw new NotQuorateError(msg, {
        hint: `bring the missing members back; only if they are powered off for good: pvx cluster expected ${via.kind === 'member' ? via.totalVotes : '<votes present>'} --node ${via.node} --yes (the votes present, a QDevice's included; split-brain risk)`,
      });
    }
    throw new PreflightError(msg, { hint: decision.hint ?? (opts.offlineConfirmed ? undefined : `if ${opts.node} is powered off for good, pass --offline-confirmed`) });
  }
  const warnings = [...decision.warnings];
  const before = new Map([[via.node, via]]);
  const recovery = pvxCommandLine(inv, ['cluster', 'remove-node', opts.node, '--via', via.node, '--yes', ...(opts.offlineConfirmed ? ['--offline-confirmed'] : [])]);
  return previewOrRunPlan(deps, t, decision.plan, {
    preview: (plan) => ({ command: COMMAND, result: { title: decision.plan.title, plan }, exitCode: 0, warnings }),
    confirm: () =>
      confirmation.ask({
        message: `Remove ${opts.node} from cluster '${decision.cluster}' (pvecm delnode on ${via.node}; it cannot rejoin without a reinstall). Type ${opts.node} to confirm:`,
        typed: opts.node,
        mismatch: `${opts.node} was not removed`,
        untouched: `${opts.node} was not removed`,
      }),
    options: { lock: scopeOfViews(views.values(), inv.nodes.map((n) => n.name)) },
    then: ({ run, steps }) => {
      if (decision.progress.delnode?.kind === 'removed' && decision.progress.delnode.nodeWasDown) warnings.push(NOT_EXIST_NOTE);
      if (run.ok) {
        const summary = decision.cleanupOnly
          ? `Removed the stale ${pveNodeDir(opts.node)} on ${via.node}; ${opts.node} was already out of cluster '${decision.cluster}'`
          : `Removed ${opts.node} from cluster '${decision.cluster}': ${via.node} now lists ${decision.members.join(', ')} and is quorate`;
        const next = decision.cleanupOnly ? [] : [qdeviceAgain(decision.members.length)];
        return {
          command: COMMAND,
          result: { action: 'remove-node', cluster: decision.cluster, outcome: decision.cleanupOnly ? 'cleaned' : 'removed', summary, members: decision.members, steps, ...(next.length > 0 ? { next } : {}) },
          exitCode: 0,
          warnings,
        };
      }
      return failedChangeOutcome(deps, t, {
        command: COMMAND, action: 'remove-node', cluster: decision.cluster, what: `removing ${opts.node}`,
        run, steps, before, nodes: [via.node], recovery, warnings,
      });
    },
  });
}

/** The QDevice of the cluster `via` is in: its /etc/pve/corosync.conf, else the Qdevice flag of pvecm status (a file pvx cannot read refuses). */
async function readQdevice(t: Transport, via: Extract<Membership, { kind: 'member' }>): Promise<{ host?: string } | undefined> {
  const r = await t.exec(via.node, ['cat', CLUSTER_PATHS.pveCorosyncConf], { title: `read ${CLUSTER_PATHS.pveCorosyncConf}` });
  if (r.exitCode !== 0) throw new PreflightError(`could not read ${CLUSTER_PATHS.pveCorosyncConf} on ${via.node}: ${r.stderr.trim().split('\n').pop() || `exit code ${r.exitCode}`}`, { hint: 'nothing was changed' });
  let q: CorosyncQdevice | undefined;
  try {
    q = summarizeCorosyncConf(parseCorosyncConf(r.stdout)).qdevice;
  } catch (e) {
    if (e instanceof ParseError) throw new PreflightError(`could not read ${CLUSTER_PATHS.pveCorosyncConf} on ${via.node}: ${e.message}`, { hint: 'nothing was changed' });
    throw e;
  }
  if (q) return q.host !== undefined ? { host: q.host } : {};
  return via.qdevice ? {} : undefined;
}

/** After a removal: how to set a QDevice up again (pvecm.adoc: once the node count is even again). */
function qdeviceAgain(members: number): string {
  const fits = members % 2 === 0 ? `${members} nodes: an even count, as a QDevice wants` : `${members} nodes: an odd count, for which pvecm.adoc discourages a QDevice (pvx cluster qdevice add refuses it without --force, as pvecm does)`;
  return `if you removed a QDevice for this, add it again: pvx cluster qdevice add <QNetd address> (${fits})`;
}

/**
 * Without --via every other inventory node is read: one that could not be may be the member whose
 * view matters (say, the only quorate one), so nothing is judged on the rest. --via names the
 * member to judge from, and then only it must be read.
 */
function unreadCandidates(views: readonly Membership[], via: string | undefined): PvxError | undefined {
  if (via !== undefined) return undefined;
  const unread = views.filter((v): v is Extract<Membership, { kind: 'unreachable' | 'error' }> => v.kind === 'unreachable' || v.kind === 'error');
  if (unread.length === 0) return undefined;
  const read = views.find((v) => v.kind === 'member');
  const msg = `the cluster state of ${unread.map((v) => `${v.node} (${v.message})`).join(', ')} could not be read; nothing was changed`;
  const hint = read ? `to judge from ${read.node} alone, pass --via ${read.node}` : 'make the nodes reachable and run again';
  return unread.every((v) => v.kind === 'unreachable') ? new UnreachableError(unread[0]!.node, msg, { hint }) : new StepError(msg, { code: 'UNREADABLE', hint });
}
