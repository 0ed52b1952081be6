/**
 * Moves one guest and judges the move by the task output and by where the guest is afterwards,
 * never by the exit code alone. Lock time-outs are retried with back-off; an HA-managed guest is
 * followed until it runs on the target (the queued request alone is not success).
 */
import { UnreachableError } from '../../errors.js';
import { haSid } from '../../pve/argv.js';
import { classifyMigration, type MigrationLog } from '../../pve/parse/migration-log.js';
import type { GuestResource } from '../../pve/parse/pvesh-resources.js';
import type { ExecResult, Transport } from '../../transport/types.js';
import { guestLabel } from '../../pve/names.js';
import type { Move } from './checks.js';
import type { ResourceReader } from '../../facts/resources.js';
import { retryWithBackoff, type Sleep } from '../worker-pool.js';
import { isLockTimeout } from '../../pve/parse/lock-timeout.js';
import { lastLine } from '../../pve/parse/text.js';

/** How one guest ended (CLI.md: `{"vmid","type","from","to","status","durationMs","error?"}`). */
export interface GuestResult {
  vmid: number;
  type: 'qemu' | 'lxc';
  from: string;
  to: string;
  status: 'migrated' | 'failed' | 'skipped';
  durationMs: number;
  error?: string;
}

/** What running a move needs. */
export interface RunEnv {
  transport: Transport;
  reader: ResourceReader;
  now(): number;
  sleep: Sleep;
  target: string;
  /** per guest: the migration command and any HA wait together */
  timeoutMs: number;
  /** between two reads while waiting for the HA stack */
  pollMs: number;
  /** waits before each retry of a lock time-out */
  lockBackoffMs: readonly number[];
  /** a line for the person watching (retries, HA waits) */
  note?(text: string): void;
  /** told when the native migration command has ended and only the read-back is left */
  commandDone?(): void;
  /** once aborted (Ctrl-C), no retry starts and a wait for the HA stack ends; a running command is never cut */
  signal?: AbortSignal;
}

/** HA states while the HA stack is still moving a guest. */
const HA_MOVING = new Set(['migrate', 'relocate']);

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
}


function outputFailure(log: MigrationLog, r: ExecResult): string {
  const reason = log.reason ?? log.errors[log.errors.length - 1] ?? lastLine(r.stderr) ?? `exit code ${r.exitCode}`;
  switch (log.outcome) {
    case 'aborted':
      return `migration aborted: ${reason}`;
    case 'problems': {
      // the last ERROR line is the verdict itself; the one before it says what went wrong
      const cause = log.errors.filter((e) => !e.startsWith('migration finished with problems')).pop();
      return `migration finished with problems: ${cause ?? 'see the task log'}`;
    }
    case 'unknown':
      return `the output has no result line (exit code ${r.exitCode})`;
    default:
      return reason;
  }
}

