/**
 * `pvx node drain <node>`: one read of the cluster and of each target, a placement of every guest
 * of the node (src/workflows/node/placement.ts, on migrate's own checks), then migrate's worker
 * pool moving each guest to its target. `--dry-run` prints the placement and the exact commands.
 */
import type { Deps } from '../../context.js';
import { CancelledError, PreflightError, StepError, UnreachableError, UsageError } from '../../errors.js';
import { cpuVendor } from '../../pve/argv-host.js';
import { parseCpuVendor } from '../../pve/parse/cpuinfo.js';
import type { ClusterResources, GuestResource } from '../../pve/parse/pvesh-resources.js';
import { guestLabel } from '../../pve/names.js';
import type { Transport } from '../../transport/types.js';
import type { Outcome } from '../../ui/report.js';
import { ResourceReader } from '../../facts/resources.js';
import { readHaServices } from '../../facts/ha.js';
import { readNode } from '../../facts/node.js';
import { readGuestConfig } from '../../facts/guest-config.js';
import { withHaStates } from '../../workflows/migrate/checks.js';
import { runMove, type GuestResult } from '../../workflows/migrate/run.js';
import { placeGuests, type Placement, type PlacementGuest, type PlacementTarget } from '../../workflows/node/placement.js';
import { parseNodeMoveOptions, type NodeMoveInput, type NodeMoveOptions } from '../../workflows/node/options.js';
import { describePlan, type PlannedStep } from '../../workflows/plan.js';
import { abortableSleep, backoffDelays, runPool } from '../../workflows/worker-pool.js';
import { takeClusterLock, type HeldClusterLock } from '../shared/cluster-lock.js';
import { listenForInterrupt } from '../shared/interrupt.js';
import { poolProgress } from '../migrate/progress.js';
import { targetProblem } from '../migrate/run.js';
import { previewOrRun } from '../shared/dry-run.js';

export type { NodeMoveInput } from '../../workflows/node/options.js';

/** How one guest of the node ended. */
export interface DrainGuestResult {
  vmid: number;
  type: 'qemu' | 'lxc';
  from: string;
  /** the node it was placed on; null when it fits nowhere */
  target: string | null;
  status: 'migrated' | 'failed' | 'skipped';
  durationMs: number;
  reason?: string;
}

/** Where one guest would go (dry run). */
export interface DrainPlacement {
  vmid: number;
  type: 'qemu' | 'lxc';
  from: string;
  target: string | null;
  reason?: string;
}

/** The result of a drain. */
export interface DrainResult {
  node: string;
  guests: DrainGuestResult[];
}

/** The result of `--dry-run`: the placement and the exact commands. */
export interface DrainPlanResult {
  node: string;
  title: string;
  plan: PlannedStep[];
  placement: DrainPlacement[];
}

const READ_TIMEOUT_MS = 60_000;
const LOCK_BACKOFF_MS = backoffDelays(2000, 4, 16_000);
const READ_CONCURRENCY = 8;

/** What was read before anything moves. */
export interface NodeFacts {
  t: Transport;
  reader: ResourceReader;
  res: ClusterResources;
  /** the node's guests, with the HA state the HA stack reports */
  guests: GuestResource[];
  targets: PlacementTarget[];
  sourceVendor?: string;
  inventory: Set<string>;
  /** the HA status could not be read: only guests whose resources show an HA state count as HA-managed */
  haUnread?: string;
}

