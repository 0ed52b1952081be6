/** Plans: ordered steps with the exact argv per node, built before anything changes. */
import type { ExecResult, Transport } from '../transport/types.js';

/** One step of a plan. */
export interface Step {
  node: string;
  title: string;
  /** the exact native command; for a `run` step, the command it stands for in the printed plan */
  argv: string[];
  /** the argv to run when it depends on what an earlier step read (a fingerprint known only after create); `argv` is then what the plan prints */
  argvAtRun?: () => string[];
  mutates: boolean;
  /** fed on stdin and never printed, logged or journaled (passwords) */
  input?: () => string;
  timeoutMs?: number;
  /** why a finished command still failed (output says so though the exit code is 0), or undefined */
  judge?: (r: ExecResult) => string | undefined;
  /** a custom action instead of running argv once (polling, multi-command reads) */
  run?: (t: Transport) => Promise<StepOutcome>;
  /** run argv again after these pauses while `when` says the failure changed nothing (a lock another task held) */
  retry?: { when: (r: ExecResult) => boolean; delaysMs: readonly number[] };
  /** re-read state after the step; a message when the change did not take */
  verify?: (t: Transport) => Promise<string | undefined>;
  /** steps that reverse this one, run in reverse order when a later step fails */
  undo?: Step[];
  /**
   * Consecutive steps with the same group run at once, one chain per node (a node's steps in plan
   * order, stopping at its first failure); they are reported in plan order as if run one by one.
   * Only for checks whose order across nodes does not matter (the final verification).
   */
  group?: string;
}

/** What a custom step reports. */
export interface StepOutcome {
  ok: boolean;
  message?: string;
  /** true when the step found nothing to do */
  skipped?: boolean;
}

/** A plan: a title and its steps, in order. */
export interface Plan {
  title: string;
  steps: Step[];
}

/** A plan step as dry-run prints it (CLI.md: `{"plan":[{"node","title","command","mutates"}]}`). */
export interface PlannedStep {
  node: string;
  title: string;
  command: string[];
  mutates: boolean;
  stdin?: 'secret';
}

/** The printable form of a plan; secrets show only as a marker that stdin is used. */
export function describePlan(plan: Plan): PlannedStep[] {
  return plan.steps.map((s) => ({
    node: s.node,
    title: s.title,
    command: [...s.argv],
    mutates: s.mutates,
    ...(s.input ? { stdin: 'secret' as const } : {}),
  }));
}
