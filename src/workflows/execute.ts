/** The one plan executor: runs steps in order, judges each, undoes what it can on failure. */
import { UnreachableError } from '../errors.js';
import type { Transport } from '../transport/types.js';
import type { Plan, Step } from './plan.js';
import { lastLine } from '../pve/parse/text.js';
import { abortableSleep, realSleep, retryWithBackoff, type Sleep } from './worker-pool.js';

/** What the executor tells the UI as it goes. */
export type PlanEvent =
  | { type: 'started'; step: Step; index: number }
  | { type: 'succeeded'; step: Step; index: number; message?: string }
  | { type: 'skipped'; step: Step; index: number; message?: string }
  | { type: 'failed'; step: Step; index: number; message: string }
  | { type: 'undone'; step: Step; index: number; ok: boolean; message?: string };

/** How a plan run ended. */
export interface PlanRun {
  ok: boolean;
  /** steps that finished, in order */
  done: Step[];
  /** `cutOff`: the step's command was cut off (a broken connection, its time limit) and may have run */
  failed?: { step: Step; index: number; message: string; unreachable: boolean; cutOff: boolean };
  /** true when a mutating step finished and was not undone, or may have run (`uncertain`): the cluster changed */
  changed: boolean;
  /** the failed step, a change, was cut off while it ran: it may have run to its end on the node */
  uncertain: boolean;
  cancelled: boolean;
}

/** How a failed run's message says what changed: "after changes", or that a change may have run. */
export function changedWords(run: PlanRun): string {
  return run.uncertain && !run.done.some((s) => s.mutates) ? 'where a change may have run (its command was cut off)' : 'after changes';
}

/** Options of executePlan. */
export interface ExecuteOptions {
  onEvent?: (e: PlanEvent) => void | Promise<void>;
  /** checked between steps: Ctrl-C stops the plan at the next step boundary */
  signal?: AbortSignal;
  /** the pause before a step's retry (default: the real clock, cut short by `signal`) */
  sleep?: Sleep;
}

