/**
 * `pvx node maintenance enable|disable <node>`: the HA stack's maintenance mode (pve-ha-manager's
 * `crm-command node-maintenance`), whose LRM moves the HA guests away and, on disable, brings the
 * running ones back; pvx moves the other guests like `node drain` and records where each went
 * (src/workflows/node/maintenance-state.ts) so `disable --return` brings them back.
 */
import { stateDir } from '../../config/paths.js';
import type { Deps } from '../../context.js';
import { ChangedThenFailedError, StepError, UnreachableError } from '../../errors.js';
import { haManager, haSid, pveshGet, pveversion } from '../../pve/argv.js';
import { ParseError } from '../../pve/parse/errors.js';
import { parsePveversion } from '../../pve/parse/pveversion.js';
import { parseHaStatusCurrent, type HaStatusCurrent } from '../../pve/parse/pvesh-ha-status.js';
import type { GuestResource } from '../../pve/parse/pvesh-resources.js';
import { lastLine } from '../../pve/parse/text.js';
import type { ExecResult, Transport } from '../../transport/types.js';
import type { Outcome } from '../../ui/report.js';
import { readGuestConfig } from '../../facts/guest-config.js';
import { readHaServices } from '../../facts/ha.js';
import { readNode } from '../../facts/node.js';
import { ResourceReader } from '../../facts/resources.js';
import { withHaStates } from '../../workflows/migrate/checks.js';
import { readMaintenance, removeMaintenance, withMoved, writeMaintenance, type MaintenanceRecord } from '../../workflows/node/maintenance-state.js';
import type { NodeMoveInput, NodeMoveOptions } from '../../workflows/node/options.js';
import { placeGuests, type Placement, type PlacementGuest, type PlacementTarget } from '../../workflows/node/placement.js';
import type { PlannedStep } from '../../workflows/plan.js';
import { abortableSleep, runPool } from '../../workflows/worker-pool.js';
import { takeClusterLock, type HeldClusterLock } from '../shared/cluster-lock.js';
import { listenForInterrupt } from '../shared/interrupt.js';
import { previewOrRun } from '../shared/dry-run.js';
import { targetProblem } from '../migrate/run.js';
import {
  moveSteps,
  nodeMoveOptions,
  placeNodeGuests,
  placementOf,
  readNodeFacts,
  readVendor,
  runPlacement,
  type DrainGuestResult,
  type DrainPlacement,
  type NodeFacts,
} from './drain.js';

/** An HA guest of the node and where it is at the end. */
export interface MaintenanceHaGuest {
  sid: string;
  /** its node at the end; null when the HA status did not show it */
  node: string | null;
  state: string | null;
}

/** The result of `node maintenance enable|disable`. */
export interface MaintenanceResult {
  node: string;
  action: 'enable' | 'disable';
  /** true when the HA stack's maintenance mode was used (the PVE version has it) */
  haMaintenance: boolean;
  ha: MaintenanceHaGuest[];
  /** the guests pvx moved (enable: off the node; disable --return: back) */
  guests: DrainGuestResult[];
  /** the record of where pvx moved guests, while there is one */
  stateFile: string | null;
}

/** The result of `--dry-run`. */
export interface MaintenancePlanResult {
  node: string;
  action: 'enable' | 'disable';
  haMaintenance: boolean;
  title: string;
  plan: PlannedStep[];
  placement: DrainPlacement[];
}

/** The options of disable (enable takes drain's). */
export interface MaintenanceDisableInput extends NodeMoveInput {
  return?: boolean;
}

