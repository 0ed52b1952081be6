/**
 * `pvx migrate <guests…> --to <node>`: one read of the cluster, the checks of every guest, then a
 * worker pool that moves the guests that may go, each judged by its task output and by where it
 * is afterwards. `--dry-run` prints the exact native command per guest and node.
 */
import type { Deps } from '../../context.js';
import { CancelledError, StepError, UnreachableError, UsageError } from '../../errors.js';
import { cpuVendor } from '../../pve/argv-host.js';
import { pveshGet } from '../../pve/argv.js';
import { parseCpuVendor } from '../../pve/parse/cpuinfo.js';
import { ParseError } from '../../pve/parse/errors.js';
import { parseHaStatusCurrent, type HaServiceDetail } from '../../pve/parse/pvesh-ha-status.js';
import type { ClusterResources, GuestResource } from '../../pve/parse/pvesh-resources.js';
import { lastLine } from '../../pve/parse/text.js';
import type { Transport } from '../../transport/types.js';
import type { Outcome } from '../../ui/report.js';
import { guestLabel } from '../../pve/names.js';
import { decideGuest, haTargetStorageConflicts, memoryWarning, precheckGuest, withHaStates, type Decision, type MigrateFacts, type Move } from '../../workflows/migrate/checks.js';
import { runMove, type GuestResult } from '../../workflows/migrate/run.js';
import { parseSelectors, resolveSelectors } from '../../workflows/guest-selectors.js';
import { describePlan, type PlannedStep } from '../../workflows/plan.js';
import { ResourceReader } from '../../facts/resources.js';
import { abortableSleep, backoffDelays, runPool } from '../../workflows/worker-pool.js';
import { readHaServices } from '../../facts/ha.js';
import { readNode, type NodeView } from '../../facts/node.js';
import { readGuestConfig } from '../../facts/guest-config.js';
import { parseMigrateOptions, type MigrateInput, type MigrateOptions } from '../../workflows/migrate/options.js';
import { poolProgress } from './progress.js';
import { listenForInterrupt } from '../shared/interrupt.js';
import { previewOrRun } from '../shared/dry-run.js';
import { takeClusterLock, type HeldClusterLock, type LockScope } from '../shared/cluster-lock.js';

export type { MigrateInput } from '../../workflows/migrate/options.js';

/** The result of a run (CLI.md). */
export interface MigrateResult {
  guests: GuestResult[];
}

/** The result of `--dry-run`: the plan (CLI.md) and the guests that would not go. */
export interface MigratePlanResult {
  plan: PlannedStep[];
  title: string;
  skipped: GuestResult[];
}

const READ_TIMEOUT_MS = 60_000;
/** Waits before retrying a guest whose config lock was busy (PVE itself waits 10 s for a lock first). */
const LOCK_BACKOFF_MS = backoffDelays(2000, 4, 16_000);
/** Config reads at once: each is a session on its node's one SSH connection (sshd allows 10 by default). */
const READ_CONCURRENCY = 8;

