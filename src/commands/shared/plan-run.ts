/** Runs a cluster plan with progress per step, and turns a failure into the right error and exit code. */
import type { Deps } from '../../context.js';
import { stateDir } from '../../config/paths.js';
import { CancelledError, ChangedThenFailedError, StepError, UnreachableError, type PvxError } from '../../errors.js';
import { journalPath } from '../../transport/journal.js';
import type { Transport } from '../../transport/types.js';
import { changedWords, executePlan, type PlanRun } from '../../workflows/execute.js';
import { describeMembership, type Membership } from '../../facts/node.js';
import { describePlan, type Plan, type PlannedStep } from '../../workflows/plan.js';
import { workProgress } from '../../workflows/progress.js';
import type { Outcome } from '../../ui/report.js';
import { readMembership } from '../../facts/node.js';
import { listenForInterrupt } from './interrupt.js';
import { takeClusterLock, type HeldClusterLock, type LockScope } from './cluster-lock.js';

/** How one step of a run ended. */
export interface StepReport {
  node: string;
  title: string;
  command: string[];
  mutates: boolean;
  status: 'ok' | 'skipped' | 'failed' | 'undone' | 'not-run';
  durationMs?: number;
  message?: string;
}

/** Where a node stands, read after a failure. */
export interface NodeState {
  name: string;
  state: Membership['kind'];
  cluster?: string;
  quorate?: boolean;
  members?: string[];
  detail: string;
}

/** The result of `cluster create|join|remove-node|expected` (JSON `result`). */
export interface ClusterChangeResult {
  action: 'create' | 'join' | 'remove-node' | 'expected';
  cluster: string | null;
  outcome: 'created' | 'joined' | 'removed' | 'cleaned' | 'set' | 'unchanged' | 'failed';
  /** one line saying what happened */
  summary: string;
  /** configured members at the end, as verified (or as found, when unchanged) */
  members: string[];
  steps: StepReport[];
  /** after a failure: where each node stands now */
  nodes?: NodeState[];
  /** after a failure: the journal of every command run */
  journal?: string;
  /** after a failure: the command that continues from here */
  recovery?: string;
  /** after a success: what the user may want to do next */
  next?: string[];
}

/** The result of `--dry-run` (CLI.md: `{"plan":[{"node","title","command","mutates"}]}`). */
export interface PlanResult {
  plan: PlannedStep[];
  /** what the plan is for */
  title: string;
}

/** Options of runPlanWithProgress. */
export interface RunPlanOptions {
  /** stops the plan between steps; without one, Ctrl-C does that for the length of the run */
  signal?: AbortSignal;
  /** awaited before the first step and after each finished one (Ctrl-C meanwhile still stops the plan) */
  betweenSteps?: (nextIndex: number) => Promise<void>;
  /** the nodes whose cluster lock the run holds (default: the nodes of the plan's steps) */
  lock?: LockScope;
}

/**
 * Run the plan, one progress line (or spinner) per step; never throws for a failing step. The
 * cluster lock is taken before the first step (StepError LOCKED, exit 1, when another run holds
 * it; nothing has run then) and released however the run ends.
 */
export async function runPlanWithProgress(deps: Deps, t: Transport, plan: Plan, opts: RunPlanOptions = {}): Promise<{ run: PlanRun; steps: StepReport[] }> {
  const steps: StepReport[] = describePlan(plan).map((p) => ({ node: p.node, title: p.title, command: p.command, mutates: p.mutates, status: 'not-run' }));
  // one step at a time: the spinner names the step in flight
  const progress = workProgress(deps.progress, (running) => running.join(', '));
  let startedAt = 0;
  const label = (i: number) => `[${plan.steps[i]?.node}] ${plan.steps[i]?.title}`;
  const interrupt = opts.signal ? undefined : listenForInterrupt(deps);
  const signal = opts.signal ?? interrupt?.signal;
  let lock: HeldClusterLock | undefined;
  try {
    lock = await takeClusterLock(deps, t, opts.lock ?? { nodes: [...new Set(plan.steps.map((s) => s.node))] });
    await opts.betweenSteps?.(0);
    const run = await executePlan(plan, t, {
      ...(signal ? { signal } : {}),
      onEvent: async (e) => {
        const report = steps[e.index];
        if (!report) return;
        switch (e.type) {
          case 'started':
            startedAt = deps.now();
            await progress.started(label(e.index));
            return;
          case 'succeeded':
          case 'skipped':
            report.status = e.type === 'succeeded' ? 'ok' : 'skipped';
            report.durationMs = deps.now() - startedAt;
            if (e.message) report.message = e.message;
            await progress.ended(label(e.index), `${label(e.index)}${e.message ? deps.theme.c.dim(` (${e.message})`) : ''}`, e.type === 'succeeded' ? 'succeed' : 'skip');
            await opts.betweenSteps?.(e.index + 1);
            return;
          case 'failed':
            report.status = 'failed';
            report.durationMs = deps.now() - startedAt;
            report.message = e.message;
            await progress.ended(label(e.index), `${label(e.index)}: ${e.message}`, 'fail');
            return;
          case 'undone':
            report.status = e.ok ? 'undone' : report.status;
            await progress.aside(`${e.ok ? 'undone' : 'could not undo'}: ${label(e.index)}${e.message ? ` (${e.message})` : ''}`);
            return;
        }
      },
    });
    return { run, steps };
  } finally {
    await lock?.release();
    interrupt?.dispose();
  }
}

