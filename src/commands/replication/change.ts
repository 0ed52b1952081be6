/**
 * `pvx replication add|remove|run`: prerequisites proven first (exit 3, nothing changed), then the
 * pvesr commands as a plan (`--dry-run` prints them), then proof from pvesr itself: the new job
 * listed, the removed one gone, a run finished with its result.
 */
import type { Inventory, InventoryNode } from '../../config/inventory.js';
import type { Deps } from '../../context.js';
import { ChangedThenFailedError, PreflightError, StepError, UsageError, type PvxError } from '../../errors.js';
import { readGuestConfig } from '../../facts/guest-config.js';
import { DEFAULT_TIMING, type Timing } from '../../facts/node.js';
import { pvesr, pvesrList } from '../../pve/argv.js';
import { guestLabel } from '../../pve/names.js';
import { excerptOf, ParseError } from '../../pve/parse/errors.js';
import { parsePvesmStatus, type PvesmStorage } from '../../pve/parse/pvesm-status.js';
import { parsePvesrStatus, type PvesrJob, type PvesrJobStatus } from '../../pve/parse/pvesr.js';
import type { GuestResource } from '../../pve/parse/pvesh-resources.js';
import { lastLine, meaningfulLines } from '../../pve/parse/text.js';
import type { ExecResult, Transport } from '../../transport/types.js';
import type { Outcome } from '../../ui/report.js';
import { changedWords, type PlanRun } from '../../workflows/execute.js';
import { type Plan, type PlannedStep, type Step } from '../../workflows/plan.js';
import { parseAddOptions, parseJobRef, type JobRef, type ReplicationAddInput } from '../../workflows/replication/options.js';
import { checkDisks, existingJobProblem, nextJobId, targetProblem } from '../../workflows/replication/prerequisites.js';
import { pvxCommandLine } from '../cluster/nodes.js';
import { journalFile, type StepReport } from '../shared/plan-run.js';
import { previewOrRunPlan } from '../shared/dry-run.js';
import { readJobs, readReplication, type ReplicationReading } from './read.js';

export type { ReplicationAddInput } from '../../workflows/replication/options.js';

/** A replication job as pvx reports it. */
export interface ReplicationJobInfo {
  id: string;
  vmid: number;
  /** the node the guest runs on, which sends the data */
  source: string;
  target: string;
  /** calendar event; pvesr's default `*\/15` when none was given */
  schedule: string;
  rateMbps?: number;
  comment?: string;
}

/** The result of `replication add|remove|run` (JSON `result`). */
export interface ReplicationChangeResult {
  action: 'add' | 'remove' | 'run';
  jobs: ReplicationJobInfo[];
  /** add: the volumes the job replicates */
  volumes?: string[];
  /** run: how each run ended, as pvesr status shows it afterwards */
  runs?: ReplicationRunResult[];
  summary: string;
  steps: StepReport[];
}

/** One finished run of `replication run`. */
export interface ReplicationRunResult {
  id: string;
  ok: boolean;
  lastSync?: string;
  durationSec?: number;
  failCount: number;
  state: string;
}

/** The result of `--dry-run`. */
export interface ReplicationPlanResult {
  title: string;
  plan: PlannedStep[];
  jobs: ReplicationJobInfo[];
  volumes?: string[];
}

/** Options of remove and run, as typed. */
export interface ReplicationRefInput {
  ref: string;
  keep?: boolean;
  timeout?: string;
}

/** Test seams. */
export interface ReplicationRunOptions {
  timing?: Timing;
}

const READ_TIMEOUT_MS = 60_000;
const DEFAULT_SCHEDULE = '*/15';
const RUN_TIMEOUT_SEC = 600;
const REMOVE_TIMEOUT_SEC = 300;

function timeoutOf(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[1-9][0-9]{0,5}$/.test(text)) throw new UsageError(`--timeout must be a whole number of seconds from 1, got '${excerptOf(text)}'`);
  return Number(text);
}

