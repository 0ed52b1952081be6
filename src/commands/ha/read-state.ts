/** What `pvx ha add|set|remove` read before any change: the HA preflight of every node (one implementation with `pvx preflight --for ha`), then from one quorate member the cluster resources, the HA resources, the replication jobs and the node preferences. */
import type { InventoryNode } from '../../config/inventory.js';
import type { Deps } from '../../context.js';
import { PreflightError } from '../../errors.js';
import { haServicesOrThrow, readHaServices, readOrFail, readPreferences, type PreferenceMode } from '../../facts/ha.js';
import { ResourceReader } from '../../facts/resources.js';
import { pvesrList } from '../../pve/argv.js';
import { excerptOf } from '../../pve/parse/errors.js';
import type { HaServiceDetail } from '../../pve/parse/pvesh-ha-status.js';
import { parsePvesrList, type PvesrJob, type PvesrRows } from '../../pve/parse/pvesr.js';
import type { ClusterResources } from '../../pve/parse/pvesh-resources.js';
import type { Transport } from '../../transport/types.js';
import type { HaFacts } from '../../workflows/ha/plan.js';
import { preflightGate } from '../shared/preflight-gate.js';

/** Everything read, for the plans and the result. */
export interface HaReading {
  facts: HaFacts;
  resources: ClusterResources;
  services: HaServiceDetail[];
  /** preflight warnings, one line each */
  warnings: string[];
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
      readHaServices(t, anchor.name).then((r) => haServicesOrThrow(r, anchor.name)),
      readOrFail<PvesrRows<PvesrJob>>(t, anchor.name, pvesrList(), parsePvesrList, 'read the replication jobs'),
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
