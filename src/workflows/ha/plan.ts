/**
 * Plans of `pvx ha add|set|remove` from what was read: which guests may become HA resources (every
 * disk must be reachable from the nodes HA may restart it on), the state each keeps, and the
 * native commands of the detected version — a group for the node preference on PVE 8, a
 * node-affinity rule on PVE 9.
 */
import { haManager, haSid } from '../../pve/argv.js';
import type { GuestConfigFacts } from '../../pve/parse/guest-config.js';
import type { HaGroupConfig } from '../../pve/parse/ha-config.js';
import type { HaService } from '../../pve/parse/ha-manager-status.js';
import type { PvesrJob } from '../../pve/parse/pvesr.js';
import type { HaRule } from '../../pve/parse/pvesh-ha-rules.js';
import type { GuestResource, StorageResource } from '../../pve/parse/pvesh-resources.js';
import { parseNodePriorities, preferenceId, preferenceText, samePreference, type HaOptions, type NodePreference } from './options.js';
import type { HaState } from '../../pve/names.js';
import type { Plan, Step } from '../plan.js';

/** How the cluster keeps node preferences: groups (PVE 8, and PVE 9 before its groups were migrated) or rules (PVE 9). */
export type { PreferenceMode } from '../../facts/ha.js';
import type { PreferenceMode } from '../../facts/ha.js';
import { isLockTimeout } from '../../pve/parse/lock-timeout.js';

/** What the plans are built from. */
export interface HaFacts {
  /** the node that runs ha-manager (a quorate member) */
  anchor: string;
  /** pve-manager major version of the cluster */
  major: number;
  mode: PreferenceMode;
  /** every node of the cluster */
  clusterNodes: string[];
  storages: StorageResource[];
  /** HA resources, as `ha-manager status` lists them (configured ones not seen by the CRM yet included) */
  services: HaService[];
  /** PVE 8: the groups; PVE 9: empty */
  groups: HaGroupConfig[];
  /** PVE 9: the rules; PVE 8: empty */
  rules: HaRule[];
  replication: PvesrJob[];
}

/** A guest's configuration, or why it could not be read. */
export type ConfigReading = { config: GuestConfigFacts } | { problem: string };

/** What `ha add` decided for one guest. */
export interface AddVerdict {
  guest: GuestResource;
  sid: string;
  /** add: it will be added; already: it is an HA resource (left alone); refused: a prerequisite fails */
  kind: 'add' | 'already' | 'refused';
  /** the state it is added with */
  state?: HaState;
  /** why the state was chosen, when pvx chose it */
  stateNote?: string;
  reasons: string[];
  warnings: string[];
}

/** The plan of `ha add`. */
export interface AddDecision {
  verdicts: AddVerdict[];
  plan: Plan;
  /** the group or rule that carries the node preference, and whether it is new */
  preference?: { kind: 'group' | 'rule'; id: string; created: boolean };
}

/** The state a guest keeps when `--state` is not given: HA would otherwise start a stopped guest. */
export function keptState(g: GuestResource): { state: HaState; note?: string } {
  if (g.status === 'running') return { state: 'started' };
  return {
    state: 'stopped',
    note: `${g.status === 'stopped' ? 'it is stopped' : `its status is ${g.status}`}: added with --state stopped so HA does not start it (ha-manager's default, started, would); pass --state started to have HA start it`,
  };
}

/** Nodes HA may restart the guest on: the strict preference's nodes, else every cluster node; never its own. */
export function candidateNodes(g: GuestResource, clusterNodes: readonly string[], pref: NodePreference | undefined): string[] {
  const pool = pref?.strict ? pref.nodes.map((n) => n.node) : clusterNodes;
  return pool.filter((n) => n !== g.node);
}