async function runStep(t: Transport, step: Step, opts: ExecuteOptions): Promise<{ ok: boolean; skipped?: boolean; message?: string; cutOff?: boolean }> {
  if (step.run) return step.run(t);
  const argv = step.argvAtRun ? step.argvAtRun() : step.argv;
  const once = () =>
    t.exec(step.node, argv, {
      mutates: step.mutates,
      title: step.title,
      ...(step.input ? { input: step.input() } : {}),
      ...(step.timeoutMs ? { timeoutMs: step.timeoutMs } : {}),
    });
  const signal = opts.signal;
  const r = step.retry
    ? await retryWithBackoff(once, step.retry.when, {
        delaysMs: step.retry.delaysMs,
        sleep: opts.sleep ?? (signal ? abortableSleep(signal) : realSleep),
        // after Ctrl-C no new try starts: the step fails as it stands
        mayRetry: () => !signal?.aborted,
      })
    : await once();
  if (r.skipped) return { ok: true, skipped: true };
  const judged = step.judge ? step.judge(r) : r.exitCode === 0 ? undefined : lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`;
  if (judged) return { ok: false, message: judged, ...(r.cutOff ? { cutOff: true } : {}) };
  if (step.verify) {
    const v = await step.verify(t);
    if (v) return { ok: false, message: v };
  }
  return { ok: true };
}

type StepResult = { ok: boolean; skipped?: boolean; message?: string; cutOff?: boolean; unreachable?: boolean };

/** A step's outcome, its exception turned into a failure. */
async function settle(t: Transport, step: Step, opts: ExecuteOptions): Promise<StepResult> {
  try {
    return await runStep(t, step, opts);
  } catch (e) {
    const unreachable = e instanceof UnreachableError;
    return { ok: false, message: e instanceof Error ? e.message : String(e), unreachable, ...(unreachable && !(e as UnreachableError).beforeCommand ? { cutOff: true } : {}) };
  }
}

/**
 * Start the group that begins at `first` (consecutive steps with its `group`): one chain per node,
 * each node's steps in plan order and none after its first failure (that one is reported, the
 * rest never run). Returns each step's outcome by index.
 */
function startGroup(steps: readonly Step[], first: number, t: Transport, opts: ExecuteOptions): Map<number, Promise<StepResult | undefined>> {
  const out = new Map<number, Promise<StepResult | undefined>>();
  // per node: whether its next step may run (its steps so far all succeeded)
  const goOn = new Map<string, Promise<boolean>>();
  for (let i = first; i < steps.length && steps[i]!.group === steps[first]!.group; i++) {
    const step = steps[i]!;
    const mine = (goOn.get(step.node) ?? Promise.resolve(true)).then((go) => (go ? settle(t, step, opts) : undefined));
    goOn.set(step.node, mine.then((r) => r?.ok === true));
    out.set(i, mine);
  }
  return out;
}

/** Run a plan step by step; never throws for a failing step, only reports it. */
export async function executePlan(plan: Plan, t: Transport, opts: ExecuteOptions = {}): Promise<PlanRun> {
  const done: Step[] = [];
  const emit = async (e: PlanEvent) => void (await opts.onEvent?.(e));
  let group = new Map<number, Promise<StepResult | undefined>>();
  // nothing a started group runs is left running when the executor returns
  const settled = () => Promise.all(group.values());
  for (const [index, step] of plan.steps.entries()) {
    if (opts.signal?.aborted) {
      await settled();
      return finish(done, undefined, true);
    }
    if (step.group !== undefined && !group.has(index)) group = startGroup(plan.steps, index, t, opts);
    await emit({ type: 'started', step, index });
    // a step of a started group that never ran (its node failed earlier) cannot be reached: the run stopped there
    const res: StepResult = (group.has(index) ? await group.get(index) : await settle(t, step, opts)) ?? { ok: false, message: 'not run' };
    const unreachable = res.unreachable === true;
    if (res.ok) {
      done.push(step);
      await emit(res.skipped ? { type: 'skipped', step, index, ...(res.message ? { message: res.message } : {}) } : { type: 'succeeded', step, index, ...(res.message ? { message: res.message } : {}) });
      continue;
    }
    const message = res.message ?? 'failed';
    await emit({ type: 'failed', step, index, message });
    await settled();
    const undone = await undo(done, t, emit, opts);
    return finish(undone, { step, index, message, unreachable, cutOff: res.cutOff === true }, false);
  }
  return finish(done, undefined, false);
}

/** Undo finished steps in reverse; returns the steps whose change remains. */
async function undo(done: Step[], t: Transport, emit: (e: PlanEvent) => Promise<void>, opts: ExecuteOptions): Promise<Step[]> {
  const remaining = [...done];
  for (let i = done.length - 1; i >= 0; i--) {
    const step = done[i]!;
    if (!step.mutates) continue;
    if (!step.undo || step.undo.length === 0) break; // earlier changes cannot be reversed past this one
    let ok = true;
    let message: string | undefined;
    for (const u of step.undo) {
      try {
        // an undo tries its retries even after Ctrl-C: it puts back what the run changed
        const r = await runStep(t, u, opts.sleep ? { sleep: opts.sleep } : {});
        if (!r.ok) {
          ok = false;
          message = r.message;
          break;
        }
      } catch (e) {
        ok = false;
        message = e instanceof Error ? e.message : String(e);
        break;
      }
    }
    await emit({ type: 'undone', step, index: i, ok, ...(message ? { message } : {}) });
    if (!ok) break;
    remaining.splice(i, 1);
  }
  return remaining;
}

function finish(remaining: Step[], failed: PlanRun['failed'], cancelled: boolean): PlanRun {
  const uncertain = failed?.cutOff === true && failed.step.mutates;
  const run: PlanRun = { ok: !failed && !cancelled, done: remaining, changed: uncertain || remaining.some((s) => s.mutates), uncertain, cancelled };
  if (failed) run.failed = failed;
  return run;
}