/** Run one move to its end; never throws for an expected failure. */
export async function runMove(m: Move, env: RunEnv): Promise<GuestResult> {
  const g = m.guest;
  const label = guestLabel(g);
  const started = env.now();
  const deadline = started + env.timeoutMs;
  const done = (status: GuestResult['status'], error?: string): GuestResult => ({
    vmid: g.vmid,
    type: g.type,
    from: g.node,
    to: env.target,
    status,
    durationMs: Math.max(0, env.now() - started),
    ...(error !== undefined ? { error } : {}),
  });

  let attempt: { r: ExecResult; timedOut: boolean; tries: number };
  try {
    attempt = await retryWithBackoff(
      async (tries) => {
        const t0 = env.now();
        const budget = Math.max(1000, deadline - t0);
        const res = await env.transport.exec(m.node, m.argv, { mutates: true, title: m.title, timeoutMs: budget });
        // the transport reports its own time-out as exit code 124
        return { r: res, timedOut: res.exitCode === 124 && env.now() - t0 >= budget - 50, tries };
      },
      (a) => !a.timedOut && isLockTimeout(a.r),
      {
        delaysMs: env.lockBackoffMs,
        sleep: env.sleep,
        mayRetry: (delay) => !env.signal?.aborted && env.now() + delay < deadline,
        onRetry: (_a, delay, n) => env.note?.(`${label}: its configuration is locked by another task; trying again in ${seconds(delay)} (attempt ${n + 1})`),
      },
    );
  } catch (e) {
    if (e instanceof UnreachableError) {
      return done('failed', `lost the connection to ${m.node} (${e.message}); the migration may still be running there: check where ${label} is before retrying`);
    }
    throw e;
  }
  const r = attempt.r;
  if (attempt.timedOut) {
    return done('failed', `no result within ${seconds(env.timeoutMs)} (--timeout); the migration may still be running on ${m.node}: check its task log`);
  }
  if (isLockTimeout(r)) return done('failed', `${lastLine(r.stderr) ?? 'lock time-out'} (still locked after ${attempt.tries} ${attempt.tries === 1 ? 'try' : 'tries'})`);

  if (m.mode === 'ha') {
    if (r.exitCode !== 0) return done('failed', `ha-manager migrate failed: ${lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`}`);
    return waitForHa(m, env, deadline, done);
  }

  const log = classifyMigration(r);
  // the guest became HA-managed after it was read: qm/pct only queued a request
  if (log.outcome === 'ha-requested') return waitForHa(m, env, deadline, done);

  env.commandDone?.();
  const where = await locate(env, g.vmid);
  if (log.outcome === 'success') {
    if ('error' in where) return done('failed', `the task reported success, but where ${label} is could not be confirmed: ${where.error}`);
    if (where.guest === undefined) return done('failed', `the task reported success, but ${label} is no longer in the cluster resources`);
    if (where.guest.node !== env.target) return done('failed', `the task reported success, but ${label} is still on ${where.guest.node}`);
    return done('migrated');
  }
  const why = outputFailure(log, r);
  const moved = !('error' in where) && where.guest?.node === env.target;
  return done('failed', moved ? `${why} (it now shows on ${env.target}: check it)` : why);
}

async function locate(env: RunEnv, vmid: number): Promise<{ guest: GuestResource | undefined } | { error: string }> {
  try {
    const read = await env.reader.guests();
    return { guest: read.resources.guests.find((x) => x.vmid === vmid) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

async function waitForHa(m: Move, env: RunEnv, deadline: number, done: (s: GuestResult['status'], error?: string) => GuestResult): Promise<GuestResult> {
  const g = m.guest;
  const label = guestLabel(g);
  const sid = haSid(g.type, g.vmid);
  env.note?.(`${label}: HA migration to ${env.target} requested; waiting until it runs there (at most ${seconds(Math.max(0, deadline - env.now()))})`);
  let last: GuestResource | undefined = g;
  let readError: string | undefined;
  for (;;) {
    const where = await locate(env, g.vmid);
    if ('error' in where) readError = where.error;
    else {
      readError = undefined;
      last = where.guest;
      if (!last) return done('failed', `${label} is no longer in the cluster resources`);
      const state = last.hastate;
      if (last.node === env.target && (state === undefined || !HA_MOVING.has(state))) return done('migrated');
      if (state === 'error') return done('failed', `the HA stack put ${sid} in the error state while moving it; see ha-manager status and the task log on ${last.node}`);
    }
    if (env.signal?.aborted) {
      const at = last ? `still on ${last.node}${last.hastate ? ` (HA state '${last.hastate}')` : ''}` : 'not found';
      return done('failed', `stopped waiting with Ctrl-C: ${label} is ${at}. The request stays queued and may still be carried out; check ha-manager status`);
    }
    if (env.now() + env.pollMs > deadline) {
      const at = last ? `still on ${last.node}${last.hastate ? ` (HA state '${last.hastate}')` : ''}` : 'not found';
      const tail = readError ? `; the last read failed: ${readError}` : '';
      return done(
        'failed',
        `the HA stack did not move ${label} within ${seconds(env.timeoutMs)} (--timeout): it is ${at}. The request stays queued and may still be carried out; check ha-manager status${tail}`,
      );
    }
    await env.sleep(env.pollMs);
  }
}