/** Why the guest's disks keep HA from restarting it elsewhere (empty when they do not), and what to know. */
export function storageProblems(
  g: GuestResource,
  reading: ConfigReading | undefined,
  candidates: readonly string[],
  storages: readonly StorageResource[],
  replication: readonly PvesrJob[],
): { problems: string[]; warnings: string[] } {
  if (!reading) return { problems: ['its configuration was not read'], warnings: [] };
  if ('problem' in reading) return { problems: [reading.problem], warnings: [] };
  const c = reading.config;
  const problems: string[] = [];
  const warnings: string[] = [];
  const tool = g.type === 'qemu' ? 'qm' : 'pct';
  for (const v of c.volumes) {
    const entries = storages.filter((s) => s.storage === v.storage);
    if (entries.some((s) => s.shared)) continue;
    if (g.type === 'qemu' && v.cloudinit) {
      // PVE allocates and writes a missing cloud-init drive when the VM starts: the storage only has to exist there
      const lacking = candidates.filter((n) => !entries.some((s) => s.node === n));
      if (lacking.length > 0) {
        problems.push(
          `${v.key} is the cloud-init drive on storage ${v.storage}, which ${lacking.join(', ')} ${lacking.length === 1 ? 'does' : 'do'} not have: HA could not start the VM there; put the drive on storage every node has (qm set ${g.vmid} --${v.key} <storage>:cloudinit)`,
        );
      }
      continue;
    }
    const type = entries[0]?.plugintype;
    const replicatedTo = new Set(replication.filter((j) => j.vmid === g.vmid && j.enabled).map((j) => j.target));
    const missing = candidates.filter((n) => !replicatedTo.has(n));
    if (type === 'zfspool' && replicatedTo.size > 0 && missing.length === 0) {
      warnings.push(`${v.key} is on local ZFS storage ${v.storage}, replicated to ${candidates.join(', ')}: a recovery loses what changed since the last sync`);
      continue;
    }
    const where = type ? `local storage ${v.storage} (${type})` : `storage ${v.storage}, which the cluster does not list`;
    const fix =
      type === 'zfspool'
        ? `replicate it to ${missing.join(', ')} (${missing.map((n) => `pvx replication add ${g.vmid} --to ${n}`).join('; ')}) or move it to shared storage`
        : `move it to shared storage (${tool} ${g.type === 'qemu' ? 'disk move' : 'move-volume'} ${g.vmid} ${v.key} <shared storage>)`;
    problems.push(`${v.key} is on ${where}: HA could not restart the guest on ${candidates.join(', ') || 'another node'}; ${fix}`);
  }
  for (const d of c.hostDrives) {
    const elsewhere = candidates.join(', ') || 'another node';
    if (d.source === 'cdrom' || (d.cdrom && !d.shared)) {
      problems.push(
        `${d.key} passes the host's CD drive ${d.source === 'cdrom' ? '' : `${d.source} `}through: PVE does not migrate it, and ${elsewhere} may have none; eject it (qm set ${g.vmid} --${d.key} none,media=cdrom)`,
      );
    } else if (d.shared) {
      warnings.push(`${d.key} is the host ${d.cdrom ? 'CD-ROM' : 'disk'} ${d.source}, marked shared=1: it must be the same device on every node HA may start the VM on`);
    } else {
      problems.push(
        `${d.key} is the host disk ${d.source}: HA could not start the VM on ${elsewhere}, and PVE refuses to migrate it ("local file/device"); copy it onto shared storage (qm disk import ${g.vmid} ${d.source} <shared storage>, then use that volume as ${d.key}), or, if ${d.source} is the same shared device on every node, add shared=1 to ${d.key}`,
      );
    }
  }
  for (const b of c.bindMounts) warnings.push(`${b.key} binds the host path ${b.source}: it must exist on every node HA may start the container on`);
  for (const d of c.hostDevices) problems.push(`${d} passes a host device through: the VM cannot start on another node; remove it before adding the VM to HA`);
  return { problems, warnings };
}

/** The group (PVE 8) that already says exactly this preference, if any. */
export function findGroup(groups: readonly HaGroupConfig[], pref: NodePreference): HaGroupConfig | undefined {
  return groups.find((g) => {
    const { nodes, problems } = parseNodePriorities(g.props['nodes'] ?? '');
    return problems.length === 0 && samePreference(nodes, pref.nodes) && (g.props['restricted'] === '1') === pref.strict;
  });
}

/** The enabled node-affinity rule (PVE 9) that already says exactly this preference, if any. */
export function findRule(rules: readonly HaRule[], pref: NodePreference): HaRule | undefined {
  return rules.find((r) => {
    if (r.type !== 'node-affinity' || r.disabled) return false;
    const { nodes, problems } = parseNodePriorities(r.nodes.join(','));
    return problems.length === 0 && samePreference(nodes, pref.nodes) && r.strict === pref.strict;
  });
}