/** Validated options, or exit 2 naming every problem; also checks the nodes against the inventory. */
export function nodeMoveOptions(deps: Deps, input: NodeMoveInput, help: string): NodeMoveOptions {
  const { options: o, problems } = parseNodeMoveOptions(input);
  if (!o) throw new UsageError(problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems: ${problems.join('; ')}`, { hint: help });
  const inv = deps.inventory();
  const known = inv.nodes.map((n) => n.name);
  const unknown = [o.node, ...(o.to ?? [])].filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new UsageError(`not in the inventory ${inv.file}: ${unknown.join(', ')}`, { hint: `known nodes: ${known.join(', ')}` });
  return o;
}

/** A node's CPU vendor, or undefined when it could not be read. */
export async function readVendor(t: Transport, node: string): Promise<string | undefined> {
  try {
    const r = await t.exec(node, cpuVendor(), { timeoutMs: READ_TIMEOUT_MS, title: 'read the CPU vendor' });
    return r.exitCode === 0 ? parseCpuVendor(r.stdout) : undefined;
  } catch (e) {
    if (e instanceof UnreachableError) return undefined;
    throw e;
  }
}

/**
 * Read the cluster (from a target first), each target's own view, the CPU vendors and the HA
 * status. The node being emptied must be online and reachable, and at least one target usable,
 * else exit 3 before anything changes.
 */
export async function readNodeFacts(deps: Deps, o: NodeMoveOptions): Promise<NodeFacts> {
  const inv = deps.inventory();
  const t = deps.transport(inv.nodes);
  const others = inv.nodes.map((n) => n.name).filter((n) => n !== o.node);
  const reader = new ResourceReader(t, [...(o.to ?? others), ...others, o.node].filter((n, i, a) => a.indexOf(n) === i));
  const step = await deps.progress.start('reading the cluster');
  let read;
  let sourceView;
  try {
    [read, sourceView] = await Promise.all([reader.all(), readNode(t, o.node)]);
  } catch (e) {
    step.fail('could not read the cluster');
    throw e;
  }
  const res = read.resources;
  const src = res.nodes.find((n) => n.node === o.node);
  const srcProblem = !src
    ? `${o.node} is not a node of this cluster (read from ${read.node})`
    : !src.online
      ? `${o.node} is ${src.status}: its guests cannot be migrated from it (the HA stack recovers HA guests once it is fenced)`
      : sourceView.kind === 'unreachable'
        ? `${o.node} cannot be reached: ${sourceView.error.message}`
        : undefined;
  if (srcProblem) {
    step.fail(`read the cluster from ${read.node}`);
    throw new PreflightError(srcProblem, { hint: `check ${o.node}; nothing was changed` });
  }
  const names = o.to ?? res.nodes.filter((n) => n.node !== o.node && n.online && inv.nodes.some((x) => x.name === n.node)).map((n) => n.node);
  const targets = await Promise.all(
    names.map(async (node): Promise<PlacementTarget> => {
      const [view, vendor] = await Promise.all([readNode(t, node), readVendor(t, node)]);
      const r = res.nodes.find((n) => n.node === node);
      const problem = targetProblem(node, view, res);
      return {
        node,
        ...(r?.maxmem !== undefined && r.mem !== undefined ? { freeMem: r.maxmem - r.mem } : {}),
        ...(r?.maxcpu !== undefined ? { maxcpu: r.maxcpu } : {}),
        ...(vendor !== undefined ? { cpuVendor: vendor } : {}),
        ...(problem !== undefined ? { problem } : {}),
      };
    }),
  );
  const usable = targets.filter((x) => x.problem === undefined);
  if (usable.length === 0) {
    step.fail(`read the cluster from ${read.node}`);
    const why = targets.map((x) => x.problem).join('; ');
    throw new PreflightError(targets.length === 0 ? `no other online node in the inventory to move the guests of ${o.node} to` : `no target can take guests: ${why}`, {
      hint: 'bring a target online and quorate, or name others with --to; nothing was changed',
      details: { targets: targets.map((x) => ({ node: x.node, problem: x.problem })) },
    });
  }
  const [ha, sourceVendor] = await Promise.all([readHaServices(t, usable[0]?.node ?? o.node), readVendor(t, o.node)]);
  const own = res.guests.filter((g) => g.node === o.node);
  step.succeed(`read the cluster from ${read.node}: ${own.length} guest(s) on ${o.node}; target(s) ${names.join(', ')}`);
  return {
    t,
    reader,
    res,
    guests: ha.ok ? withHaStates(own, ha.services) : own,
    targets,
    ...(sourceVendor !== undefined ? { sourceVendor } : {}),
    inventory: new Set(inv.nodes.map((n) => n.name)),
    ...(!ha.ok ? { haUnread: ha.message } : {}),
  };
}

/** Read each guest's configuration and place it. */
export async function placeNodeGuests(deps: Deps, f: NodeFacts, o: NodeMoveOptions, guests: readonly GuestResource[]): Promise<Placement[]> {
  if (guests.length === 0) return [];
  const step = await deps.progress.start(`checking ${guests.length} guest(s)`);
  const configs = await runPool(guests, READ_CONCURRENCY, (g) => readGuestConfig(f.t, g));
  const input: PlacementGuest[] = guests.map((guest, i) => {
    const c = configs[i];
    return c && 'config' in c ? { guest, config: c.config } : { guest, problem: c?.problem ?? 'its configuration was not read' };
  });
  const placed = placeGuests({
    source: o.node,
    ...(f.sourceVendor !== undefined ? { sourceVendor: f.sourceVendor } : {}),
    guests: input,
    targets: f.targets,
    inventory: f.inventory,
    nodeStatus: new Map(f.res.nodes.map((n) => [n.node, n.status])),
    storages: f.res.storages,
    withLocalDisks: o.withLocalDisks,
  });
  step.succeed(`placed ${placed.filter((p) => p.kind === 'move').length} of ${guests.length} guest(s)`);
  return placed;
}

/** The placement as dry-run shows it. */
export function placementOf(placed: readonly Placement[]): DrainPlacement[] {
  return placed.map((p) => ({
    vmid: p.guest.vmid,
    type: p.guest.type,
    from: p.guest.node,
    target: p.kind === 'move' ? p.target : null,
    ...(p.kind === 'skip' ? { reason: p.reason } : {}),
  }));
}

/** The plan steps of the moves. */
export function moveSteps(placed: readonly Placement[]): PlannedStep[] {
  const moves = placed.flatMap((p) => (p.kind === 'move' ? [p] : []));
  return describePlan({ title: '', steps: moves.map((m) => ({ node: m.move.node, title: m.move.title, argv: m.move.argv, mutates: true })) });
}

function skippedResult(p: Extract<Placement, { kind: 'skip' }>): DrainGuestResult {
  return { vmid: p.guest.vmid, type: p.guest.type, from: p.guest.node, target: null, status: 'skipped', durationMs: 0, reason: p.reason };
}

function fromGuestResult(r: GuestResult): DrainGuestResult {
  return { vmid: r.vmid, type: r.type, from: r.from, target: r.to, status: r.status, durationMs: r.durationMs, ...(r.error !== undefined ? { reason: r.error } : {}) };
}

/**
 * Move the placed guests, `parallel` at a time, each with migrate's runMove (task output and new
 * place checked); after Ctrl-C no further guest starts. `onMoved` is told of each guest that moved.
 */
export async function runPlacement(
  deps: Deps,
  f: NodeFacts,
  o: NodeMoveOptions,
  placed: readonly Placement[],
  signal: AbortSignal,
  onMoved?: (r: DrainGuestResult) => Promise<void> | void,
): Promise<DrainGuestResult[]> {
  const moves = placed.flatMap((p) => (p.kind === 'move' ? [p] : []));
  const progress = poolProgress(deps, [...new Set(moves.map((m) => m.target))].join(', ') || 'other nodes', placed.length);
  for (const p of placed) if (p.kind === 'skip') await progress.ended(guestLabel(p.guest), `${guestLabel(p.guest)} on ${p.guest.node}: skipped: ${p.reason}`, 'skip');
  const pollMs = Math.min(2000, Math.max(250, Math.round((o.timeoutSec * 1000) / 10)));
  const results = await runPool(
    moves,
    o.parallel,
    async (m, _i, release): Promise<DrainGuestResult> => {
      if (signal.aborted) return { vmid: m.guest.vmid, type: m.guest.type, from: m.guest.node, target: m.target, status: 'skipped', durationMs: 0, reason: 'not started: cancelled with Ctrl-C' };
      await progress.started(guestLabel(m.guest));
      const r = await runMove(m.move, {
        transport: f.t,
        reader: f.reader,
        now: () => deps.now(),
        sleep: abortableSleep(signal),
        signal,
        target: m.target,
        timeoutMs: o.timeoutSec * 1000,
        pollMs,
        lockBackoffMs: LOCK_BACKOFF_MS,
        note: (text) => void progress.note(text),
        commandDone: release,
      });
      const out = fromGuestResult(r);
      if (out.status === 'migrated') await onMoved?.(out);
      return out;
    },
    async (r) => {
      const label = `${r.type === 'qemu' ? 'VM' : 'CT'} ${r.vmid}`;
      const time = `${(r.durationMs / 1000).toFixed(1)} s`;
      if (r.status === 'migrated') await progress.ended(label, `${label} ${r.from} → ${r.target ?? ''}: migrated in ${time}`, 'succeed');
      else if (r.status === 'skipped') await progress.ended(label, `${label} on ${r.from}: skipped: ${r.reason ?? ''}`, 'skip');
      else await progress.ended(label, `${label} ${r.from} → ${r.target ?? ''}: failed after ${time}: ${r.reason ?? ''}`, 'fail');
    },
  );
  await progress.flush();
  const byId = new Map(results.map((r) => [r.vmid, r]));
  return placed.map((p) => (p.kind === 'skip' ? skippedResult(p) : (byId.get(p.guest.vmid) as DrainGuestResult)));
}

/** The command line that runs this drain again. */
export function drainCommand(o: NodeMoveOptions): string {
  return ['pvx node drain', o.node, ...(o.to ? ['--to', o.to.join(',')] : []), ...(o.parallel > 1 ? ['--parallel', String(o.parallel)] : []), ...(o.withLocalDisks ? ['--with-local-disks'] : [])].join(' ');
}

/** Exit 0 only when every guest left the node. */
function verdict(guests: readonly DrainGuestResult[], o: NodeMoveOptions, dryRun: boolean): { exitCode: 0 | 1; error?: StepError } {
  const failed = guests.filter((g) => g.status === 'failed').length;
  const left = guests.filter((g) => g.status === 'skipped').length;
  if (failed + left === 0) return { exitCode: 0 };
  const parts = [...(failed ? [`${failed} failed`] : []), ...(left ? [`${left} skipped`] : [])];
  const message = dryRun ? `${left} of ${guests.length} guest(s) fit on no target and would stay on ${o.node}` : `${failed + left} of ${guests.length} guest(s) are still on ${o.node}: ${parts.join(', ')}`;
  return {
    exitCode: 1,
    error: new StepError(message, {
      code: 'DRAIN_INCOMPLETE',
      hint: `each guest's line says why; fix that, then continue with: ${drainCommand(o)} (guests already moved are not on ${o.node} any more)`,
    }),
  };
}

