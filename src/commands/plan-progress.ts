/**
 * Runs a plan with one progress line per step, stoppable with Ctrl-C between steps, with an
 * optional hold before a node's first step (PVX_TEARDOWN_HOLD) so a rehearsal can break that
 * node at an exact point.
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { Deps } from '../context.js';
import { UsageError } from '../errors.js';
import type { Transport } from '../transport/types.js';
import type { StepProgress } from '../ui/progress.js';
import { executePlan, type PlanRun } from '../workflows/execute.js';
import { describePlan, type Plan } from '../workflows/plan.js';
import type { StepReport } from './cluster-plan-run.js';

/** Ctrl-C as an AbortSignal for the executor; the first press stops at the next step boundary. */
export interface Interrupt {
  signal: AbortSignal;
  dispose(): void;
}

/** Listen for SIGINT while a plan runs; a node is never left in the middle of a step. */
export function listenForInterrupt(deps: Deps): Interrupt {
  const ac = new AbortController();
  const onSigint = (): void => {
    if (!ac.signal.aborted) {
      ac.abort();
      deps.progress.note('Ctrl-C: stopping after the current step, so that no node is left in the middle of one');
    } else {
      deps.progress.note('still finishing the current step; pvx stops right after it');
    }
  };
  process.on('SIGINT', onSigint);
  return { signal: ac.signal, dispose: () => void process.off('SIGINT', onSigint) };
}

/** A hold: before the first step on `node`, create `file` and wait until it is removed. */
export interface Hold {
  node: string;
  file: string;
}

/** Parse `PVX_TEARDOWN_HOLD=<node>:<file>`; undefined when unset. */
export function parseHold(value: string | undefined): Hold | undefined {
  if (value === undefined || value === '') return undefined;
  const at = value.indexOf(':');
  const node = value.slice(0, at);
  const file = value.slice(at + 1);
  if (at <= 0 || !file.startsWith('/')) throw new UsageError(`PVX_TEARDOWN_HOLD must be <node>:<absolute file>, got '${value}'`);
  return { node, file };
}

/** Create the hold file and wait until someone removes it (or Ctrl-C). */
export async function waitAtHold(hold: Hold, signal: AbortSignal | undefined, note: (t: string) => void): Promise<void> {
  writeFileSync(hold.file, `${hold.node}\n`);
  note(`holding before the first step on ${hold.node} until ${hold.file} is removed`);
  while (existsSync(hold.file) && !signal?.aborted) await new Promise((r) => setTimeout(r, 100));
}

/** Options of runPlanSteps. */
export interface RunPlanOptions {
  signal?: AbortSignal;
  /** awaited before the first step and after each finished one (Ctrl-C meanwhile still stops the plan) */
  betweenSteps?: (nextIndex: number) => Promise<void>;
}

/** Run the plan, one progress line (or spinner) per step; never throws for a failing step. */
export async function runPlanSteps(deps: Deps, t: Transport, plan: Plan, opts: RunPlanOptions = {}): Promise<{ run: PlanRun; steps: StepReport[] }> {
  const steps: StepReport[] = describePlan(plan).map((p) => ({ node: p.node, title: p.title, command: p.command, mutates: p.mutates, status: 'not-run' }));
  let current: StepProgress | undefined;
  let startedAt = 0;
  const label = (i: number) => `[${plan.steps[i]?.node}] ${plan.steps[i]?.title}`;
  await opts.betweenSteps?.(0);
  const run = await executePlan(plan, t, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    onEvent: async (e) => {
      const report = steps[e.index];
      if (!report) return;
      switch (e.type) {
        case 'started':
          startedAt = deps.now();
          current = await deps.progress.start(label(e.index));
          return;
        case 'succeeded':
        case 'skipped':
          report.status = e.type === 'succeeded' ? 'ok' : 'skipped';
          report.durationMs = deps.now() - startedAt;
          if (e.message) report.message = e.message;
          current?.[e.type === 'succeeded' ? 'succeed' : 'skip'](`${label(e.index)}${e.message ? deps.theme.c.dim(` (${e.message})`) : ''}`);
          await opts.betweenSteps?.(e.index + 1);
          return;
        case 'failed':
          report.status = 'failed';
          report.durationMs = deps.now() - startedAt;
          report.message = e.message;
          current?.fail(`${label(e.index)}: ${e.message}`);
          return;
        case 'undone':
          report.status = e.ok ? 'undone' : report.status;
          deps.progress.note(`${e.ok ? 'undone' : 'could not undo'}: ${label(e.index)}${e.message ? ` (${e.message})` : ''}`);
          return;
      }
    },
  });
  return { run, steps };
}