/** Pauses before trying an HA change again whose cfs lock another task held (the CRM takes domain-ha every round). */
export const HA_LOCK_RETRY_MS: readonly number[] = [2000, 5000];

function step(anchor: string, title: string, argv: string[]): Step {
  return { node: anchor, title, argv, mutates: true, timeoutMs: 60_000, retry: { when: isLockTimeout, delaysMs: HA_LOCK_RETRY_MS } };
}

/** Steps that give `sids` the preference: reuse or create the group/rule. On PVE 8 the group must exist before `add --group`. */
function preferenceSteps(
  facts: HaFacts,
  pref: NodePreference,
  sids: readonly string[],
): { before: Step[]; after: Step[]; group?: string; preference: NonNullable<AddDecision['preference']> } {
  const text = preferenceText(pref.nodes);
  if (facts.mode === 'groups') {
    const found = findGroup(facts.groups, pref);
    const id = found?.name ?? preferenceId(pref);
    const before = found ? [] : [step(facts.anchor, `create HA group ${id}: nodes ${text}${pref.strict ? ', restricted' : ''}`, haManager.groupadd(id, text, pref.strict))];
    return { before, after: [], group: id, preference: { kind: 'group', id, created: !found } };
  }
  const found = findRule(facts.rules, pref);
  if (found) {
    const all = [...found.resources, ...sids.filter((s) => !found.resources.includes(s))];
    return {
      before: [],
      after: [step(facts.anchor, `add ${sids.join(', ')} to node-affinity rule ${found.rule} (nodes ${text})`, haManager.ruleSetResources(found.rule, all))],
      preference: { kind: 'rule', id: found.rule, created: false },
    };
  }
  const id = preferenceId(pref);
  return {
    before: [],
    after: [step(facts.anchor, `create node-affinity rule ${id}: ${sids.join(', ')} on ${text}${pref.strict ? ', strict' : ''}`, haManager.ruleAdd(id, sids, text, pref.strict))],
    preference: { kind: 'rule', id, created: true },
  };
}

/** Decide and plan `ha add`. */
export function planAdd(opts: HaOptions, guests: readonly GuestResource[], configs: ReadonlyMap<number, ConfigReading>, facts: HaFacts): AddDecision {
  const managed = new Set(facts.services.map((s) => s.sid));
  const verdicts: AddVerdict[] = guests.map((g) => {
    const sid = haSid(g.type, g.vmid);
    if (managed.has(sid)) return { guest: g, sid, kind: 'already', reasons: [], warnings: [] };
    const reasons: string[] = [];
    if (g.template) reasons.push('it is a template: templates do not run, so HA has nothing to keep running');
    const candidates = candidateNodes(g, facts.clusterNodes, opts.preference);
    const { problems, warnings } = storageProblems(g, configs.get(g.vmid), candidates, facts.storages, facts.replication);
    reasons.push(...problems);
    if (opts.preference?.strict && !opts.preference.nodes.some((n) => n.node === g.node)) {
      warnings.push(`it runs on ${g.node}, which --nodes leaves out: with --strict HA moves it to ${opts.preference.nodes.map((n) => n.node).join(' or ')}`);
    }
    const kept = opts.state !== undefined ? { state: opts.state } : keptState(g);
    return {
      guest: g,
      sid,
      kind: reasons.length > 0 ? 'refused' : 'add',
      state: kept.state,
      ...('note' in kept && kept.note ? { stateNote: kept.note } : {}),
      reasons,
      warnings,
    };
  });
  const adding = verdicts.filter((v) => v.kind === 'add');
  const sids = adding.map((v) => v.sid);
  const pref = opts.preference && sids.length > 0 ? preferenceSteps(facts, opts.preference, sids) : undefined;
  const addSteps = adding.map((v) =>
    step(
      facts.anchor,
      `add ${v.sid} (${v.guest.status} on ${v.guest.node}) as an HA resource, state ${v.state}${pref?.group ? `, group ${pref.group}` : ''}`,
      haManager.add(v.sid, {
        ...(v.state !== undefined ? { state: v.state } : {}),
        ...(pref?.group !== undefined ? { group: pref.group } : {}),
        ...(opts.maxRestart !== undefined ? { maxRestart: opts.maxRestart } : {}),
        ...(opts.maxRelocate !== undefined ? { maxRelocate: opts.maxRelocate } : {}),
        ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
      }),
    ),
  );
  const steps = [...(pref?.before ?? []), ...addSteps, ...(pref?.after ?? [])];
  return {
    verdicts,
    plan: { title: `add ${sids.length} guest(s) to HA`, steps },
    ...(pref ? { preference: pref.preference } : {}),
  };
}

