/**
 * Takes and releases the cluster lock (src/workflows/cluster-lock.ts says where it lives and why)
 * for a changing run: all or nothing over the run's nodes in sorted order, one round trip per node
 * each way, a heartbeat every minute while held, and re-entrant within a run, so a run that holds
 * the lock (a teardown's backup and separation phases) never asks for it again.
 */
import { randomBytes } from 'node:crypto';
// the heartbeat keeps the lock alive against the nodes' real clocks, whatever clock the run's own waits use
import { clearInterval as clearRealInterval, setInterval as setRealInterval } from 'node:timers';
import type { Deps } from '../../context.js';
import { StepError, UnreachableError } from '../../errors.js';
import { ParseError } from '../../pve/parse/errors.js';
import { lastLine } from '../../pve/parse/text.js';
import type { ExecResult, Transport } from '../../transport/types.js';
import {
  CLUSTER_LOCK_DIR,
  LOCK_HEARTBEAT_MS,
  LOCK_STALE_SECONDS,
  ageText,
  describeHolder,
  lockAcquireArgv,
  lockRefreshArgv,
  lockReleaseArgv,
  parseLockAnswer,
  type HolderReading,
  type LockAnswer,
  type LockOwner,
} from '../../workflows/cluster/lock.js';
import type { Membership } from '../../facts/node.js';

/** The nodes a changing run locks. */
export interface LockScope {
  /** nodes the run reads or changes: each must be locked, or the run stops before its first change */
  nodes: readonly string[];
  /** other online members it knows of: locked when they answer, passed over with a warning when unreachable */
  companions?: readonly string[];
}

/** A lock this run holds on some nodes; release() is safe to call more than once. */
export interface HeldClusterLock {
  nodes: string[];
  release(): Promise<void>;
}

const LOCK_TIMEOUT_MS = 30_000;

/** What one run holds: per node the count of holders inside the run and the node-clock time it was taken. */
interface RunLocks {
  owner: LockOwner;
  nodes: Map<string, { count: number; since: number }>;
  t?: Transport;
  timer?: ReturnType<typeof setRealInterval>;
  refreshing?: Promise<void>;
  /** nodes already warned about, so a heartbeat problem is told once */
  warned: Set<string>;
}

const runs = new WeakMap<Deps, RunLocks>();
/** Tokens of the runs of this process that hold a lock now: a holder with this pid but another token has ended. */
const liveTokens = new Set<string>();

function runLocks(deps: Deps): RunLocks {
  let r = runs.get(deps);
  if (!r) {
    const { host, user, pid } = deps.self;
    // a long guest list stays readable to the next run (an owner file's command is read up to 8 KiB)
    const command = deps.self.command.length > 4000 ? `${deps.self.command.slice(0, 4000)}…` : deps.self.command;
    r = { owner: { host, user, pid, command, token: randomBytes(8).toString('hex') }, nodes: new Map(), warned: new Set() };
    runs.set(deps, r);
  }
  return r;
}

/**
 * The lock scope of a run that read these memberships: every node that answered, and the online
 * members of their clusters among `known` (the inventory) that it did not read. A node the reads
 * found unreachable is left out: asking it again would only cost another connection time-out.
 */
export function scopeOfViews(views: Iterable<Membership>, known: readonly string[]): LockScope {
  const nodes = new Set<string>();
  const unreachable = new Set<string>();
  const companions = new Set<string>();
  for (const v of views) {
    if (v.kind === 'unreachable') unreachable.add(v.node);
    else nodes.add(v.node);
    if (v.kind === 'member') for (const n of v.online) if (known.includes(n)) companions.add(n);
  }
  return { nodes: [...nodes], companions: [...companions].filter((n) => !nodes.has(n) && !unreachable.has(n)) };
}