const READ_TIMEOUT_MS = 60_000;
const POLL_MS = 2000;
/**
 * The first PVE major on which pvx uses `ha-manager crm-command node-maintenance`. The command came
 * with pve-ha-manager 3.6.0 (PVE 7.4; its debian/changelog: "add CRM command to switch an online node
 * manually into maintenance", and pve-docs ha-manager.adoc "Maintenance Mode"), so both releases pvx
 * supports have it: PVE 8 (pve-ha-manager 4.x) and 9 (5.x). A node on an older PVE is outside that:
 * as elsewhere pvx does not refuse it, but keeps to what every PVE 7 has (7.0 to 7.3 lack the command)
 * and moves every guest itself, saying so.
 */
export const HA_MAINTENANCE_MAJOR = 8;
/** HA states the LRM leaves where they are: not managed, or stuck until someone acts. */
const HA_STAYS = new Set(['ignored', 'error']);
const HA_MOVING = new Set(['migrate', 'relocate']);

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Whether the node's PVE has HA maintenance mode: read from its pveversion. */
async function hasHaMaintenance(t: Transport, node: string): Promise<{ ok: boolean; version: string }> {
  const r = await t.exec(node, pveversion.short(), { timeoutMs: READ_TIMEOUT_MS, title: 'read the PVE version' });
  if (r.exitCode !== 0) throw new StepError(`pveversion failed on ${node}: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}`);
  const v = parsePveversion(r.stdout).manager;
  return { ok: v.major >= HA_MAINTENANCE_MAJOR, version: v.version };
}

/** One read of the HA status, or why not (the wait goes on through a failed read). */
async function readHaStatus(t: Transport, node: string): Promise<HaStatusCurrent | { error: string }> {
  try {
    const r = await t.exec(node, pveshGet('/cluster/ha/status/current'), { timeoutMs: READ_TIMEOUT_MS, title: 'read the HA status' });
    if (r.exitCode !== 0) return { error: lastLine(r.stderr) ?? `exit code ${r.exitCode}` };
    return parseHaStatusCurrent(r.stdout);
  } catch (e) {
    if (e instanceof UnreachableError || e instanceof ParseError) return { error: e.message };
    throw e;
  }
}

function lrmState(s: HaStatusCurrent, node: string): string | undefined {
  return s.lrms.find((l) => l.node === node)?.state;
}

/**
 * Poll the HA status (from `from`) until `done` says so, Ctrl-C or the deadline; returns the last
 * status and, when not done, what was still missing.
 */
async function waitForHa(
  deps: Deps,
  t: Transport,
  from: string,
  timeoutSec: number,
  signal: AbortSignal,
  done: (s: HaStatusCurrent) => string | undefined,
): Promise<{ status?: HaStatusCurrent; missing?: string }> {
  const deadline = deps.now() + timeoutSec * 1000;
  const sleep = abortableSleep(signal);
  let last: HaStatusCurrent | undefined;
  let missing = 'the HA status was not read';
  for (;;) {
    const s = await readHaStatus(t, from);
    if ('error' in s) missing = `the HA status could not be read from ${from}: ${s.error}`;
    else {
      last = s;
      const m = done(s);
      if (m === undefined) return { status: s };
      missing = m;
    }
    if (signal.aborted) return { ...(last ? { status: last } : {}), missing: `stopped waiting with Ctrl-C: ${missing}` };
    if (deps.now() + POLL_MS > deadline) return { ...(last ? { status: last } : {}), missing: `not within ${timeoutSec} s (--timeout): ${missing}` };
    await sleep(POLL_MS);
  }
}

function haOnNode(s: HaStatusCurrent, node: string): string[] {
  return s.services.filter((x) => x.node === node && !HA_STAYS.has(x.state)).map((x) => `${x.sid} (${x.state})`);
}

function haGuestsAt(s: HaStatusCurrent | undefined, sids: readonly string[]): MaintenanceHaGuest[] {
  return sids.map((sid) => {
    const x = s?.services.find((v) => v.sid === sid);
    return { sid, node: x?.node ?? null, state: x?.state ?? null };
  });
}

/** pvx's state directory, where the maintenance records are. */
function stateDirOf(deps: Deps): string {
  return stateDir(deps.pvx.stateDir, deps.env);
}

