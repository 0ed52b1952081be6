/** A node's clock against the workstation's, corrected by the round trip (the NTP idea, one sample). */
import { clockNow } from '../../pve/argv-host.js';
import type { ExecResult } from '../../transport/types.js';
import type { ClockReading, Reading } from './types.js';

/** The clock read as a command of its own: what a fake node answers the session's clock pings from. */
export function clockArgv(): string[] {
  return clockNow();
}

/**
 * Read the node's `date +%s.%N` against the workstation times taken just before and after it.
 * The round trip is the shorter of the two measures: the wall time here also counts waiting for
 * the connection, which the transport's own duration does not.
 */
export function clockReading(r: ExecResult, beforeMs: number, afterMs: number): Reading<ClockReading> {
  if (r.exitCode === 127) return { ok: false, reason: 'missing', message: 'date is not installed' };
  if (r.exitCode !== 0) return { ok: false, reason: 'failed', message: `date failed (exit code ${r.exitCode})` };
  const text = r.stdout.trim();
  const m = /^(\d+)(?:\.(\d+|N|%N))?$/.exec(text);
  if (!m) return { ok: false, reason: 'garbage', message: `date printed '${text.slice(0, 40)}' instead of seconds since the epoch` };
  const frac = m[2] && /^\d+$/.test(m[2]) ? Number(`0.${m[2]}`) : 0;
  // a date without %N (busybox) reports whole seconds: up to 1 s less precise
  const resolution = m[2] && /^\d+$/.test(m[2]) ? 0 : 1;
  const nodeSec = Number(m[1]) + frac;
  const rttMs = Math.max(0, Math.min(afterMs - beforeMs, r.durationMs));
  const midpointSec = (afterMs - rttMs / 2) / 1000;
  return { ok: true, value: { offsetSec: nodeSec - midpointSec + resolution / 2, uncertaintySec: rttMs / 2000 + resolution / 2 } };
}