function inventoryNode(inv: Inventory, node: string, role: string): InventoryNode {
  const n = inv.nodes.find((x) => x.name === node);
  if (!n) throw new PreflightError(`${role} ${node} is not in the inventory ${inv.file}: pvx must reach it over SSH, nothing was changed`, { hint: `add ${node} to the inventory` });
  return n;
}

/**
 * The message of a failed pvesr command: the parameter lines of `400 Parameter verification
 * failed.` (reference §0.1), else its first line (what follows is the usage).
 */
export function pvesrFailure(r: ExecResult): string {
  const lines = meaningfulLines(r.stderr);
  if (/^400 Parameter verification failed\.$/.test(lines[0] ?? '')) {
    const params: string[] = [];
    for (const l of r.stderr.split('\n').slice(1)) {
      if (l.trim() === '') break;
      params.push(l.trim());
    }
    if (params.length > 0) return params.join('; ');
  }
  return lines[0] ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`;
}

/** exit 4 when the plan changed anything, else 1; the message names the journal. */
function runFailure(deps: Deps, run: PlanRun, what: string, recovery: string): PvxError {
  const f = run.failed;
  const message = f ? f.message : 'cancelled';
  const where = f ? ` at step ${f.index + 1} on ${f.step.node} (${f.step.title})` : '';
  const details = { failedStep: f ? { index: f.index + 1, node: f.step.node, title: f.step.title, message } : null, journal: journalFile(deps) };
  if (run.changed) return new ChangedThenFailedError(`${what} failed ${changedWords(run)}${where}: ${message}\n  journal: ${journalFile(deps)}`, { hint: recovery, details });
  return new StepError(`${what} failed${where}, nothing changed: ${message}`, { hint: 'fix the cause above and run the same command again', details });
}

function findGuest(r: ReplicationReading, vmid: number): GuestResource {
  const g = r.resources.guests.find((x) => x.vmid === vmid);
  if (!g) {
    throw new PreflightError(`guest ${vmid} does not exist in the cluster, nothing was changed`, {
      hint: `the cluster (read from ${r.anchor}) has ${r.resources.guests.length} guest(s): ${r.resources.guests.map((x) => x.vmid).join(', ') || 'none'}`,
    });
  }
  return g;
}

async function pvesmStatus(t: Transport, node: string): Promise<PvesmStorage[]> {
  const r = await t.exec(node, ['pvesm', 'status'], { timeoutMs: READ_TIMEOUT_MS, title: 'read the storages' });
  if (r.exitCode !== 0) throw new PreflightError(`pvesm status failed on ${node}: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}; nothing was changed`);
  try {
    return parsePvesmStatus(r.stdout).storages;
  } catch (e) {
    if (e instanceof ParseError) throw new PreflightError(`pvesm status on ${node} printed something pvx cannot read: ${e.message}`);
    throw e;
  }
}

function jobInfo(j: PvesrJob, source: string | undefined): ReplicationJobInfo {
  return { id: j.jobId, vmid: j.vmid, source: source ?? '', target: j.target, schedule: j.schedule, ...(j.rateMbps !== undefined ? { rateMbps: j.rateMbps } : {}) };
}

/** Run `pvx replication add <guest> --to <node>`. */
export async function replicationAdd(deps: Deps, input: ReplicationAddInput): Promise<Outcome<ReplicationChangeResult | ReplicationPlanResult>> {
  const { options: o, problems } = parseAddOptions(input);
  if (!o) {
    throw new UsageError(problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems: ${problems.join('; ')}`, {
      hint: 'pvx replication add <vmid> --to <node> [--schedule "*/15"] [--rate MB/s] [--comment text]; see pvx replication add --help',
    });
  }
  const inv = deps.inventory();
  const t = deps.transport(inv.nodes);
  const r = await readReplication(deps, t, inv.nodes);
  const guest = findGuest(r, o.vmid);
  const label = guestLabel(guest);
  const tp = targetProblem(guest, o.target, r.resources.nodes);
  const already = existingJobProblem(o.vmid, o.target, r.jobs);
  const refuse = (why: readonly string[]) =>
    new PreflightError(`cannot replicate ${label} (on ${guest.node}) to ${o.target}, nothing was changed:\n${why.map((w) => `  ${w}`).join('\n')}`, {
      hint: 'fix each line above and run the same command again',
      details: { guest: o.vmid, source: guest.node, target: o.target, problems: why },
    });
  if (tp || already) throw refuse([tp, already].filter((p): p is string => p !== undefined));
  const source = guest.node;
  inventoryNode(inv, source, 'the guest’s node');
  inventoryNode(inv, o.target, 'the target');
  const step = await deps.progress.start(`checking the disks of ${label} and the storages of ${source} and ${o.target}`);
  let verdict: ReturnType<typeof checkDisks>;
  try {
    const reading = await readGuestConfig(t, guest);
    if ('problem' in reading) throw refuse([reading.problem]);
    const [src, dst] = await Promise.all([pvesmStatus(t, source), pvesmStatus(t, o.target)]);
    verdict = checkDisks(guest, o.target, reading.config, r.resources.storages, { source: src, target: dst });
  } catch (e) {
    step.fail(`could not prove ${label} can be replicated to ${o.target}`);
    throw e;
  }
  if (verdict.problems.length > 0) {
    step.fail(`${label} cannot be replicated to ${o.target}`);
    throw refuse(verdict.problems);
  }
  step.succeed(`${label}: ${verdict.volumes.join(', ')} on zfspool storage that ${source} and ${o.target} both have`);
  const warnings = [...r.warnings, ...verdict.notes.map((n) => `${label}: ${n}`)];
  const id = nextJobId(o.vmid, r.jobs);
  const job: ReplicationJobInfo = {
    id,
    vmid: o.vmid,
    source,
    target: o.target,
    schedule: o.schedule ?? DEFAULT_SCHEDULE,
    ...(o.rateMbps !== undefined ? { rateMbps: o.rateMbps } : {}),
    ...(o.comment !== undefined ? { comment: o.comment } : {}),
  };
  const jobOpts = { ...(o.schedule !== undefined ? { schedule: o.schedule } : {}), ...(o.rateMbps !== undefined ? { rate: o.rateMbps } : {}), ...(o.comment !== undefined ? { comment: o.comment } : {}) };
  const plan: Plan = {
    title: `replicate ${label} from ${source} to ${o.target} (job ${id}, schedule ${job.schedule})`,
    steps: [
      {
        node: source,
        title: `create replication job ${id} of ${label} to ${o.target}`,
        argv: pvesr.createLocalJob(id, o.target, jobOpts),
        mutates: true,
        timeoutMs: READ_TIMEOUT_MS,
        judge: (res) => (res.exitCode === 0 ? undefined : pvesrFailure(res)),
        undo: [{ node: source, title: `remove replication job ${id}`, argv: pvesr.delete(id, false), mutates: true }],
      },
      {
        node: source,
        title: `check that pvesr lists job ${id} to ${o.target}`,
        argv: pvesrList(),
        mutates: false,
        run: async (tt) => {
          const listed = (await readJobs(tt, source)).jobs.find((j) => j.jobId === id);
          if (!listed) return { ok: false, message: `pvesr list on ${source} does not list job ${id}` };
          if (listed.target !== o.target) return { ok: false, message: `pvesr list shows job ${id} to ${listed.target}, not ${o.target}` };
          return { ok: true, message: `listed, schedule ${listed.schedule}` };
        },
      },
    ],
  };
  return previewOrRunPlan(deps, t, plan, {
    preview: (planned) => ({ command: 'replication add', result: { title: plan.title, plan: planned, jobs: [job], volumes: verdict.volumes }, exitCode: 0, warnings }),
    then: ({ run, steps }) => {
      const result: ReplicationChangeResult = { action: 'add', jobs: [job], volumes: verdict.volumes, summary: '', steps };
      if (!run.ok) {
        const f = run.failed;
        // pvesr has the last word on the schedule and the other values: its refusal is bad input
        if (f && f.index === 0 && !run.changed && /^(schedule|rate|comment): /.test(f.message)) {
          const error = new UsageError(`pvesr refused the job, nothing was changed: ${f.message}`, { hint: 'correct the value it names; see pvx replication add --help for the schedule format' });
          result.summary = error.message;
          return { command: 'replication add', result, exitCode: error.exitCode, warnings, error };
        }
        const error = runFailure(deps, run, `creating replication job ${id}`, `see pvesr list on ${source}; remove a half-made job with: ${pvxCommandLine(inv, ['replication', 'remove', id])}`);
        result.summary = error.message.split('\n')[0] ?? '';
        return { command: 'replication add', result, exitCode: error.exitCode, warnings, error };
      }
      result.summary = `job ${id} replicates ${label} from ${source} to ${o.target} on schedule ${job.schedule}${o.rateMbps !== undefined ? ` at up to ${o.rateMbps} MB/s` : ''}; the first sync runs when pvescheduler next finds it due (pvx replication run ${id} starts it now)`;
      return { command: 'replication add', result, exitCode: 0, warnings };
    },
  });
}