/** Run `pvx node maintenance enable <node>`. */
export async function maintenanceEnable(deps: Deps, input: NodeMoveInput): Promise<Outcome<MaintenanceResult | MaintenancePlanResult>> {
  const o = nodeMoveOptions(deps, input, 'see pvx node maintenance --help');
  const f = await readNodeFacts(deps, o);
  const version = await hasHaMaintenance(f.t, o.node);
  const haGuests = version.ok ? f.guests.filter((g) => g.hastate !== undefined) : [];
  const placed = await placeNodeGuests(deps, f, o, version.ok ? f.guests.filter((g) => g.hastate === undefined) : f.guests);
  const watcher = f.targets.find((x) => x.problem === undefined)?.node ?? o.node;
  const warnings: string[] = [];
  if (!version.ok) warnings.push(`${o.node} runs PVE ${version.version}, older than the PVE ${HA_MAINTENANCE_MAJOR} and later pvx supports: the HA stack's maintenance mode is not used; every guest is moved like pvx node drain (HA guests with ha-manager migrate) and comes back only with disable --return`);
  if (f.haUnread !== undefined) warnings.push(`could not read the HA status (${f.haUnread}): only guests whose resources show an HA state are treated as HA-managed`);

  return previewOrRun(deps, {
    preview: () => {
      const ha: PlannedStep[] = version.ok
        ? [
            { node: o.node, title: `request maintenance mode for ${o.node}: the HA stack moves its ${haGuests.length} HA guest(s) away`, command: haManager.nodeMaintenance('enable', o.node), mutates: true },
            { node: watcher, title: `wait until ha-manager status shows ${o.node} in maintenance mode and none of its HA guests on it`, command: pveshGet('/cluster/ha/status/current'), mutates: false },
          ]
        : [];
      const plan = [...ha, ...moveSteps(placed)];
      const title = `maintenance of ${o.node}: ${version.ok ? 'HA maintenance mode, then ' : ''}move ${placed.filter((p) => p.kind === 'move').length} of ${placed.length} other guest(s)`;
      const placement = placementOf(placed);
      const stay = placement.filter((p) => p.target === null).length;
      const error = stay > 0 ? new StepError(`${stay} guest(s) fit on no target and would stay on ${o.node}`, { code: 'DRAIN_INCOMPLETE', hint: "each guest's line says why" }) : undefined;
      return { command: 'node maintenance enable', result: { node: o.node, action: 'enable', haMaintenance: version.ok, title, plan, placement }, exitCode: error ? 1 : 0, warnings, ...(error ? { error } : {}) };
    },
    run: async () => {
      const again = `pvx node maintenance enable ${o.node}`;
      const interrupt = listenForInterrupt(deps);
      let lock: HeldClusterLock | undefined;
      let rec: MaintenanceRecord = readMaintenance(o.node, stateDirOf(deps)) ?? { node: o.node, since: iso(deps.now()), guests: [] };
      const stateFile = writeMaintenance(rec, stateDirOf(deps));
      let ha: MaintenanceHaGuest[] = [];
      let guests: DrainGuestResult[] = [];
      try {
        const nodes = [o.node, ...f.targets.filter((x) => x.problem === undefined).map((x) => x.node)];
        lock = await takeClusterLock(deps, f.t, { nodes, companions: f.res.nodes.filter((n) => n.online && f.inventory.has(n.node) && !nodes.includes(n.node)).map((n) => n.node) });
        if (version.ok) {
          const sids = haGuests.map((g) => haSid(g.type, g.vmid));
          const step = await deps.progress.start(`requesting maintenance mode for ${o.node}`);
          const r = await maintenanceRequest(f.t, o.node, 'enable');
          if (r.cutOff) {
            step.fail('the maintenance request was cut off');
            throw cutOffRequest(o.node, 'enable', r, `check ha-manager status; continue with: ${again} (the request is sent again and pvx waits), or leave maintenance with: pvx node maintenance disable ${o.node}`);
          }
          if (r.exitCode !== 0) {
            step.fail('ha-manager refused the maintenance request');
            throw new StepError(`ha-manager crm-command node-maintenance enable ${o.node} failed: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}`, { hint: `nothing was changed; fix that, then run ${again} again` });
          }
          step.update(`waiting until ${o.node} is in maintenance mode and its ${sids.length} HA guest(s) have left it`);
          const w = await waitForHa(deps, f.t, watcher, o.timeoutSec, interrupt.signal, (s) => {
            const lrm = lrmState(s, o.node);
            const still = haOnNode(s, o.node);
            if (lrm === 'maintenance mode' && still.length === 0) return undefined;
            return `the LRM of ${o.node} is '${lrm ?? 'not shown'}'${still.length > 0 ? `; still on it: ${still.join(', ')}` : ''}`;
          });
          ha = haGuestsAt(w.status, sids);
          for (const g of ha) if (g.node !== null && g.node !== o.node) rec = withMoved(rec, { vmid: Number(g.sid.split(':')[1]), type: g.sid.startsWith('vm:') ? 'qemu' : 'lxc', to: g.node, ha: true });
          writeMaintenance(rec, stateDirOf(deps));
          if (w.missing !== undefined) {
            step.fail(`${o.node}: the HA stack has not finished`);
            throw new ChangedThenFailedError(`maintenance mode was requested for ${o.node}, but ${w.missing}`, {
              code: 'MAINTENANCE_INCOMPLETE',
              hint: `check ha-manager status; continue with: ${again} (the request is sent again and pvx waits), or leave maintenance with: pvx node maintenance disable ${o.node}`,
            });
          }
          step.succeed(`${o.node} is in maintenance mode; its HA guests have left it`);
        }
        guests = await runPlacement(deps, f, o, placed, interrupt.signal, (m) => {
          if (m.target !== null) rec = withMoved(rec, { vmid: m.vmid, type: m.type, to: m.target, ha: false });
          writeMaintenance(rec, stateDirOf(deps));
        });
      } finally {
        await lock?.release();
        interrupt.dispose();
      }
      const result: MaintenanceResult = { node: o.node, action: 'enable', haMaintenance: version.ok, ha, guests, stateFile };
      const left = guests.filter((g) => g.status !== 'migrated');
      if (left.length > 0) {
        const error = new ChangedThenFailedError(`${o.node} is in maintenance${version.ok ? ' mode' : ''}, but ${left.length} of ${guests.length} other guest(s) are still on it`, {
          code: 'MAINTENANCE_INCOMPLETE',
          hint: `each guest's line says why; fix that, then continue with: ${again}`,
        });
        return { command: 'node maintenance enable', result, exitCode: error.exitCode, warnings, error };
      }
      return { command: 'node maintenance enable', result, exitCode: 0, warnings };
    },
  });
}