function usage(problems: readonly string[], hint: string): UsageError {
  return new UsageError(problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems: ${problems.join('; ')}`, { hint });
}


/** Why nothing can move to the target, from its own view of the cluster and the resources. */
export function targetProblem(target: string, view: NodeView, res: ClusterResources): string | undefined {
  switch (view.kind) {
    case 'unreachable':
      return `the target ${target} cannot be reached: ${view.error.message}`;
    case 'standalone':
      return `the target ${target} is not in a cluster`;
    case 'corosync-down':
      return `the target ${target} is not part of the cluster right now: ${view.message}`;
    case 'error':
      return `the target ${target} could not tell its cluster state: ${view.message}`;
    case 'member': {
      const q = view.status.quorum;
      if (!q.quorate) return `the target ${target} is not quorate (${q.totalVotes} of ${q.expectedVotes} votes, ${q.quorum} needed)`;
      break;
    }
  }
  const node = res.nodes.find((n) => n.node === target);
  if (!node) return `${target} is not a node of this cluster`;
  if (!node.online) return `the target ${target} is ${node.status}`;
  return undefined;
}

/** A node's CPU vendor; `lost` says the node could not be reached for it. */
async function readVendor(t: Transport, node: string): Promise<{ vendor?: string; lost?: string }> {
  try {
    const r = await t.exec(node, cpuVendor(), { timeoutMs: READ_TIMEOUT_MS, title: 'read the CPU vendor' });
    const vendor = r.exitCode === 0 ? parseCpuVendor(r.stdout) : undefined;
    return vendor ? { vendor } : {};
  } catch (e) {
    if (e instanceof UnreachableError) return { lost: e.message };
    throw e;
  }
}

function skipped(g: GuestResource, target: string, reason: string): GuestResult {
  return { vmid: g.vmid, type: g.type, from: g.node, to: target, status: 'skipped', durationMs: 0, error: reason };
}

/**
 * A run that asks for --target-storage while naming HA-managed guests is bad input as a whole (exit 2,
 * nothing moves): the HA guests cannot honour it, and moving only the others would half-do the request.
 */
function haTargetStorageRefusal(
  guests: readonly GuestResource[],
  conflicts: ReadonlyArray<{ guest: GuestResource; reason: string }>,
  target: string,
  dryRun: boolean,
): Outcome<MigrateResult | MigratePlanResult> {
  const why = new Map(conflicts.map((c) => [c.guest.vmid, c.reason]));
  const labels = conflicts.map((c) => guestLabel(c.guest)).join(', ');
  const list = guests.map((g) =>
    skipped(g, target, why.get(g.vmid) ?? (g.node === target ? `already on ${target}` : `not run: --target-storage cannot apply to ${labels}, so nothing moved`)),
  );
  const error = new UsageError(`--target-storage cannot apply to HA-managed guest(s) ${labels}: ha-manager migrate takes no target storage; nothing was moved`, {
    hint: 'leave them out and move them in a run without --target-storage (their disks keep their storage IDs), move their disks first (qm disk move / pct move-volume), or take them out of HA (pvx ha remove)',
    details: { haManaged: conflicts.map((c) => c.guest.vmid) },
  });
  const result = dryRun ? { plan: [], title: `migrate 0 guest(s) to ${target}`, skipped: list } : { guests: list };
  return { command: 'migrate', result, exitCode: error.exitCode, warnings: [], error };
}

/** The exit code and error of a finished (or planned) migration: 0 only when every guest is on the target. */
function verdict(results: readonly GuestResult[], alreadyThere: ReadonlySet<number>, target: string, dryRun: boolean): { exitCode: 0 | 1; error?: StepError } {
  const failed = results.filter((r) => r.status === 'failed').length;
  const left = results.filter((r) => r.status === 'skipped' && !alreadyThere.has(r.vmid)).length;
  if (failed === 0 && left === 0) return { exitCode: 0 };
  const parts = [...(failed ? [`${failed} failed`] : []), ...(left ? [`${left} skipped`] : [])];
  const message = dryRun
    ? `${left} of ${results.length} guest(s) would not move to ${target} (skipped)`
    : `${failed + left} of ${results.length} guest(s) did not move to ${target}: ${parts.join(', ')}`;
  return {
    exitCode: 1,
    error: new StepError(message, {
      code: 'MIGRATE_INCOMPLETE',
      hint: "each guest's line says why; fix that and run the same command again (guests already on the target are left alone)",
    }),
  };
}

/** Run `pvx migrate`. */
export async function migrate(deps: Deps, input: MigrateInput): Promise<Outcome<MigrateResult | MigratePlanResult>> {
  const { options: o, problems } = parseMigrateOptions(input);
  const sel = parseSelectors(input.guests);
  const all = [...sel.problems, ...problems];
  if (!o || all.length > 0) throw usage(all, 'guests are VMIDs (100), ranges (100-110) or all@<node>; see pvx migrate --help');
  const inv = deps.inventory();
  if (!inv.nodes.some((n) => n.name === o.target)) {
    throw new UsageError(`--to: node '${o.target}' is not in the inventory ${inv.file}`, { hint: `known nodes: ${inv.nodes.map((n) => n.name).join(', ')}` });
  }
  const t = deps.transport(inv.nodes);
  const reader = new ResourceReader(t, [o.target, ...inv.nodes.map((n) => n.name).filter((n) => n !== o.target)]);

  const step = await deps.progress.start(`reading the cluster (from ${o.target} first)`);
  let read;
  let targetView: NodeView;
  let targetVendor: Awaited<ReturnType<typeof readVendor>>;
  let ha: Awaited<ReturnType<typeof readHaServices>>;
  try {
    [read, targetView, targetVendor, ha] = await Promise.all([reader.all(), readNode(t, o.target), readVendor(t, o.target), readHaServices(t, o.target)]);
  } catch (e) {
    step.fail('could not read the cluster');
    throw e;
  }
  const res = read.resources;
  const { guests: named, unknown } = resolveSelectors(sel.selectors, res);
  if (unknown.length > 0) {
    step.fail(`read the cluster from ${read.node}`);
    throw new UsageError(`no such guest(s) in the cluster: ${unknown.join(', ')}`, {
      hint: `the cluster (read from ${read.node}) has ${res.guests.length} guest(s) on ${res.nodes.map((n) => n.node).join(', ') || 'no nodes'}`,
      details: { unknown },
    });
  }
  step.succeed(`read the cluster from ${read.node}: ${named.length} guest(s) selected`);
  const guests = ha.ok ? withHaStates(named, ha.services) : named;
  const haConflicts = haTargetStorageConflicts(guests, o);
  if (haConflicts.length > 0) {
    // the refusal is shaped like what was asked for: a plan with every guest skipped, or the guests' results
    const refusal = (dryRun: boolean) => haTargetStorageRefusal(guests, haConflicts, o.target, dryRun);
    return previewOrRun(deps, { preview: () => refusal(true), run: async () => refusal(false) });
  }

  const facts: MigrateFacts = {
    inventory: new Set(inv.nodes.map((n) => n.name)),
    nodeStatus: new Map(res.nodes.map((n) => [n.node, n.status])),
    cpuVendor: new Map(),
    storages: res.storages,
  };
  // the target answered its first read but not a later one: what was not read must not be guessed
  const lost = targetVendor.lost ?? (!ha.ok && ha.unreachable ? ha.message : undefined);
  const tp = targetProblem(o.target, targetView, res) ?? (lost !== undefined ? `the target ${o.target} cannot be reached: ${lost}` : undefined);
  if (tp) facts.targetProblem = tp;

  const decisions = await decideAll(deps, t, guests, o, facts, targetVendor.vendor);
  const moves = decisions.flatMap((d) => (d.kind === 'move' ? [d.move] : []));
  const alreadyThere = new Set(decisions.flatMap((d) => (d.kind === 'skip' && d.alreadyThere ? [d.guest.vmid] : [])));
  const warnings = [...new Set(moves.flatMap((m) => m.warnings))];
  if (!ha.ok && !tp) warnings.push(`could not read the HA status from ${o.target} (${ha.message}): only guests whose resources show an HA state are treated as HA-managed`);
  const free = res.nodes.find((n) => n.node === o.target);
  const mem = memoryWarning(moves, o.target, free?.maxmem !== undefined && free.mem !== undefined ? free.maxmem - free.mem : undefined);
  if (mem) warnings.push(mem);
  const skips = new Map(decisions.flatMap((d) => (d.kind === 'skip' ? [[d.guest.vmid, skipped(d.guest, o.target, d.reason)] as const] : [])));

  return previewOrRun(deps, {
    preview: () => {
      const title = `migrate ${moves.length} guest(s) to ${o.target}${o.parallel > 1 ? `, ${o.parallel} at a time` : ''}`;
      const plan = describePlan({ title, steps: moves.map((m) => ({ node: m.node, title: m.title, argv: m.argv, mutates: true })) });
      const skippedList = [...skips.values()];
      const v = verdict(skippedList, alreadyThere, o.target, true);
      return { command: 'migrate', result: { plan, title, skipped: skippedList }, exitCode: v.exitCode, warnings, ...(v.error ? { error: v.error } : {}) };
    },
    run: async () => {
      // Ctrl-C starts no further guest and stops waiting on HA requests; the lock is released however the pool ends
      const interrupt = listenForInterrupt(deps);
      let lock: HeldClusterLock | undefined;
      let results: GuestResult[];
      try {
        if (moves.length > 0) lock = await takeClusterLock(deps, t, migrateLockScope(moves, o.target, res, inv.nodes.map((n) => n.name)));
        results = await movePool(deps, t, reader, o, guests.length, moves, skips, warnings, interrupt.signal);
      } finally {
        await lock?.release();
        interrupt.dispose();
      }
      const byId = new Map(results.map((r) => [r.vmid, r]));
      const ordered = guests.map((g) => byId.get(g.vmid) ?? skips.get(g.vmid) ?? skipped(g, o.target, 'not run'));
      for (const [node, why] of reader.passedOver) warnings.push(`${node} could not be read (${why}); the cluster resources were read from another member`);
      const notStarted = results.filter((r) => r.status === 'skipped').length;
      if (interrupt.signal.aborted && notStarted > 0) {
        const error = new CancelledError(`cancelled with Ctrl-C: ${notStarted} guest(s) not started; the guests already moving were finished`, {
          hint: 'run the same command again to move what is left (guests already on the target are left alone)',
        });
        return { command: 'migrate', result: { guests: ordered }, exitCode: error.exitCode, warnings, error };
      }
      const v = verdict(ordered, alreadyThere, o.target, false);
      return { command: 'migrate', result: { guests: ordered }, exitCode: v.exitCode, warnings, ...(v.error ? { error: v.error } : {}) };
    },
  });
}

/** The nodes a migration locks: the guests' nodes and the target, and every other online node of the cluster in the inventory. */
function migrateLockScope(moves: readonly Move[], target: string, res: ClusterResources, known: readonly string[]): LockScope {
  const nodes = [...new Set([target, ...moves.map((m) => m.node)])];
  return { nodes, companions: res.nodes.filter((n) => n.online && known.includes(n.node) && !nodes.includes(n.node)).map((n) => n.node) };
}

/** Move the guests, `o.parallel` at a time, with a line per guest as it ends; after Ctrl-C no further guest starts. */
async function movePool(
  deps: Deps,
  t: Transport,
  reader: ResourceReader,
  o: MigrateOptions,
  total: number,
  moves: readonly Move[],
  skips: ReadonlyMap<number, GuestResult>,
  warnings: readonly string[],
  signal: AbortSignal,
): Promise<GuestResult[]> {
  const progress = poolProgress(deps, o.target, total);
  for (const s of skips.values()) await progress.ended(guestLabel(s), `${guestLabel(s)} on ${s.from}: skipped: ${s.error}`, 'skip');
  for (const w of warnings) await progress.note(`warning: ${w}`);
  const pollMs = Math.min(2000, Math.max(250, Math.round((o.timeoutSec * 1000) / 10)));
  const results = await runPool(
    moves,
    o.parallel,
    async (m, _i, release) => {
      if (signal.aborted) return skipped(m.guest, o.target, 'not started: cancelled with Ctrl-C');
      await progress.started(guestLabel(m.guest));
      return runMove(m, {
        transport: t,
        reader,
        now: () => deps.now(),
        sleep: abortableSleep(signal),
        signal,
        target: o.target,
        timeoutMs: o.timeoutSec * 1000,
        pollMs,
        lockBackoffMs: LOCK_BACKOFF_MS,
        note: (text) => void progress.note(text),
        // the next guest may start while this one's new place is read back
        commandDone: release,
      });
    },
    async (r) => {
      const label = guestLabel(r);
      const time = `${(r.durationMs / 1000).toFixed(1)} s`;
      if (r.status === 'migrated') await progress.ended(label, `${label} ${r.from} → ${r.to}: migrated in ${time}`, 'succeed');
      else if (r.status === 'skipped') await progress.ended(label, `${label} on ${r.from}: skipped: ${r.error ?? ''}`, 'skip');
      else await progress.ended(label, `${label} ${r.from} → ${r.to}: failed after ${time}: ${r.error ?? ''}`, 'fail');
    },
  );
  await progress.flush();
  return results;
}

/** The verdict on every guest: prechecks, then (for those still going) CPU vendors and configurations, read in parallel. */
async function decideAll(deps: Deps, t: Transport, guests: readonly GuestResource[], o: MigrateOptions, facts: MigrateFacts, targetVendor: string | undefined): Promise<Decision[]> {
  const pre = guests.map((g) => ({ g, ...precheckGuest(g, o, facts) }));
  const going = pre.filter((p) => p.reasons.length === 0).map((p) => p.g);
  if (going.length === 0) return pre.map((p) => ({ kind: 'skip', guest: p.g, reason: p.reasons.join('; '), alreadyThere: p.alreadyThere }));

  const step = await deps.progress.start(`checking ${going.length} guest(s)`);
  const vendors = facts.cpuVendor as Map<string, string>;
  if (targetVendor) vendors.set(o.target, targetVendor);
  const liveSources = [...new Set(going.filter((g) => g.type === 'qemu' && g.status === 'running').map((g) => g.node))];
  const [, configs] = await Promise.all([
    Promise.all(
      liveSources.map(async (n) => {
        const v = (await readVendor(t, n)).vendor;
        if (v) vendors.set(n, v);
      }),
    ),
    runPool(going, READ_CONCURRENCY, (g) => readGuestConfig(t, g)),
  ]);
  const configOf = new Map(going.map((g, i) => [g.vmid, configs[i]]));
  const out: Decision[] = pre.map((p) => {
    if (p.reasons.length > 0) return { kind: 'skip', guest: p.g, reason: p.reasons.join('; '), alreadyThere: p.alreadyThere };
    const c = configOf.get(p.g.vmid);
    if (!c || !('config' in c)) return { kind: 'skip', guest: p.g, reason: c?.problem ?? 'its configuration was not read', alreadyThere: false };
    return decideGuest(p.g, c.config, o, facts);
  });
  const n = out.filter((d) => d.kind === 'move').length;
  step.succeed(`checked ${going.length} guest(s): ${n} can go`);
  return out;
}
