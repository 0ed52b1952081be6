/**
 * `pvx cluster qdevice add <host>` and `pvx cluster qdevice remove`: every rule pvecm applies and
 * every prerequisite it assumes proven first (exit 3, nothing changed), then `pvecm qdevice
 * setup|remove` on one node, then the votes read back from corosync-quorumtool on every node.
 */
import type { Deps } from '../../context.js';
import { ChangedThenFailedError, PreflightError, StepError, UsageError, type PvxError } from '../../errors.js';
import { CLUSTER_PATHS, qdeviceProbe } from '../../pve/argv.js';
import { isIpAddress } from '../../pve/names.js';
import { parseCorosyncConf, summarizeCorosyncConf, type CorosyncQdevice } from '../../pve/parse/corosync-conf.js';
import { ParseError } from '../../pve/parse/errors.js';
import type { Transport } from '../../transport/types.js';
import type { Outcome } from '../../ui/report.js';
import { DEFAULT_TIMING, type Membership, type Timing } from '../../facts/node.js';
import { type Plan, type PlannedStep } from '../../workflows/plan.js';
import { changedWords, type PlanRun } from '../../workflows/execute.js';
import {
  membershipChecks,
  nodeCountCheck,
  packageCheck,
  planQdeviceAdd,
  planQdeviceRemove,
  qdeviceVotes,
  qnetdCheck,
  tcpCheck,
  votesStep,
  type QdeviceCheck,
  type QdeviceVotes,
  type VotesWanted,
} from '../../workflows/cluster/qdevice.js';
import { pvxCommandLine } from './nodes.js';
import { nothingRead } from '../shared/nothing-read.js';
import { scopeOfViews } from '../shared/cluster-lock.js';
import { journalFile, readStates, type StepReport } from '../shared/plan-run.js';
import { previewOrRunPlan } from '../shared/dry-run.js';

export type { QdeviceCheck, QdeviceVotes } from '../../workflows/cluster/qdevice.js';

/** The result of `cluster qdevice add|remove` (JSON `result`). */
export interface QdeviceResult {
  action: 'add' | 'remove';
  cluster: string;
  /** the QNetd address */
  host: string | null;
  outcome: 'added' | 'removed' | 'failed';
  summary: string;
  /** the votes every node showed in corosync-quorumtool -s at the end */
  votes: QdeviceVotes[];
  checks: QdeviceCheck[];
  steps: StepReport[];
  /** after a failure: the journal of every command run */
  journal?: string;
  /** after a failure: what to run next */
  recovery?: string;
}

/** The result of `--dry-run`: the exact native commands, and the checks that passed. */
export interface QdevicePlanResult {
  title: string;
  plan: PlannedStep[];
  checks: QdeviceCheck[];
}

/** Options of `cluster qdevice add`. */
export interface QdeviceAddOptions {
  host: string;
  force?: boolean | undefined;
  timing?: Timing;
}

/** Options of `cluster qdevice remove`. */
export interface QdeviceRemoveOptions {
  timing?: Timing;
}

type Member = Extract<Membership, { kind: 'member' }>;

/** What the first reads found. */
interface Reading {
  t: Transport;
  views: Map<string, Membership>;
  anchor: Member;
  lockKnown: string[];
}

/** Membership of every inventory node; the first quorate member (in inventory order) is where pvecm runs. */
async function readCluster(deps: Deps): Promise<Reading> {
  const inv = deps.inventory();
  const t = deps.transport(inv.nodes);
  const step = await deps.progress.start(`reading the cluster from ${inv.nodes.length} node(s)`);
  const views = await readStates(t, inv.nodes.map((n) => n.name));
  const unread = nothingRead(views);
  if (unread) {
    step.fail('no node could be read');
    throw unread;
  }
  const members = [...views.values()].filter((v): v is Member => v.kind === 'member');
  const anchor = members.find((m) => m.quorate) ?? members[0];
  if (!anchor) {
    step.fail('no cluster');
    throw new PreflightError(`none of ${[...views.keys()].join(', ')} is a cluster member: a QDevice needs a cluster`, { hint: 'create one first: pvx cluster create <name> --nodes …' });
  }
  step.succeed(`read cluster '${anchor.cluster}' (${anchor.configured.join(', ')})`);
  return { t, views, anchor, lockKnown: inv.nodes.map((n) => n.name) };
}

/** The QDevice of /etc/pve/corosync.conf on `node`; a file pvx cannot read refuses (exit 3). */
async function readConfQdevice(t: Transport, node: string): Promise<CorosyncQdevice | undefined> {
  const r = await t.exec(node, ['cat', CLUSTER_PATHS.pveCorosyncConf], { title: `read ${CLUSTER_PATHS.pveCorosyncConf}` });
  const unreadable = (why: string) => new PreflightError(`could not read ${CLUSTER_PATHS.pveCorosyncConf} on ${node}: ${why}`, { hint: 'nothing was changed' });
  if (r.exitCode !== 0) throw unreadable(r.stderr.trim().split('\n').pop() || `exit code ${r.exitCode}`);
  try {
    return summarizeCorosyncConf(parseCorosyncConf(r.stdout)).qdevice;
  } catch (e) {
    if (e instanceof ParseError) throw unreadable(e.message);
    throw e;
  }
}