/** The guests pvx moved that are still where it moved them, placed back on the node. */
async function placeReturn(deps: Deps, t: Transport, o: NodeMoveOptions, rec: MaintenanceRecord | undefined, f: NodeFacts, haMaintenance: boolean): Promise<Placement[]> {
  const wanted = (rec?.guests ?? []).filter((g) => !g.ha || !haMaintenance);
  const out: Placement[] = [];
  const going: GuestResource[] = [];
  for (const w of wanted) {
    const g = f.guests.find((x) => x.vmid === w.vmid);
    const base: GuestResource = g ?? { type: w.type, vmid: w.vmid, node: w.to, status: 'unknown', template: false };
    if (!g) out.push({ kind: 'skip', guest: base, reason: 'no longer in the cluster' });
    else if (g.node === o.node) out.push({ kind: 'skip', guest: g, reason: `already on ${o.node}` });
    else if (g.node !== w.to) out.push({ kind: 'skip', guest: g, reason: `now on ${g.node}, not on ${w.to} where pvx moved it: left alone` });
    else going.push(g);
  }
  const configs = await runPool(going, 8, (g) => readGuestConfig(t, g));
  const bySource = new Map<string, PlacementGuest[]>();
  going.forEach((guest, i) => {
    const c = configs[i];
    const p: PlacementGuest = c && 'config' in c ? { guest, config: c.config } : { guest, problem: c?.problem ?? 'its configuration was not read' };
    bySource.set(guest.node, [...(bySource.get(guest.node) ?? []), p]);
  });
  for (const [source, list] of bySource) {
    const vendor = f.targets.find((x) => x.node === source)?.cpuVendor;
    out.push(
      ...placeGuests({
        source,
        ...(vendor !== undefined ? { sourceVendor: vendor } : {}),
        guests: list,
        targets: f.targets.filter((x) => x.node === o.node),
        inventory: f.inventory,
        nodeStatus: new Map(f.res.nodes.map((n) => [n.node, n.status])),
        storages: f.res.storages,
        withLocalDisks: o.withLocalDisks,
      }),
    );
  }
  return out;
}

