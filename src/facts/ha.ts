/**
 * The HA state of a cluster as its tools report it: the HA resources (`/cluster/ha/status/current`),
 * the replication jobs, and the node preferences (groups on PVE 8, rules on PVE 9).
 */
import { StepError, UnreachableError } from '../errors.js';
import { haManager, pveshGet, pvesrList } from '../pve/argv.js';
import { parseHaGroupConfig, type HaGroupConfig } from '../pve/parse/ha-config.js';
import { ParseError, excerptOf } from '../pve/parse/errors.js';
import { parseHaRules, type HaRule } from '../pve/parse/pvesh-ha-rules.js';
import { parseHaStatusCurrent, type HaServiceDetail } from '../pve/parse/pvesh-ha-status.js';
import { parsePvesrList, type PvesrJob, type PvesrRows } from '../pve/parse/pvesr.js';
import { lastLine } from '../pve/parse/text.js';
import type { Transport } from '../transport/types.js';

const READ_TIMEOUT_MS = 60_000;

/** Where a cluster keeps HA node preferences: groups (PVE 8, and PVE 9 until migrated) or rules (PVE 9). */
export type PreferenceMode = 'groups' | 'rules';

/** Run a read on the anchor (ha changes need it); a failure or garbage is a StepError naming the command. */
export async function readOrFail<T>(t: Transport, node: string, argv: string[], parse: (s: string) => T, what: string): Promise<T> {
  const r = await t.exec(node, argv, { timeoutMs: READ_TIMEOUT_MS, title: what });
  if (r.exitCode !== 0) throw new StepError(`could not ${what} on ${node}: ${lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`}`, { hint: `run ${argv.join(' ')} on ${node} to see why` });
  try {
    return parse(r.stdout);
  } catch (e) {
    if (e instanceof ParseError) throw new StepError(`could not ${what} on ${node}: ${e.message}`);
    throw e;
  }
}

/** The HA resources, or why they could not be read: an expected failure is an answer here, and each caller decides what it means. */
export type HaServicesReading =
  | { ok: true; services: HaServiceDetail[] }
  | { ok: false; message: string; hint?: string; unreachable?: UnreachableError };

/** The HA resources as the HA stack reports them (configured but not yet seen ones included). */
export async function readHaServices(t: Transport, node: string): Promise<HaServicesReading> {
  const argv = pveshGet('/cluster/ha/status/current');
  try {
    const r = await t.exec(node, argv, { timeoutMs: READ_TIMEOUT_MS, title: 'read the HA status' });
    if (r.exitCode !== 0) return { ok: false, message: lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`, hint: `run ${argv.join(' ')} on ${node} to see why` };
    return { ok: true, services: parseHaStatusCurrent(r.stdout).services };
  } catch (e) {
    if (e instanceof UnreachableError) return { ok: false, message: e.message, unreachable: e };
    if (e instanceof ParseError) return { ok: false, message: e.message };
    throw e;
  }
}

/** The HA resources, where a change cannot go on without them: unreachable stays itself, any other failure is a StepError. */
export function haServicesOrThrow(r: HaServicesReading, node: string): HaServiceDetail[] {
  if (r.ok) return r.services;
  if (r.unreachable) throw r.unreachable;
  throw new StepError(`could not read the HA status on ${node}: ${r.message}`, r.hint ? { hint: r.hint } : {});
}

/**
 * Groups or rules: PVE 8 keeps preferences in groups; PVE 9 in rules, but still in groups until the
 * CRM migrated them (then `groupconfig` is refused with "ha groups have been migrated to rules").
 */
export async function readPreferences(t: Transport, node: string, major: number): Promise<{ mode: PreferenceMode; groups: HaGroupConfig[]; rules: HaRule[] }> {
  const r = await t.exec(node, haManager.groupconfig(), { timeoutMs: READ_TIMEOUT_MS, title: 'read the HA groups' });
  if (major < 9) {
    if (r.exitCode !== 0) throw new StepError(`could not read the HA groups on ${node}: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}`);
    return { mode: 'groups', groups: parseHaGroupConfig(r.stdout), rules: [] };
  }
  if (r.exitCode === 0) {
    const groups = parseHaGroupConfig(r.stdout);
    if (groups.length > 0) return { mode: 'groups', groups, rules: [] };
  } else if (!/migrated to rules/.test(r.stderr)) {
    throw new StepError(`could not tell whether ${node} keeps HA groups or rules: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}`);
  }
  const rules = await readOrFail(t, node, pveshGet('/cluster/ha/rules'), parseHaRules, 'read the HA rules');
  return { mode: 'rules', groups: [], rules };
}
