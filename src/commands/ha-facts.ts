/**
 * What `pvx ha add|set|remove` read before any change: the HA preflight of every node (one
 * implementation with `pvx preflight --for ha`), then from one quorate member the cluster
 * resources, the HA resources, the replication jobs and the groups (PVE 8) or rules (PVE 9).
 */
import type { InventoryNode } from '../config/inventory.js';
import type { Deps } from '../context.js';
import { PreflightError, StepError } from '../errors.js';
import { haManager, pveshGet, pvesrList } from '../pve/argv.js';
import { parseHaGroupConfig, type HaGroupConfig } from '../pve/parse/ha-config.js';
import { ParseError, excerptOf } from '../pve/parse/errors.js';
import { parseHaRules, type HaRule } from '../pve/parse/pvesh-ha-rules.js';
import { parseHaStatusCurrent, type HaServiceDetail } from '../pve/parse/pvesh-ha-status.js';
import { parsePvesrList, type PvesrJob, type PvesrRows } from '../pve/parse/pvesr.js';
import type { ClusterResources } from '../pve/parse/pvesh-resources.js';
import { lastLine } from '../pve/parse/text.js';
import type { Transport } from '../transport/types.js';
import type { HaFacts, PreferenceMode } from '../workflows/ha-plan.js';
import { ResourceReader } from '../workflows/resources-reader.js';
import { preflightGate } from './cluster-preflight.js';

const READ_TIMEOUT_MS = 60_000;

/** Everything read, for the plans and the result. */
export interface HaReading {
  facts: HaFacts;
  resources: ClusterResources;
  services: HaServiceDetail[];
  /** preflight warnings, one line each */
  warnings: string[];
}


/** Run a read on the anchor; a failure or garbage is a StepError naming the command. */
async function read<T>(t: Transport, node: string, argv: string[], parse: (s: string) => T, what: string): Promise<T> {
  const r = await t.exec(node, argv, { timeoutMs: READ_TIMEOUT_MS, title: what });
  if (r.exitCode !== 0) throw new StepError(`could not ${what} on ${node}: ${lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`}`, { hint: `run ${argv.join(' ')} on ${node} to see why` });
  try {
    return parse(r.stdout);
  } catch (e) {
    if (e instanceof ParseError) throw new StepError(`could not ${what} on ${node}: ${e.message}`);
    throw e;
  }
}

/** The HA resources as the HA stack reports them (configured but not yet seen ones included). */
export async function readHaServices(t: Transport, node: string): Promise<HaServiceDetail[]> {
  return read(t, node, pveshGet('/cluster/ha/status/current'), (s) => parseHaStatusCurrent(s).services, 'read the HA status');
}

/**
 * Groups or rules: PVE 8 keeps preferences in groups; PVE 9 in rules, but still in groups until the
 * CRM migrated them (then `groupconfig` is refused with "ha groups have been migrated to rules").
 */
async function readPreferences(t: Transport, node: string, major: number): Promise<{ mode: PreferenceMode; groups: HaGroupConfig[]; rules: HaRule[] }> {
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
  const rules = await read(t, node, pveshGet('/cluster/ha/rules'), parseHaRules, 'read the HA rules');
  return { mode: 'rules', groups: [], rules };
}

/** Preflight every node, then read the cluster's HA state from the first quorate member. */
export async function readHaState(deps: Deps, t: Transport, nodes: readonly InventoryNode[], opts: { preferences: boolean }): Promise<HaReading> {
  const gate = await preflightGate(deps, t, { purpose: 'ha', nodes });
  const anchor = nodes.map((n) => gate.nodeFacts.get(n.name)).find((f) => f?.reachable && f.quorum.ok && f.quorum.value.quorum.quorate);
  if (!anchor || !anchor.pve.ok) {
    throw new PreflightError('no node is a quorate member of a cluster: HA needs a quorate cluster', { hint: 'pvx cluster status shows where each node stands' });
  }
  const major = anchor.pve.value.manager.major;
  const step = await deps.progress.start(`reading the HA state from ${anchor.name}`);
  try {
    const reader = new ResourceReader(t, [anchor.name, ...nodes.map((n) => n.name).filter((n) => n !== anchor.name)]);
    const [res, services, replication, prefs] = await Promise.all([
      reader.all(),
      readHaServices(t, anchor.name),
      read<PvesrRows<PvesrJob>>(t, anchor.name, pvesrList(), parsePvesrList, 'read the replication jobs'),
      opts.preferences ? readPreferences(t, anchor.name, major) : Promise.resolve({ mode: (major < 9 ? 'groups' : 'rules') as PreferenceMode, groups: [], rules: [] }),
    ]);
    step.succeed(`read the HA state from ${anchor.name}: PVE ${major}, ${services.length} HA resource(s)${opts.preferences ? `, node preferences as ${prefs.mode}` : ''}`);
    return {
      facts: {
        anchor: anchor.name,
        major,
        mode: prefs.mode,
        clusterNodes: res.resources.nodes.map((n) => n.node),
        storages: res.resources.storages,
        services,
        groups: prefs.groups,
        rules: prefs.rules,
        // a job left out only makes a guest look unreplicated (refused), so its row is a warning
        replication: replication.jobs,
      },
      resources: res.resources,
      services,
      warnings: [...gate.warnings, ...replication.unrecognized.map((l) => `${anchor.name}: a row of pvesr list pvx could not read, left out: '${excerptOf(l)}'`)],
    };
  } catch (e) {
    step.fail(`could not read the HA state from ${anchor.name}`);
    throw e;
  }
}