/** The jobs a reference names; exit 2 for a bad reference (before any node is touched). */
function refOf(text: string): JobRef {
  const { ref, problem } = parseJobRef(text);
  if (!ref) throw new UsageError(problem ?? 'no job named', { hint: 'name a job id (pvx replication list shows them) or a VMID' });
  return ref;
}

function matching(ref: JobRef, jobs: readonly PvesrJob[]): PvesrJob[] {
  return jobs.filter((j) => (ref.kind === 'job' ? j.jobId === ref.id : j.vmid === ref.vmid));
}

function refText(ref: JobRef): string {
  return ref.kind === 'job' ? `job ${ref.id}` : `guest ${ref.vmid}`;
}

/** Run `pvx replication remove <job|guest>`. */
export async function replicationRemove(deps: Deps, input: ReplicationRefInput, ro: ReplicationRunOptions = {}): Promise<Outcome<ReplicationChangeResult | ReplicationPlanResult>> {
  const ref = refOf(input.ref);
  const timeoutSec = timeoutOf(input.timeout, REMOVE_TIMEOUT_SEC);
  const keep = input.keep === true;
  const inv = deps.inventory();
  const t = deps.transport(inv.nodes);
  const r = await readReplication(deps, t, inv.nodes);
  const jobs = matching(ref, r.jobs);
  const sourceOf = (vmid: number) => r.resources.guests.find((g) => g.vmid === vmid)?.node;
  const infos = jobs.map((j) => jobInfo(j, sourceOf(j.vmid)));
  if (jobs.length === 0) {
    return { command: 'replication remove', result: { action: 'remove', jobs: [], summary: `${refText(ref)}: no such replication job, nothing to remove`, steps: [] }, exitCode: 0, warnings: r.warnings };
  }
  const timing = ro.timing ?? DEFAULT_TIMING;
  const ids = jobs.map((j) => j.jobId);
  const deletes: Step[] = jobs.map((j) => ({
    node: r.anchor,
    title: `mark replication job ${j.jobId} (to ${j.target}) for removal${keep ? ', keeping the replicated volumes on the target' : ''}`,
    argv: pvesr.delete(j.jobId, keep),
    mutates: true,
    timeoutMs: READ_TIMEOUT_MS,
    judge: (res) => (res.exitCode === 0 ? undefined : pvesrFailure(res)),
  }));
  const wait: Step = {
    node: r.anchor,
    title: `wait until pvescheduler has removed ${ids.join(', ')} (pvesr list no longer lists ${ids.length === 1 ? 'it' : 'them'})`,
    argv: pvesrList(),
    mutates: false,
    run: async (tt) => {
      const deadline = timing.now() + timeoutSec * 1000;
      for (;;) {
        const left = (await readJobs(tt, r.anchor)).jobs.filter((j) => ids.includes(j.jobId)).map((j) => j.jobId);
        if (left.length === 0) return { ok: true, message: 'removed' };
        if (timing.now() + timing.pollMs > deadline) {
          return { ok: false, message: `still listed after ${timeoutSec} s: ${left.join(', ')} (marked for removal; pvescheduler removes a job at its next run, which needs the guest's node online)` };
        }
        await timing.sleep(timing.pollMs);
      }
    },
  };
  const plan: Plan = { title: `remove replication ${ids.length === 1 ? 'job' : 'jobs'} ${ids.join(', ')}`, steps: [...deletes, wait] };
  return previewOrRunPlan(deps, t, plan, {
    preview: (planned) => ({ command: 'replication remove', result: { title: plan.title, plan: planned, jobs: infos }, exitCode: 0, warnings: r.warnings }),
    then: ({ run, steps }) => {
      const result: ReplicationChangeResult = { action: 'remove', jobs: infos, summary: '', steps };
      if (!run.ok) {
        const error = runFailure(deps, run, `removing ${ids.join(', ')}`, `pvx replication list shows what is left; run the same command again to finish`);
        result.summary = error.message.split('\n')[0] ?? '';
        return { command: 'replication remove', result, exitCode: error.exitCode, warnings: r.warnings, error };
      }
      result.summary = `removed ${ids.join(', ')}${keep ? '; the replicated volumes stay on the target' : ' and the replicated volumes on the target'}`;
      return { command: 'replication remove', result, exitCode: 0, warnings: r.warnings };
    },
  });
}