/** The error that refuses a run because another one holds the lock on `node`. */
export function lockedError(node: string, holder: HolderReading | undefined, now: number): StepError {
  const who = describeHolder(holder, now);
  const stale = holder?.ok ? Math.max(0, LOCK_STALE_SECONDS - (now - holder.holder.heartbeat)) : undefined;
  const expiry = stale !== undefined ? `it expires in ${ageText(stale)} unless its holder renews it` : `it expires ${ageText(LOCK_STALE_SECONDS)} after its last change`;
  return new StepError(`the cluster is locked by another pvx run: on ${node}, ${who}; nothing was changed`, {
    code: 'LOCKED',
    hint: `wait until that run ends and run again. If it is gone for good (${expiry}), remove the lock by hand on ${node}: rm -r ${CLUSTER_LOCK_DIR}`,
    details: {
      node,
      lockDir: CLUSTER_LOCK_DIR,
      holder: holder?.ok ? holder.holder : holder ? { unreadable: holder.text, problem: holder.problem } : null,
      nodeTime: now,
    },
  });
}

async function ask(t: Transport, node: string, argv: string[], title: string): Promise<LockAnswer> {
  const r: ExecResult = await t.exec(node, argv, { mutates: true, title, timeoutMs: LOCK_TIMEOUT_MS });
  if (r.exitCode !== 0) {
    throw new StepError(`could not ${title} on ${node}: ${lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`}; nothing was changed`, {
      code: 'LOCK_FAILED',
      hint: `pvx keeps its lock in ${CLUSTER_LOCK_DIR} on every node it changes: check that ${node} can create it (a POSIX sh, date and sed)`,
    });
  }
  try {
    return parseLockAnswer(r.stdout);
  } catch (e) {
    if (e instanceof ParseError) throw new StepError(`could not ${title} on ${node}: ${e.message}; nothing was changed`, { code: 'LOCK_FAILED' });
    throw e;
  }
}

/** Take the lock on one node: taken, or the answer that refuses it (a local holder that is gone is broken). */
async function acquireOn(deps: Deps, t: Transport, run: RunLocks, node: string): Promise<LockAnswer> {
  const a = await ask(t, node, lockAcquireArgv(run.owner), 'take the cluster lock');
  if (a.kind !== 'held') return a;
  const h = a.holder;
  // a holder on this workstation whose process (or, in this process, whose run) is gone will never release it: break it by its token
  const ended = (x: LockOwner) => (x.pid === deps.self.pid ? !liveTokens.has(x.token) : !deps.self.alive(x.pid));
  if (h?.ok && h.holder.host === deps.self.host && ended(h.holder)) {
    return ask(t, node, lockAcquireArgv(run.owner, {}, h.holder.token), 'take over the cluster lock of an ended run');
  }
  return a;
}

/**
 * Take the cluster lock on the scope's nodes, in sorted order, all or nothing: a node held by
 * another run releases what this call took and throws StepError LOCKED (exit 1) naming the holder.
 * Nodes this run already holds are counted, not asked again. Under --dry-run nothing is taken.
 */
export async function takeClusterLock(deps: Deps, t: Transport, scope: LockScope): Promise<HeldClusterLock> {
  const required = new Set(scope.nodes);
  const all = [...new Set([...scope.nodes, ...(scope.companions ?? [])])].sort();
  if (deps.globals.dryRun || all.length === 0) return { nodes: [], release: async () => undefined };
  const run = runLocks(deps);
  run.t ??= t;
  const counted: string[] = [];
  const taken: string[] = [];
  try {
    for (const node of all) {
      const held = run.nodes.get(node);
      if (held) {
        held.count++;
        counted.push(node);
        continue;
      }
      let a: LockAnswer;
      try {
        a = await acquireOn(deps, t, run, node);
      } catch (e) {
        if (e instanceof UnreachableError && !required.has(node)) {
          deps.warnings.push(`${node} could not be reached to take the cluster lock there (${e.message}); this run does not change it, but a run from elsewhere could meanwhile`);
          continue;
        }
        throw e;
      }
      if (a.kind === 'held') throw lockedError(node, a.holder, a.now);
      if (a.kind !== 'taken' && a.kind !== 'took-over') throw new StepError(`could not take the cluster lock on ${node}: the node answered '${a.kind}'; nothing was changed`, { code: 'LOCK_FAILED' });
      run.nodes.set(node, { count: 1, since: a.now });
      liveTokens.add(run.owner.token);
      taken.push(node);
      counted.push(node);
      if (a.kind === 'took-over') deps.warnings.push(`took over a stale cluster lock on ${node}: it was held by ${describeHolder(a.previous, a.now)}`);
    }
  } catch (e) {
    await releaseCounted(deps, run, counted);
    throw e;
  }
  startHeartbeat(deps, run);
  let released = false;
  return {
    nodes: counted,
    release: async () => {
      if (released) return;
      released = true;
      await releaseCounted(deps, run, counted);
    },
  };
}

/** Run `fn` holding the cluster lock on the scope's nodes; released however `fn` ends. */
export async function withClusterLock<T>(deps: Deps, t: Transport, scope: LockScope, fn: () => Promise<T>): Promise<T> {
  const lock = await takeClusterLock(deps, t, scope);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Drop one count on each node; the last one out releases the node's lock (every such node at once). */
async function releaseCounted(deps: Deps, run: RunLocks, nodes: readonly string[]): Promise<void> {
  const last: string[] = [];
  for (const n of nodes) {
    const h = run.nodes.get(n);
    if (!h) continue;
    h.count--;
    if (h.count <= 0) {
      run.nodes.delete(n);
      last.push(n);
    }
  }
  if (run.nodes.size === 0) {
    stopHeartbeat(run);
    liveTokens.delete(run.owner.token);
  }
  await run.refreshing;
  const t = run.t;
  if (!t) return;
  // all at once: only taking goes node by node (in sorted order, so two runs meet at the same first
  // node); a run that finds some released and some still held is refused all the same
  const warnings = await Promise.all(
    last.reverse().map(async (node): Promise<string | undefined> => {
      try {
        const a = await ask(t, node, lockReleaseArgv(run.owner.token), 'release the cluster lock');
        if (a.kind === 'lost') return `the cluster lock on ${node} was no longer this run's at release: ${a.holder ? `it is held by ${describeHolder(a.holder, a.now)}` : 'it had been removed'}`;
        return undefined;
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        return `could not release the cluster lock on ${node} (${why}); once no pvx run uses it, remove it there: rm -r ${CLUSTER_LOCK_DIR} (it also expires ${ageText(LOCK_STALE_SECONDS)} after this run's last heartbeat)`;
      }
    }),
  );
  for (const w of warnings) if (w !== undefined) deps.warnings.push(w);
}

