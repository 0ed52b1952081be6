/**
 * `pvx ha add|set|remove`: the HA preflight and every guest's prerequisites first (exit 3, nothing
 * changed), then the native commands of the detected version, then a wait until the HA stack
 * shows each guest in the requested state (a request alone is not success).
 */
import type { Inventory } from '../../config/inventory.js';
import type { Deps } from '../../context.js';
import { ChangedThenFailedError, PreflightError, StepError, UsageError, type PvxError } from '../../errors.js';
import { haManager } from '../../pve/argv.js';
import { parseHaManagerStatus, type HaService } from '../../pve/parse/ha-manager-status.js';
import type { GuestResource } from '../../pve/parse/pvesh-resources.js';
import type { Transport } from '../../transport/types.js';
import type { Outcome } from '../../ui/report.js';
import { changedWords, type PlanRun } from '../../workflows/execute.js';
import { parseHaOptions, preferenceText, type HaInput, type HaOptions, type NodePreference } from '../../workflows/ha/options.js';
import type { HaState } from '../../pve/names.js';
import { planAdd, planRemove, planSet, type AddVerdict, type ConfigReading } from '../../workflows/ha/plan.js';
import { waitForHaStates } from '../../facts/ha-wait.js';
import { DEFAULT_TIMING, type Timing } from '../../facts/node.js';
import { resolveSelectors } from '../../workflows/guest-selectors.js';
import { type Plan, type PlannedStep, type Step } from '../../workflows/plan.js';
import { runPool } from '../../workflows/worker-pool.js';
import { journalFile, type StepReport } from '../shared/plan-run.js';
import { previewOrRunPlan } from '../shared/dry-run.js';
import { pvxCommandLine } from '../cluster/nodes.js';
import { readGuestConfig } from '../../facts/guest-config.js';
import { readHaState, type HaReading } from './read-state.js';
import type { LockScope } from '../shared/cluster-lock.js';

export type { HaInput } from '../../workflows/ha/options.js';

/** One guest in the result of `ha add|set|remove`. */
export interface HaGuestResult {
  vmid: number;
  sid: string;
  node: string;
  /** added | updated | removed | unchanged | refused */
  outcome: 'added' | 'updated' | 'removed' | 'unchanged' | 'refused';
  state?: HaState;
  note?: string;
  reasons?: string[];
}

/** The result of `ha add|set|remove` (JSON `result`). */
export interface HaChangeResult {
  action: 'add' | 'set' | 'remove';
  /** PVE major version and how node preferences are kept */
  pve: number;
  preferenceMode: 'groups' | 'rules';
  preference?: { kind: 'group' | 'rule'; id: string; created: boolean; nodes: string; strict: boolean };
  guests: HaGuestResult[];
  summary: string;
  steps: StepReport[];
}

/** The result of `--dry-run`. */
export interface HaPlanResult {
  title: string;
  pve: number;
  preferenceMode: 'groups' | 'rules';
  plan: PlannedStep[];
  guests: HaGuestResult[];
}

/** Test seams. */
export interface HaRunOptions {
  timing?: Timing;
}

const CONFIG_READS = 8;