/** `pvesr status --guest <vmid>` on the guest's node: the row of one job, or why not. */
async function jobStatus(t: Transport, node: string, vmid: number, id: string): Promise<PvesrJobStatus | string> {
  const r = await t.exec(node, pvesr.status(vmid), { timeoutMs: READ_TIMEOUT_MS, title: `read the state of replication job ${id}` });
  if (r.exitCode !== 0) return `pvesr status failed on ${node}: ${pvesrFailure(r)}`;
  try {
    const row = parsePvesrStatus(r.stdout).jobs.find((j) => j.jobId === id);
    return row ?? `pvesr status on ${node} does not list job ${id}`;
  } catch (e) {
    if (e instanceof ParseError) return `pvesr status on ${node} printed something pvx cannot read: ${e.message}`;
    throw e;
  }
}

/** How a run that started after `before` ended, or undefined while it has not. */
export function runEnded(before: PvesrJobStatus, now: PvesrJobStatus): { ok: boolean } | undefined {
  if (now.state === 'SYNCING') return undefined;
  if (now.failCount > before.failCount) return { ok: false };
  if (now.lastSync !== undefined && now.lastSync !== before.lastSync) return now.failCount === 0 ? { ok: true } : { ok: false };
  return undefined;
}

/** Run `pvx replication run <job|guest>`: schedule now, wait for the run, report it. */
export async function replicationRun(deps: Deps, input: ReplicationRefInput, ro: ReplicationRunOptions = {}): Promise<Outcome<ReplicationChangeResult | ReplicationPlanResult>> {
  const ref = refOf(input.ref);
  const timeoutSec = timeoutOf(input.timeout, RUN_TIMEOUT_SEC);
  const inv = deps.inventory();
  const t = deps.transport(inv.nodes);
  const r = await readReplication(deps, t, inv.nodes);
  const jobs = matching(ref, r.jobs);
  if (jobs.length === 0) {
    throw new PreflightError(`${refText(ref)}: no such replication job, nothing was run`, { hint: `pvx replication list shows the jobs; pvx replication add ${ref.vmid} --to <node> makes one` });
  }
  const disabled = jobs.filter((j) => !j.enabled).map((j) => j.jobId);
  if (disabled.length > 0) throw new PreflightError(`replication ${disabled.join(', ')} ${disabled.length === 1 ? 'is' : 'are'} disabled: pvesr does not run a disabled job; nothing was run`, { hint: `enable it on a node: pvesr enable ${disabled[0]}` });
  const infos: ReplicationJobInfo[] = [];
  const before = new Map<string, PvesrJobStatus>();
  for (const j of jobs) {
    const g = findGuest(r, j.vmid);
    inventoryNode(inv, g.node, 'the guest’s node');
    infos.push(jobInfo(j, g.node));
    const st = await jobStatus(t, g.node, j.vmid, j.jobId);
    if (typeof st === 'string') throw new PreflightError(`${st}; nothing was run`);
    before.set(j.jobId, st);
  }
  const timing = ro.timing ?? DEFAULT_TIMING;
  const runs = new Map<string, ReplicationRunResult>();
  const steps: Step[] = infos.flatMap((j) => [
    {
      node: j.source,
      title: `schedule replication job ${j.id} (${j.source} → ${j.target}) to run now`,
      argv: pvesr.scheduleNow(j.id),
      mutates: true,
      timeoutMs: READ_TIMEOUT_MS,
      judge: (res: ExecResult) => (res.exitCode === 0 ? undefined : pvesrFailure(res)),
    },
    {
      node: j.source,
      title: `wait until pvescheduler has run job ${j.id}`,
      argv: pvesr.status(j.vmid),
      mutates: false,
      run: async (tt: Transport) => {
        const start = before.get(j.id);
        const deadline = timing.now() + timeoutSec * 1000;
        for (;;) {
          const now = await jobStatus(tt, j.source, j.vmid, j.id);
          if (typeof now === 'string') return { ok: false, message: now };
          const end = start ? runEnded(start, now) : undefined;
          if (end) {
            runs.set(j.id, { id: j.id, ok: end.ok, ...(now.lastSync !== undefined ? { lastSync: now.lastSync } : {}), ...(now.durationSec !== undefined ? { durationSec: now.durationSec } : {}), failCount: now.failCount, state: now.state });
            return end.ok ? { ok: true, message: `synced ${now.lastSync ?? ''} in ${now.durationSec ?? '?'} s` } : { ok: false, message: `the run failed (fail count ${now.failCount}): ${now.state}` };
          }
          if (timing.now() + timing.pollMs > deadline) return { ok: false, message: `no run of ${j.id} finished within ${timeoutSec} s (state ${now.state}, next sync ${now.nextSync ?? '-'}); is pvescheduler running on ${j.source}?` };
          await timing.sleep(timing.pollMs);
        }
      },
    },
  ]);
  const plan: Plan = { title: `run replication ${infos.map((j) => j.id).join(', ')} now`, steps };
  return previewOrRunPlan(deps, t, plan, {
    preview: (planned) => ({ command: 'replication run', result: { title: plan.title, plan: planned, jobs: infos }, exitCode: 0, warnings: r.warnings }),
    then: ({ run, steps: reports }) => {
      const result: ReplicationChangeResult = { action: 'run', jobs: infos, runs: [...runs.values()], summary: '', steps: reports };
      if (!run.ok) {
        const f = run.failed;
        // scheduling a run changes no configuration: a failed run or wait is a failed step (exit 1)
        const error = new StepError(`replication run failed${f ? ` at step ${f.index + 1} on ${f.step.node} (${f.step.title})` : ''}: ${f?.message ?? 'cancelled'}`, {
          hint: `pvx replication status --node ${infos[0]?.source ?? r.anchor} shows the job's state; the log is /var/log/pve/replicate/<job id> on that node`,
          details: { journal: journalFile(deps) },
        });
        result.summary = error.message;
        return { command: 'replication run', result, exitCode: error.exitCode, warnings: r.warnings, error };
      }
      result.summary = [...runs.values()].map((x) => `job ${x.id} synced at ${x.lastSync ?? '?'} in ${x.durationSec ?? '?'} s`).join('; ');
      return { command: 'replication run', result, exitCode: 0, warnings: r.warnings };
    },
  });
}