function refuseIfFailed(what: string, checks: readonly QdeviceCheck[], hint: string): void {
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length === 0) return;
  throw new PreflightError(`${what}, nothing was changed:\n${failed.map((c) => `  ${c.node}: ${c.message}`).join('\n')}`, { hint, details: { checks: [...checks] } });
}

/** exit 4 when anything changed (by the plan, or as corosync.conf shows), else 1; the message names the journal and the recovery. */
function runError(deps: Deps, run: PlanRun, what: string, changed: boolean, recovery: string): PvxError {
  const f = run.failed;
  const message = f ? f.message : 'cancelled';
  const where = f ? ` at step ${f.index + 1} on ${f.step.node} (${f.step.title})` : '';
  const details = { failedStep: f ? { index: f.index + 1, node: f.step.node, title: f.step.title, message } : null, journal: journalFile(deps), recovery };
  if (changed) return new ChangedThenFailedError(`${what} failed ${changedWords(run)}${where}: ${message}\n  journal: ${journalFile(deps)}`, { hint: recovery, details });
  return new StepError(`${what} failed${where}, nothing changed in the cluster configuration: ${message}`, { hint: recovery, details });
}

/** Run `cluster qdevice add <host>`. */
export async function clusterQdeviceAdd(deps: Deps, opts: QdeviceAddOptions): Promise<Outcome<QdeviceResult | QdevicePlanResult>> {
  const command = 'cluster qdevice add';
  const host = opts.host;
  // pvecm's schema takes an IP address only (reference §1.1); a name would fail there after the checks
  if (!isIpAddress(host)) throw new UsageError(`'${host}' is not an IP address: pvecm qdevice setup takes the QNetd host's IP address`, { hint: 'e.g. pvx cluster qdevice add 10.0.0.5' });
  const force = opts.force === true;
  const timing = opts.timing ?? DEFAULT_TIMING;
  const inv = deps.inventory();
  const { t, views, anchor, lockKnown } = await readCluster(deps);
  const nodes = anchor.configured;

  const checking = await deps.progress.start(`checking the prerequisites of a QDevice on ${host}`);
  const checks = [...membershipChecks(anchor, views), nodeCountCheck(anchor, force)];
  const readable = nodes.filter((n) => views.get(n)?.kind === 'member');
  const perNode = await Promise.all(
    readable.map(async (n) => {
      const [tcp, pkg] = await Promise.all([
        t.exec(n, qdeviceProbe.tcp(host), { timeoutMs: 15_000, title: `TCP to ${host}:5403` }),
        t.exec(n, qdeviceProbe.packageStatus('corosync-qdevice'), { title: 'is corosync-qdevice installed' }),
      ]);
      return [tcpCheck(n, host, tcp), packageCheck(n, 'corosync-qdevice', pkg)];
    }),
  );
  checks.push(...perNode.flat());
  const setupNode = anchor.node;
  const existing = await readConfQdevice(t, setupNode);
  checks.push(
    existing
      ? { id: 'no-qdevice', node: setupNode, status: 'fail', message: `a QDevice is configured already (host ${existing.host ?? 'unknown'}): remove it first with pvx cluster qdevice remove` }
      : { id: 'no-qdevice', node: setupNode, status: 'ok', message: 'no QDevice configured yet' },
  );
  const ssh = await t.exec(setupNode, qdeviceProbe.qnetdOverSsh(host), { timeoutMs: 30_000, title: `root ssh to ${host}, corosync-qnetd status` });
  checks.push(qnetdCheck(setupNode, host, ssh));
  if (!force) {
    const store = await t.exec(setupNode, qdeviceProbe.certStore(), { title: 'is there a QDevice certificate store' });
    checks.push(
      store.exitCode === 0
        ? { id: 'cert-store', node: setupNode, status: 'fail', message: 'QDevice certificate store already initialised (/etc/corosync/qdevice/net/nssdb): pvecm refuses it without --force, which replaces it' }
        : { id: 'cert-store', node: setupNode, status: 'ok', message: 'no QDevice certificate store yet' },
    );
  }
  const failing = checks.some((c) => c.status === 'fail');
  if (failing) checking.fail('a prerequisite of the QDevice is missing');
  refuseIfFailed('the QDevice cannot be added', checks, 'fix each line above and run again');
  checking.succeed(`every prerequisite of a QDevice on ${host} holds`);

  const { votes } = qdeviceVotes(nodes.length);
  const want: VotesWanted = { expectedVotes: nodes.length + votes, qdevice: true };
  const seen = new Map<string, QdeviceVotes>();
  const plan: Plan = planQdeviceAdd({ setupNode, host, force, nodes, cluster: anchor.cluster }, (n) => votesStep(t, n, want, timing.quorumTimeoutMs, timing, seen));
  return previewOrRunPlan(deps, t, plan, {
    preview: (planned) => ({ command, result: { title: plan.title, plan: planned, checks }, exitCode: 0, warnings: [] }),
    options: { lock: scopeOfViews(views.values(), lockKnown) },
    then: async ({ run, steps }) => {
      const result: QdeviceResult = { action: 'add', cluster: anchor.cluster, host, outcome: 'added', summary: '', votes: [...seen.values()], checks, steps };
      if (!run.ok) {
        // a setup that stopped half-way may have written corosync.conf: read it rather than guess
        const written = run.changed || (await readConfQdevice(t, setupNode).then((q) => q !== undefined, () => true));
        const recovery = written
          ? `see corosync-quorumtool -s on each node; to take the QDevice out again: ${pvxCommandLine(inv, ['cluster', 'qdevice', 'remove'])}`
          : `fix the cause, then run again with --force (pvecm replaces the certificate store it may have made): ${pvxCommandLine(inv, ['cluster', 'qdevice', 'add', host, '--force'])}`;
        const error = runError(deps, run, `adding the QDevice ${host}`, written, recovery);
        Object.assign(result, { outcome: 'failed', summary: error.message.split('\n')[0] ?? '', journal: journalFile(deps), recovery });
        return { command, result, exitCode: error.exitCode, warnings: [], error };
      }
      result.summary = `added the QDevice ${host} to cluster '${anchor.cluster}': every node shows ${want.expectedVotes} expected votes and the Qdevice flag`;
      return { command, result, exitCode: 0, warnings: [] };
    },
  });
}