/** Read where each node stands now (after a failure), in parallel. */
export async function readStates(t: Transport, nodes: readonly string[]): Promise<Map<string, Membership>> {
  const views = await Promise.all(
    nodes.map(async (n) => {
      try {
        return await readMembership(t, n);
      } catch (e) {
        return { node: n, kind: 'error', message: e instanceof Error ? e.message : String(e) } satisfies Membership;
      }
    }),
  );
  return new Map(views.map((v) => [v.node, v]));
}

/** A membership as a node state of the result. */
export function nodeState(m: Membership): NodeState {
  const s: NodeState = { name: m.node, state: m.kind, detail: describeMembership(m) };
  if (m.kind === 'member') {
    s.cluster = m.cluster;
    s.quorate = m.quorate;
    s.members = m.configured;
  }
  return s;
}

function sameState(a: Membership | undefined, b: Membership | undefined): boolean {
  if (!a || !b) return true;
  if (a.kind === 'unreachable' || b.kind === 'unreachable' || a.kind === 'error' || b.kind === 'error') return true;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'member' && b.kind === 'member') return a.cluster === b.cluster && a.configured.join(',') === b.configured.join(',');
  return true;
}

/** The journal file of this user. */
export function journalFile(deps: Deps): string {
  return journalPath(stateDir(deps.pvx.stateDir, deps.env));
}

/** What a failed run means: exit 4 when anything changed (by the plan or as re-read), else 1 (or 6, or 130). */
export function failureError(
  deps: Deps,
  run: PlanRun,
  what: string,
  before: ReadonlyMap<string, Membership>,
  after: ReadonlyMap<string, Membership>,
  recovery: string,
): { error: PvxError; changed: boolean } {
  const failed = run.failed;
  const message = failed ? failed.message : 'cancelled';
  const changed = run.changed || [...after.entries()].some(([n, m]) => !sameState(before.get(n), m));
  const where = failed ? ` at step ${failed.index + 1} on ${failed.step.node} (${failed.step.title})` : '';
  const states = [...after.values()].map((m) => `${m.node}: ${describeMembership(m)}`);
  const journal = journalFile(deps);
  const details = { failedStep: failed ? { index: failed.index + 1, node: failed.step.node, title: failed.step.title, message } : null, nodes: [...after.values()].map(nodeState), journal, recovery };
  if (changed) {
    return {
      changed,
      error: new ChangedThenFailedError(`${what} failed ${changedWords(run)}${where}: ${message}\n${states.map((s) => `  ${s}`).join('\n')}\n  journal: ${journal}`, {
        hint: `fix the cause above, then continue with: ${recovery}`,
        details,
      }),
    };
  }
  if (run.cancelled) return { changed, error: new CancelledError(`${what} cancelled before any change`, { details }) };
  if (failed?.unreachable) return { changed, error: new UnreachableError(failed.step.node, `${what} stopped, nothing changed: ${message}`, { details }) };
  return { changed, error: new StepError(`${what} failed${where}, nothing changed: ${message}`, { hint: `fix the cause, then run again: ${recovery}`, details }) };
}

/** The outcome of a failed cluster change: re-read states, the error, the journal and the recovery command. */
export async function failedChangeOutcome(
  deps: Deps,
  t: Transport,
  o: {
    command: string;
    action: ClusterChangeResult['action'];
    cluster: string | null;
    what: string;
    run: PlanRun;
    steps: StepReport[];
    before: ReadonlyMap<string, Membership>;
    nodes: readonly string[];
    recovery: string;
    warnings: string[];
  },
): Promise<Outcome<ClusterChangeResult>> {
  const after = await readStates(t, o.nodes);
  const { error } = failureError(deps, o.run, o.what, o.before, after, o.recovery);
  return {
    command: o.command,
    result: {
      action: o.action,
      cluster: o.cluster,
      outcome: 'failed',
      summary: error.message.split('\n')[0] ?? '',
      members: [],
      steps: o.steps,
      nodes: [...after.values()].map(nodeState),
      journal: String(error.details?.['journal'] ?? ''),
      recovery: o.recovery,
    },
    exitCode: error.exitCode,
    warnings: o.warnings,
    error,
  };
}