/** Node-affinity rules (PVE 9) that name the SID, and the steps that take it out of them (a rule left empty is removed). */
export function leaveRulesSteps(facts: HaFacts, sid: string): Step[] {
  return facts.rules
    .filter((r) => r.type === 'node-affinity' && r.resources.includes(sid))
    .map((r) => {
      const rest = r.resources.filter((s) => s !== sid);
      return rest.length === 0
        ? step(facts.anchor, `remove node-affinity rule ${r.rule} (it named only ${sid})`, haManager.ruleRemove(r.rule))
        : step(facts.anchor, `take ${sid} out of node-affinity rule ${r.rule}`, haManager.ruleSetResources(r.rule, rest));
    });
}

/** What `ha set` changes on one resource. */
export interface SetRequest {
  sid: string;
  preference?: NodePreference;
  state?: HaState;
  maxRestart?: number;
  maxRelocate?: number;
  comment?: string;
}

/** Plan `ha set` of one HA resource. */
export function planSet(req: SetRequest, facts: HaFacts): { plan: Plan; preference?: NonNullable<AddDecision['preference']> } {
  const steps: Step[] = [];
  let preference: NonNullable<AddDecision['preference']> | undefined;
  let group: string | undefined;
  if (req.preference) {
    if (facts.mode === 'rules') {
      const found = findRule(facts.rules, req.preference);
      if (found?.resources.includes(req.sid)) preference = { kind: 'rule', id: found.rule, created: false };
      else {
        steps.push(...leaveRulesSteps(facts, req.sid));
        // the rule found before leaving may have been the one left; read it again from the same facts
        const p = preferenceSteps({ ...facts, rules: facts.rules.map((r) => ({ ...r, resources: r.resources.filter((s) => s !== req.sid) })) }, req.preference, [req.sid]);
        steps.push(...p.after);
        preference = p.preference;
      }
    } else {
      const p = preferenceSteps(facts, req.preference, [req.sid]);
      steps.push(...p.before);
      group = p.group;
      preference = p.preference;
    }
  }
  const o = {
    ...(req.state !== undefined ? { state: req.state } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(req.maxRestart !== undefined ? { maxRestart: req.maxRestart } : {}),
    ...(req.maxRelocate !== undefined ? { maxRelocate: req.maxRelocate } : {}),
    ...(req.comment !== undefined ? { comment: req.comment } : {}),
  };
  if (Object.keys(o).length > 0) {
    const what = Object.entries(o)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
    // a set of the state goes first on PVE 9 too: the rule steps do not depend on it
    steps.splice(facts.mode === 'groups' ? steps.length : 0, 0, step(facts.anchor, `set ${what} on ${req.sid}`, haManager.set(req.sid, o)));
  }
  return { plan: { title: `change HA resource ${req.sid}`, steps }, ...(preference ? { preference } : {}) };
}

/** Plan `ha remove`: remove each resource; on PVE 8 also the groups pvx made that nothing uses any more. */
export function planRemove(sids: readonly string[], facts: HaFacts, groupOf: ReadonlyMap<string, string>): Plan {
  const steps: Step[] = sids.map((sid) => step(facts.anchor, `remove ${sid} from HA (the guest keeps running or stays stopped)`, haManager.remove(sid)));
  if (facts.mode === 'groups') {
    const removed = new Set(sids);
    const stillUsed = new Set([...groupOf].filter(([sid]) => !removed.has(sid)).map(([, g]) => g));
    const emptied = [...new Set(sids.map((s) => groupOf.get(s)).filter((g): g is string => g !== undefined && g.startsWith('pvx-')))].filter((g) => !stillUsed.has(g));
    for (const g of emptied) steps.push(step(facts.anchor, `remove HA group ${g}, which pvx made and nothing uses now`, haManager.groupremove(g)));
  }
  return { title: `remove ${sids.length} guest(s) from HA`, steps };
}