/** Read what disable needs: the cluster, the node as the target of returning guests, and each source's CPU vendor. */
async function readDisableFacts(deps: Deps, o: NodeMoveOptions, sources: readonly string[]): Promise<NodeFacts> {
  const inv = deps.inventory();
  const t = deps.transport(inv.nodes);
  const others = inv.nodes.map((n) => n.name).filter((n) => n !== o.node);
  const reader = new ResourceReader(t, [o.node, ...others]);
  const step = await deps.progress.start('reading the cluster');
  try {
    const [read, view] = await Promise.all([reader.all(), readNode(t, o.node)]);
    const res = read.resources;
    const vendors = await Promise.all([o.node, ...sources].map(async (n) => [n, await readVendor(t, n)] as const));
    const r = res.nodes.find((n) => n.node === o.node);
    const problem = targetProblem(o.node, view, res);
    const targets: PlacementTarget[] = vendors.map(([node, v]) => {
      const x = res.nodes.find((n) => n.node === node);
      const here = node === o.node;
      return {
        node,
        ...(x?.maxmem !== undefined && x.mem !== undefined ? { freeMem: x.maxmem - x.mem } : {}),
        ...(x?.maxcpu !== undefined ? { maxcpu: x.maxcpu } : {}),
        ...(v !== undefined ? { cpuVendor: v } : {}),
        ...(here && problem !== undefined ? { problem } : {}),
      };
    });
    const ha = await readHaServices(t, read.node);
    step.succeed(`read the cluster from ${read.node}${r ? '' : ` (${o.node} is not in it)`}`);
    return { t, reader, res, guests: ha.ok ? withHaStates(res.guests, ha.services) : res.guests, targets, inventory: new Set(inv.nodes.map((n) => n.name)), ...(!ha.ok ? { haUnread: ha.message } : {}) };
  } catch (e) {
    step.fail('could not read the cluster');
    throw e;
  }
}