/** Run `cluster qdevice remove`. */
export async function clusterQdeviceRemove(deps: Deps, opts: QdeviceRemoveOptions = {}): Promise<Outcome<QdeviceResult | QdevicePlanResult>> {
  const command = 'cluster qdevice remove';
  const timing = opts.timing ?? DEFAULT_TIMING;
  const inv = deps.inventory();
  const { t, views, anchor, lockKnown } = await readCluster(deps);
  const nodes = anchor.configured;
  const checking = await deps.progress.start('checking that the QDevice can be removed');
  const checks = membershipChecks(anchor, views);
  const existing = await readConfQdevice(t, anchor.node);
  checks.push(
    existing
      ? { id: 'qdevice-configured', node: anchor.node, status: 'ok', message: `a QDevice is configured (host ${existing.host ?? 'unknown'})` }
      : { id: 'qdevice-configured', node: anchor.node, status: 'fail', message: `No QDevice configured in ${CLUSTER_PATHS.pveCorosyncConf}: nothing to remove` },
  );
  if (checks.some((c) => c.status === 'fail')) checking.fail('the QDevice cannot be removed now');
  refuseIfFailed('the QDevice cannot be removed', checks, 'pvecm qdevice remove needs every node online and a QDevice configured');
  checking.succeed('every node is online and a QDevice is configured');

  const host = existing?.host;
  const want: VotesWanted = { expectedVotes: nodes.length, qdevice: false };
  const seen = new Map<string, QdeviceVotes>();
  const plan = planQdeviceRemove({ node: anchor.node, host, nodes, cluster: anchor.cluster }, (n) => votesStep(t, n, want, timing.quorumTimeoutMs, timing, seen));
  return previewOrRunPlan(deps, t, plan, {
    preview: (planned) => ({ command, result: { title: plan.title, plan: planned, checks }, exitCode: 0, warnings: [] }),
    options: { lock: scopeOfViews(views.values(), lockKnown) },
    then: async ({ run, steps }) => {
      const result: QdeviceResult = { action: 'remove', cluster: anchor.cluster, host: host ?? null, outcome: 'removed', summary: '', votes: [...seen.values()], checks, steps };
      if (!run.ok) {
        const gone = run.changed || (await readConfQdevice(t, anchor.node).then((q) => q === undefined, () => true));
        const recovery = gone
          ? 'see corosync-quorumtool -s on each node: corosync-qdevice may still run on a node (systemctl stop corosync-qdevice there)'
          : `fix the cause, then run again: ${pvxCommandLine(inv, ['cluster', 'qdevice', 'remove'])}`;
        const error = runError(deps, run, 'removing the QDevice', gone, recovery);
        Object.assign(result, { outcome: 'failed', summary: error.message.split('\n')[0] ?? '', journal: journalFile(deps), recovery });
        return { command, result, exitCode: error.exitCode, warnings: [], error };
      }
      result.summary = `removed the QDevice${host ? ` ${host}` : ''} from cluster '${anchor.cluster}': every node shows ${nodes.length} expected votes and no Qdevice flag`;
      return { command, result, exitCode: 0, warnings: [] };
    },
  });
}
