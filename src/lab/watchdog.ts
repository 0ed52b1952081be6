/**
 * The lab's HA watchdog (watchdog-mux): how long an active LRM may go without updating it before
 * its node is fenced. Set by `lab up --watchdog-timeout`, kept in lab.json, read inside the nodes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** watchdog-mux's client timeout on real nodes (CLIENT_WATCHDOG_TIMEOUT), in seconds. */
export const DEFAULT_WATCHDOG_TIMEOUT_S = 60;

/** Longest timeout accepted, in seconds. */
export const MAX_WATCHDOG_TIMEOUT_S = 3600;

/** Throw a UsageError unless `s` is a whole number of seconds from 1 to MAX_WATCHDOG_TIMEOUT_S. */
export function validateWatchdogTimeout(s: number): number {
  if (!Number.isInteger(s) || s < 1 || s > MAX_WATCHDOG_TIMEOUT_S) {
    throw new UsageError(`invalid watchdog timeout: ${s}`, { hint: `give whole seconds from 1 to ${MAX_WATCHDOG_TIMEOUT_S} (real nodes: ${DEFAULT_WATCHDOG_TIMEOUT_S})` });
  }
  return s;
}

/** The watchdog timeout of the lab whose root is `labRoot` (lab.json), or the real default. */
export function readWatchdogTimeout(labRoot: string): number {
  try {
    const v = (JSON.parse(readFileSync(path.join(labRoot, 'lab.json'), 'utf8')) as { watchdogTimeout?: unknown }).watchdogTimeout;
    return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_WATCHDOG_TIMEOUT_S ? v : DEFAULT_WATCHDOG_TIMEOUT_S;
  } catch {
    return DEFAULT_WATCHDOG_TIMEOUT_S;
  }
}

/** A node's faults.json inside its lab directory (the `down` fault a watchdog fence records). */
export function faultsFileIn(nodeDir: string): string {
  return path.join(nodeDir, 'faults.json');
}