/** Run `pvx node drain`. */
export async function nodeDrain(deps: Deps, input: NodeMoveInput): Promise<Outcome<DrainResult | DrainPlanResult>> {
  const o = nodeMoveOptions(deps, input, 'see pvx node drain --help');
  const f = await readNodeFacts(deps, o);
  const placed = await placeNodeGuests(deps, f, o, f.guests);
  const warnings: string[] = [];
  if (f.haUnread !== undefined) warnings.push(`could not read the HA status (${f.haUnread}): only guests whose resources show an HA state are treated as HA-managed`);
  for (const x of f.targets) if (x.problem !== undefined) warnings.push(`${x.node} takes no guests: ${x.problem}`);

  return previewOrRun(deps, {
    preview: () => {
      const plan = moveSteps(placed);
      const title = `drain ${o.node}: move ${plan.length} of ${placed.length} guest(s)${o.parallel > 1 ? `, ${o.parallel} at a time` : ''}`;
      const placement = placementOf(placed);
      const v = verdict(
        placement.map((p) => ({ ...p, status: p.target === null ? 'skipped' : 'migrated', durationMs: 0 })),
        o,
        true,
      );
      return { command: 'node drain', result: { node: o.node, title, plan, placement }, exitCode: v.exitCode, warnings, ...(v.error ? { error: v.error } : {}) };
    },
    run: async () => {
      const interrupt = listenForInterrupt(deps);
      let lock: HeldClusterLock | undefined;
      let guests: DrainGuestResult[];
      try {
        const used = [...new Set(placed.flatMap((p) => (p.kind === 'move' ? [p.target] : [])))];
        if (used.length > 0) {
          const nodes = [o.node, ...used];
          lock = await takeClusterLock(deps, f.t, { nodes, companions: f.res.nodes.filter((n) => n.online && f.inventory.has(n.node) && !nodes.includes(n.node)).map((n) => n.node) });
        }
        guests = await runPlacement(deps, f, o, placed, interrupt.signal);
      } finally {
        await lock?.release();
        interrupt.dispose();
      }
      for (const [node, why] of f.reader.passedOver) warnings.push(`${node} could not be read (${why}); the cluster resources were read from another member`);
      const notStarted = guests.filter((g) => g.reason === 'not started: cancelled with Ctrl-C').length;
      if (interrupt.signal.aborted && notStarted > 0) {
        const error = new CancelledError(`cancelled with Ctrl-C: ${notStarted} guest(s) not started; the guests already moving were finished`, {
          hint: `continue with: ${drainCommand(o)}`,
        });
        return { command: 'node drain', result: { node: o.node, guests }, exitCode: error.exitCode, warnings, error };
      }
      const v = verdict(guests, o, false);
      return { command: 'node drain', result: { node: o.node, guests }, exitCode: v.exitCode, warnings, ...(v.error ? { error: v.error } : {}) };
    },
  });
}