/** Run `pvx node maintenance disable <node> [--return]`. */
export async function maintenanceDisable(deps: Deps, input: MaintenanceDisableInput): Promise<Outcome<MaintenanceResult | MaintenancePlanResult>> {
  const o = nodeMoveOptions(deps, { node: input.node, ...(input.parallel !== undefined ? { parallel: input.parallel } : {}), ...(input.timeout !== undefined ? { timeout: input.timeout } : {}), withLocalDisks: input.withLocalDisks === true }, 'see pvx node maintenance --help');
  const rec = readMaintenance(o.node, stateDirOf(deps));
  const back = input.return === true;
  const sources = [...new Set((rec?.guests ?? []).map((g) => g.to))].filter((n) => n !== o.node);
  const f = await readDisableFacts(deps, o, sources);
  const version = await hasHaMaintenance(f.t, o.node);
  const placed = back ? await placeReturn(deps, f.t, o, rec, f, version.ok) : [];
  const haSids = version.ok ? (rec?.guests ?? []).filter((g) => g.ha).map((g) => haSid(g.type, g.vmid)) : [];
  const warnings: string[] = [];
  const again = `pvx node maintenance disable ${o.node}${back ? ' --return' : ''}`;
  if (!back && rec && rec.guests.some((g) => !g.ha || !version.ok)) {
    warnings.push(`the guests pvx moved off ${o.node} stay where they are; bring them back with: pvx node maintenance disable ${o.node} --return`);
  }
  if (back && !rec) warnings.push(`no record of guests pvx moved off ${o.node}: nothing to bring back`);

  return previewOrRun(deps, {
    preview: () => {
      const plan: PlannedStep[] = [
        ...(version.ok
          ? [
              { node: o.node, title: `end maintenance mode of ${o.node} (the HA stack brings its running HA guests back)`, command: haManager.nodeMaintenance('disable', o.node), mutates: true },
              { node: o.node, title: `wait until ha-manager status shows ${o.node} out of maintenance mode`, command: pveshGet('/cluster/ha/status/current'), mutates: false },
            ]
          : []),
        ...moveSteps(placed),
      ];
      const title = `end the maintenance of ${o.node}${back ? `, then bring back ${plan.length - (version.ok ? 2 : 0)} guest(s)` : ''}`;
      return { command: 'node maintenance disable', result: { node: o.node, action: 'disable', haMaintenance: version.ok, title, plan, placement: placementOf(placed) }, exitCode: 0, warnings };
    },
    run: async () => {
      const interrupt = listenForInterrupt(deps);
      let lock: HeldClusterLock | undefined;
      let record = rec;
      let guests: DrainGuestResult[] = [];
      let ha: MaintenanceHaGuest[] = [];
      let haMissing: string | undefined;
      try {
        const nodes = [o.node, ...sources];
        lock = await takeClusterLock(deps, f.t, { nodes, companions: f.res.nodes.filter((n) => n.online && f.inventory.has(n.node) && !nodes.includes(n.node)).map((n) => n.node) });
        if (version.ok) {
          const step = await deps.progress.start(`ending maintenance mode of ${o.node}`);
          const r = await maintenanceRequest(f.t, o.node, 'disable');
          if (r.cutOff) {
            step.fail('the request was cut off');
            throw cutOffRequest(o.node, 'disable', r, `check ha-manager status; continue with: ${again} (the request is sent again and pvx waits)`);
          }
          if (r.exitCode !== 0) {
            step.fail('ha-manager refused the request');
            throw new StepError(`ha-manager crm-command node-maintenance disable ${o.node} failed: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}`, { hint: `nothing was changed; fix that, then run ${again} again` });
          }
          const w = await waitForHa(deps, f.t, o.node, o.timeoutSec, interrupt.signal, (s) => {
            const lrm = lrmState(s, o.node);
            return lrm === 'maintenance mode' || lrm === undefined ? `the LRM of ${o.node} is '${lrm ?? 'not shown'}'` : undefined;
          });
          if (w.missing !== undefined) {
            step.fail(`${o.node} is still in maintenance mode`);
            throw new ChangedThenFailedError(`the end of maintenance mode was requested for ${o.node}, but ${w.missing}`, { code: 'MAINTENANCE_INCOMPLETE', hint: `check ha-manager status; continue with: ${again}` });
          }
          step.succeed(`${o.node} is out of maintenance mode`);
        }
        guests = await runPlacement(deps, f, o, placed, interrupt.signal, (m) => {
          if (record) {
            record = { ...record, guests: record.guests.filter((g) => g.vmid !== m.vmid) };
            writeMaintenance(record, stateDirOf(deps));
          }
        });
        if (back && haSids.length > 0) {
          // the LRM brings back the HA guests that were running; stopped ones stay where the HA stack put them
          const step = await deps.progress.start(`waiting for the HA stack to bring ${haSids.length} HA guest(s) back to ${o.node}`);
          const w = await waitForHa(deps, f.t, o.node, o.timeoutSec, interrupt.signal, (s) => {
            const away = s.services.filter((x) => haSids.includes(x.sid) && (x.node !== o.node || HA_MOVING.has(x.state)) && (x.state === 'started' || HA_MOVING.has(x.state)));
            return away.length === 0 ? undefined : `not back yet: ${away.map((x) => `${x.sid} (${x.node ?? '---'}, ${x.state})`).join(', ')}`;
          });
          ha = haGuestsAt(w.status, haSids);
          haMissing = w.missing;
          if (haMissing) step.fail(`the HA stack has not brought every HA guest back`);
          else step.succeed(`the running HA guests are back on ${o.node}`);
          if (record) {
            const returned = new Set(ha.filter((g) => g.node === o.node).map((g) => Number(g.sid.split(':')[1])));
            record = { ...record, guests: record.guests.filter((g) => !(g.ha && (returned.has(g.vmid) || !haMissing))) };
          }
        }
      } finally {
        await lock?.release();
        interrupt.dispose();
      }
      let stateFile: string | null = null;
      if (record && back) {
        if (record.guests.length === 0) removeMaintenance(o.node, stateDirOf(deps));
        else stateFile = writeMaintenance(record, stateDirOf(deps));
      } else if (record) stateFile = writeMaintenance(record, stateDirOf(deps));
      const result: MaintenanceResult = { node: o.node, action: 'disable', haMaintenance: version.ok, ha, guests, stateFile };
      const left = guests.filter((g) => g.status !== 'migrated' && g.reason !== `already on ${o.node}`);
      if (left.length > 0 || haMissing) {
        const what = [...(left.length > 0 ? [`${left.length} guest(s) pvx moved did not come back`] : []), ...(haMissing ? [`HA guests: ${haMissing}`] : [])].join('; ');
        const error = new ChangedThenFailedError(`${o.node} is out of maintenance, but ${what}`, { code: 'MAINTENANCE_INCOMPLETE', hint: `each guest's line says why; fix that, then continue with: ${again}` });
        return { command: 'node maintenance disable', result, exitCode: error.exitCode, warnings, error };
      }
      return { command: 'node maintenance disable', result, exitCode: 0, warnings };
    },
  });
}