function usage(problems: readonly string[], hint: string): UsageError {
  return new UsageError(problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems: ${problems.join('; ')}`, { hint });
}

/** Options valid and every node named in --nodes known to the inventory (exit 2 before any connection). */
function validated(deps: Deps, input: HaInput, hint: string): { o: HaOptions; inv: Inventory } {
  const { options, problems } = parseHaOptions(input);
  if (!options) throw usage(problems, hint);
  const inv = deps.inventory();
  const unknown = (options.preference?.nodes ?? []).map((n) => n.node).filter((n) => !inv.nodes.some((i) => i.name === n));
  if (unknown.length > 0) {
    throw new UsageError(`--nodes: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in the inventory ${inv.file}`, { hint: `known nodes: ${inv.nodes.map((n) => n.name).join(', ')}` });
  }
  return { o: options, inv };
}

/** The named guests, or exit 2 listing those the cluster does not have; nodes of --nodes must be cluster nodes too. */
function resolveGuests(o: HaOptions, r: HaReading): GuestResource[] {
  const { guests, unknown } = resolveSelectors(o.selectors, r.resources);
  if (unknown.length > 0) {
    throw new UsageError(`no such guest(s) in the cluster: ${unknown.join(', ')}`, {
      hint: `the cluster (read from ${r.facts.anchor}) has ${r.resources.guests.length} guest(s) on ${r.facts.clusterNodes.join(', ')}`,
      details: { unknown },
    });
  }
  const outside = (o.preference?.nodes ?? []).map((n) => n.node).filter((n) => !r.facts.clusterNodes.includes(n));
  if (outside.length > 0) throw new UsageError(`--nodes: ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not a node of the cluster (it has ${r.facts.clusterNodes.join(', ')})`);
  return guests;
}

/** Poll `ha-manager status` on the anchor (the text format of every version, reference §5.3). */
function statusReader(t: Transport, node: string): () => Promise<HaService[]> {
  return async () => {
    const r = await t.exec(node, haManager.status(), { timeoutMs: 30_000, title: 'read the HA status' });
    if (r.exitCode !== 0) throw new Error(r.stderr.trim() || `exit code ${r.exitCode}`);
    return parseHaManagerStatus(r.stdout).services;
  };
}

/** A step that waits until the HA stack shows every service in its wanted state. */
function waitStep(t: Transport, node: string, want: ReadonlyMap<string, HaState>, timeoutSec: number, timing: Timing): Step {
  const list = [...want].map(([sid, s]) => `${sid} ${s}`).join(', ');
  return {
    node,
    title: `wait until the HA stack shows ${list}`,
    argv: haManager.status(),
    mutates: false,
    run: async () => {
      const problem = await waitForHaStates(statusReader(t, node), want, timeoutSec * 1000, timing);
      return problem ? { ok: false, message: problem } : { ok: true, message: 'settled' };
    },
  };
}

function preferenceResult(p: { kind: 'group' | 'rule'; id: string; created: boolean } | undefined, pref: NodePreference | undefined): HaChangeResult['preference'] | undefined {
  if (!p || !pref) return undefined;
  return { ...p, nodes: preferenceText(pref.nodes), strict: pref.strict };
}

/** The cluster lock of an HA change: the node the commands run on, and every other online cluster node in the inventory. */
function haLockScope(r: HaReading, inv: Inventory): LockScope {
  const known = new Set(inv.nodes.map((n) => n.name));
  return { nodes: [r.facts.anchor], companions: r.resources.nodes.filter((n) => n.online && known.has(n.node) && n.node !== r.facts.anchor).map((n) => n.node) };
}

/** exit 4 when the plan changed anything, else 1; the message names the journal and what to do. */
function runFailure(deps: Deps, run: PlanRun, what: string, recovery: string): PvxError {
  const f = run.failed;
  const message = f ? f.message : 'cancelled';
  const where = f ? ` at step ${f.index + 1} on ${f.step.node} (${f.step.title})` : '';
  const details = { failedStep: f ? { index: f.index + 1, node: f.step.node, title: f.step.title, message } : null, journal: journalFile(deps) };
  if (run.changed) {
    return new ChangedThenFailedError(`${what} failed ${changedWords(run)}${where}: ${message}\n  journal: ${journalFile(deps)}`, { hint: recovery, details });
  }
  return new StepError(`${what} failed${where}, nothing changed: ${message}`, { hint: 'fix the cause above and run the same command again', details });
}

function guestResult(v: AddVerdict): HaGuestResult {
  const out: HaGuestResult = { vmid: v.guest.vmid, sid: v.sid, node: v.guest.node, outcome: v.kind === 'add' ? 'added' : v.kind === 'already' ? 'unchanged' : 'refused' };
  if (v.state !== undefined && v.kind !== 'already') out.state = v.state;
  if (v.stateNote) out.note = v.stateNote;
  if (v.kind === 'already') out.note = 'already an HA resource: left as it is (pvx ha set changes it)';
  if (v.reasons.length > 0) out.reasons = v.reasons;
  return out;
}

/** Run `pvx ha add`. */
export async function haAdd(deps: Deps, input: HaInput, ro: HaRunOptions = {}): Promise<Outcome<HaChangeResult | HaPlanResult>> {
  const { o, inv } = validated(deps, input, 'pvx ha add <guests…> [--nodes n1:prio,n2] [--strict] [--state started|stopped|disabled|ignored]; see pvx ha add --help');
  const t = deps.transport(inv.nodes);
  const r = await readHaState(deps, t, inv.nodes, { preferences: o.preference !== undefined });
  const guests = resolveGuests(o, r);
  const managed = new Set(r.services.map((s) => s.sid));
  const toRead = guests.filter((g) => !managed.has(`${g.type === 'qemu' ? 'vm' : 'ct'}:${g.vmid}`));
  const configs = new Map<number, ConfigReading>();
  if (toRead.length > 0) {
    const step = await deps.progress.start(`checking the disks of ${toRead.length} guest(s)`);
    const read = await runPool(toRead, CONFIG_READS, (g) => readGuestConfig(t, g));
    toRead.forEach((g, i) => {
      const c = read[i];
      if (c) configs.set(g.vmid, c);
    });
    step.succeed(`read the configuration of ${toRead.length} guest(s)`);
  }
  const d = planAdd(o, guests, configs, r.facts);
  const warnings = [...r.warnings, ...d.verdicts.flatMap((v) => v.warnings.map((w) => `${v.sid}: ${w}`))];
  for (const v of d.verdicts) if (v.kind === 'add' && v.stateNote) warnings.push(`${v.sid}: ${v.stateNote}`);
  const results = d.verdicts.map(guestResult);
  const refused = d.verdicts.filter((v) => v.kind === 'refused');
  if (refused.length > 0) {
    throw new PreflightError(`HA prerequisites not met, nothing was changed:\n${refused.map((v) => `  ${v.sid} (on ${v.guest.node}): ${v.reasons.join('; ')}`).join('\n')}`, {
      hint: 'fix each guest as its line says, or leave it out, and run again',
      details: { guests: results },
    });
  }
  const base = { pve: r.facts.major, preferenceMode: r.facts.mode };
  const adding = d.verdicts.filter((v) => v.kind === 'add');
  if (adding.length === 0) {
    return { command: 'ha add', result: { action: 'add', ...base, guests: results, summary: `every guest named is an HA resource already: nothing to do`, steps: [] }, exitCode: 0, warnings };
  }
  const timing = ro.timing ?? DEFAULT_TIMING;
  const want = new Map(adding.map((v) => [v.sid, v.state ?? 'started'] as const));
  const plan: Plan = { ...d.plan, steps: [...d.plan.steps, waitStep(t, r.facts.anchor, want, o.timeoutSec, timing)] };
  return previewOrRunPlan(deps, t, plan, {
    preview: (planned) => ({ command: 'ha add', result: { title: plan.title, ...base, plan: planned, guests: results }, exitCode: 0, warnings }),
    options: { lock: haLockScope(r, inv) },
    then: ({ run, steps }) => {
      const pref = preferenceResult(d.preference, o.preference);
      const result: HaChangeResult = { action: 'add', ...base, ...(pref ? { preference: pref } : {}), guests: results, summary: '', steps };
      if (!run.ok) {
        const undo = pvxCommandLine(inv, ['ha', 'remove', ...adding.map((v) => String(v.guest.vmid))]);
        const error = runFailure(deps, run, `adding ${adding.length} guest(s) to HA`, `see ha-manager status on ${r.facts.anchor}; run the same command again to finish, or undo with: ${undo}`);
        result.summary = error.message.split('\n')[0] ?? '';
        return { command: 'ha add', result, exitCode: error.exitCode, warnings, error };
      }
      const where = pref ? ` with ${pref.kind} ${pref.id} (${pref.nodes}${pref.strict ? ', strict' : ''})` : '';
      result.summary = `added ${adding.map((v) => `${v.sid} (${v.state})`).join(', ')} to HA${where}; the HA stack shows each in its state`;
      return { command: 'ha add', result, exitCode: 0, warnings };
    },
  });
}

/** Run `pvx ha remove`. */
export async function haRemove(deps: Deps, input: HaInput): Promise<Outcome<HaChangeResult | HaPlanResult>> {
  const { o, inv } = validated(deps, input, 'pvx ha remove <guests…>; see pvx ha remove --help');
  const t = deps.transport(inv.nodes);
  const r = await readHaState(deps, t, inv.nodes, { preferences: false });
  const guests = resolveGuests(o, r);
  const bySid = new Map(r.services.map((s) => [s.sid, s]));
  const sidOf = (g: GuestResource) => `${g.type === 'qemu' ? 'vm' : 'ct'}:${g.vmid}`;
  const removing = guests.filter((g) => bySid.has(sidOf(g)));
  const results: HaGuestResult[] = guests.map((g) => ({
    vmid: g.vmid,
    sid: sidOf(g),
    node: g.node,
    outcome: bySid.has(sidOf(g)) ? 'removed' : 'unchanged',
    ...(bySid.has(sidOf(g)) ? {} : { note: 'not an HA resource: nothing to remove' }),
  }));
  const base = { pve: r.facts.major, preferenceMode: r.facts.mode };
  if (removing.length === 0) return { command: 'ha remove', result: { action: 'remove', ...base, guests: results, summary: 'none of the guests is an HA resource: nothing to do', steps: [] }, exitCode: 0, warnings: r.warnings };
  const groupOf = new Map(r.services.flatMap((s) => (s.group ? [[s.sid, s.group] as const] : [])));
  const plan = planRemove(removing.map(sidOf), r.facts, groupOf);
  const gone = new Set(removing.map(sidOf));
  plan.steps.push({
    node: r.facts.anchor,
    title: `check that ${[...gone].join(', ')} left the HA status`,
    argv: haManager.status(),
    mutates: false,
    run: async () => {
      const services = await statusReader(t, r.facts.anchor)();
      // `deleting` is the CRM's last word on a removed resource: it is no longer configured
      const left = services.filter((s) => gone.has(s.sid) && s.state !== 'deleting').map((s) => s.sid);
      return left.length > 0 ? { ok: false, message: `still HA resources: ${left.join(', ')}` } : { ok: true };
    },
  });
  return previewOrRunPlan(deps, t, plan, {
    preview: (planned) => ({ command: 'ha remove', result: { title: plan.title, ...base, plan: planned, guests: results }, exitCode: 0, warnings: r.warnings }),
    options: { lock: haLockScope(r, inv) },
    then: ({ run, steps }) => {
      const result: HaChangeResult = { action: 'remove', ...base, guests: results, summary: '', steps };
      if (!run.ok) {
        const error = runFailure(deps, run, `removing ${removing.length} guest(s) from HA`, `see ha-manager config on ${r.facts.anchor}, then run the same command again`);
        result.summary = error.message.split('\n')[0] ?? '';
        return { command: 'ha remove', result, exitCode: error.exitCode, warnings: r.warnings, error };
      }
      result.summary = `removed ${[...gone].join(', ')} from HA; the guests keep their state (running or stopped)`;
      return { command: 'ha remove', result, exitCode: 0, warnings: r.warnings };
    },
  });
}

/** Run `pvx ha set <guest>`. */
export async function haSet(deps: Deps, input: HaInput, ro: HaRunOptions = {}): Promise<Outcome<HaChangeResult | HaPlanResult>> {
  const { o, inv } = validated(deps, input, 'pvx ha set <guest> [--state …] [--nodes n1:prio,…] [--strict] [--max-restart N] [--max-relocate N] [--comment …]');
  if (o.selectors.length !== 1 || o.selectors[0]?.kind !== 'vmid') throw new UsageError('pvx ha set changes one guest: name one VMID');
  if (!o.preference && !o.state && o.maxRestart === undefined && o.maxRelocate === undefined && o.comment === undefined) {
    throw new UsageError('nothing to change: give --state, --nodes, --max-restart, --max-relocate or --comment');
  }
  const t = deps.transport(inv.nodes);
  const r = await readHaState(deps, t, inv.nodes, { preferences: o.preference !== undefined });
  const [g] = resolveGuests(o, r);
  if (!g) throw new UsageError('no guest named');
  const sid = `${g.type === 'qemu' ? 'vm' : 'ct'}:${g.vmid}`;
  const svc = r.services.find((s) => s.sid === sid);
  if (!svc) throw new UsageError(`${sid} is not an HA resource`, { hint: `add it first: pvx ha add ${g.vmid}` });
  const base = { pve: r.facts.major, preferenceMode: r.facts.mode };
  const { plan, preference } = planSet(
    {
      sid,
      ...(o.preference ? { preference: o.preference } : {}),
      ...(o.state ? { state: o.state } : {}),
      ...(o.maxRestart !== undefined ? { maxRestart: o.maxRestart } : {}),
      ...(o.maxRelocate !== undefined ? { maxRelocate: o.maxRelocate } : {}),
      ...(o.comment !== undefined ? { comment: o.comment } : {}),
    },
    r.facts,
  );
  const guest: HaGuestResult = { vmid: g.vmid, sid, node: g.node, outcome: plan.steps.length > 0 ? 'updated' : 'unchanged', ...(o.state ? { state: o.state } : {}) };
  if (plan.steps.length === 0) return { command: 'ha set', result: { action: 'set', ...base, guests: [guest], summary: `${sid} already has that node preference: nothing to do`, steps: [] }, exitCode: 0, warnings: r.warnings };
  const timing = ro.timing ?? DEFAULT_TIMING;
  if (o.state) plan.steps.push(waitStep(t, r.facts.anchor, new Map([[sid, o.state]]), o.timeoutSec, timing));
  return previewOrRunPlan(deps, t, plan, {
    preview: (planned) => ({ command: 'ha set', result: { title: plan.title, ...base, plan: planned, guests: [guest] }, exitCode: 0, warnings: r.warnings }),
    options: { lock: haLockScope(r, inv) },
    then: ({ run, steps }) => {
      const pref = preferenceResult(preference, o.preference);
      const result: HaChangeResult = { action: 'set', ...base, ...(pref ? { preference: pref } : {}), guests: [guest], summary: '', steps };
      if (!run.ok) {
        const error = runFailure(deps, run, `changing ${sid}`, `see ha-manager status on ${r.facts.anchor}, then run the same command again`);
        result.summary = error.message.split('\n')[0] ?? '';
        return { command: 'ha set', result, exitCode: error.exitCode, warnings: r.warnings, error };
      }
      result.summary = `changed ${sid}${o.state ? `: the HA stack shows it ${o.state}` : ''}`;
      return { command: 'ha set', result, exitCode: 0, warnings: r.warnings };
    },
  });
}
