/**
 * The one place where --dry-run is decided. A command reads, decides and builds what it would do,
 * then hands it on with the outcome to show instead: under --dry-run that preview is the outcome
 * (nothing is asked, locked or run; the transport records any write that a read let slip),
 * otherwise the change runs. Commands therefore never test the flag themselves.
 */
import type { Deps } from '../../context.js';
import type { Transport } from '../../transport/types.js';
import type { PlanRun } from '../../workflows/execute.js';
import { describePlan, type Plan, type PlannedStep } from '../../workflows/plan.js';
import type { Outcome } from '../../ui/report.js';
import { runPlanWithProgress, type RunPlanOptions, type StepReport } from './plan-run.js';

/** A change handed on: the outcome to show under --dry-run, and the run itself. */
export interface HandedChange<P, R> {
  /** the outcome of --dry-run: what would be done */
  preview(): Outcome<P>;
  /** the change itself, run only without --dry-run */
  run(): Promise<Outcome<R>>;
}

/** Show the preview under --dry-run, else run the change. */
export async function previewOrRun<P, R>(deps: Deps, change: HandedChange<P, R>): Promise<Outcome<P | R>> {
  return deps.globals.dryRun ? change.preview() : change.run();
}

/** A plan handed on to the plan runner. */
export interface HandedPlan<P, R> {
  /** the outcome of --dry-run, given the plan as it prints (secrets only as a stdin marker) */
  preview(plan: PlannedStep[]): Outcome<P>;
  /** asked just before the run (never under --dry-run); rejects when the change may not go ahead */
  confirm?: () => Promise<void>;
  /** how the plan runs (lock scope, signal) */
  options?: RunPlanOptions;
  /** the outcome of the run, from how it went */
  then(done: { run: PlanRun; steps: StepReport[] }): Outcome<R> | Promise<Outcome<R>>;
}

/** Hand a plan on: under --dry-run its preview is the outcome; otherwise confirm, run it with progress per step, and read the run. */
export function previewOrRunPlan<P, R>(deps: Deps, t: Transport, plan: Plan, h: HandedPlan<P, R>): Promise<Outcome<P | R>> {
  return previewOrRun(deps, {
    preview: () => h.preview(describePlan(plan)),
    run: async () => {
      await h.confirm?.();
      return h.then(await runPlanWithProgress(deps, t, plan, h.options));
    },
  });
}