function startHeartbeat(deps: Deps, run: RunLocks): void {
  if (run.timer || run.nodes.size === 0) return;
  run.timer = setRealInterval(() => void renewClusterLock(deps), LOCK_HEARTBEAT_MS);
  // a forgotten heartbeat must not keep the process alive
  run.timer.unref();
}

function stopHeartbeat(run: RunLocks): void {
  if (run.timer) clearRealInterval(run.timer);
  delete run.timer;
}

/** One heartbeat: renew every lock this run holds (what the timer does each minute). */
export async function renewClusterLock(deps: Deps): Promise<void> {
  const run = runs.get(deps);
  if (!run || run.nodes.size === 0) return;
  if (!run.refreshing) run.refreshing = refresh(deps, run).finally(() => (run.refreshing = undefined));
  await run.refreshing;
}

/** Renew the heartbeat on every node held; a lock lost or unreachable is told once per node. */
async function refresh(deps: Deps, run: RunLocks): Promise<void> {
  const t = run.t;
  if (!t) return;
  for (const [node, h] of [...run.nodes]) {
    try {
      const a = await ask(t, node, lockRefreshArgv(run.owner, h.since), 'renew the cluster lock');
      if (a.kind === 'lost' && !run.warned.has(node)) {
        run.warned.add(node);
        deps.warnings.push(`the cluster lock on ${node} was taken from this run while it ran: ${a.holder ? `now held by ${describeHolder(a.holder, a.now)}` : 'it was removed'}`);
      }
    } catch (e) {
      if (run.warned.has(node)) continue;
      run.warned.add(node);
      deps.warnings.push(`could not renew the cluster lock on ${node} (${e instanceof Error ? e.message : String(e)}); another run may take it once it is ${ageText(LOCK_STALE_SECONDS)} old`);
    }
  }
}