/**
 * `ha-manager crm-command node-maintenance enable|disable`, marked cut off (it may have been queued)
 * when its connection broke under it; a login that failed sent nothing and throws as it is.
 */
async function maintenanceRequest(t: Transport, node: string, action: 'enable' | 'disable'): Promise<ExecResult> {
  const title = action === 'enable' ? `request maintenance mode for ${node}` : `end maintenance mode of ${node}`;
  try {
    return await t.exec(node, haManager.nodeMaintenance(action, node), { mutates: true, timeoutMs: READ_TIMEOUT_MS, title });
  } catch (e) {
    if (e instanceof UnreachableError && !e.beforeCommand) return { exitCode: 255, stdout: '', stderr: `${e.message}\n`, durationMs: 0, cutOff: true };
    throw e;
  }
}

/** A maintenance request cut off under its command: it may have reached the CRM, so not "nothing changed" (exit 4). */
function cutOffRequest(node: string, action: 'enable' | 'disable', r: ExecResult, hint: string): ChangedThenFailedError {
  return new ChangedThenFailedError(`the request to ${action === 'enable' ? 'put' : 'take'} ${node} ${action === 'enable' ? 'into' : 'out of'} maintenance mode was cut off, so it may have been queued: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}`, { code: 'MAINTENANCE_INCOMPLETE', hint });
}
