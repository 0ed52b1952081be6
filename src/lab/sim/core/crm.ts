/**
 * The CRM master's state machine (PVE::HA::Manager, reduced): one step takes the previous
 * manager_status, the resources, the queued crm commands, which nodes are alive and what the LRMs
 * reported, and returns the next manager_status plus the changes the master must make itself.
 * Pure but for the agent-lock attempt the daemon passes in: the daemon does the file and guest work.
 */
import { selectServiceNode, type Placement } from './ha-placement.js';

/** One service in manager_status.service_status. */
export interface CrmService {
  node: string;
  state: string;
  uid: string;
  running?: number;
  target?: string;
  /** the node a service left because of maintenance, to return to */
  maintenance_node?: string;
}

/** manager_status as the master writes it. */
export interface CrmStatus {
  master_node?: string;
  timestamp?: number;
  node_status: Record<string, string>;
  service_status: Record<string, CrmService>;
  node_request?: Record<string, { maintenance?: number }>;
}

/** A configured resource: its requested state and where its guest's config is. */
export interface CrmServiceConf {
  /** started, stopped, disabled or ignored */
  state: string;
  type: 'vm' | 'ct';
  /** node of the guest config; undefined when the guest does not exist */
  node?: string;
}

/** An LRM's result for the command it ran for a service uid. */
export interface LrmResult {
  sid: string;
  state: string;
  exit_code: number;
}

/** Everything one CRM step looks at. */
export interface CrmInput {
  prev: CrmStatus;
  master: string;
  /** epoch seconds */
  now: number;
  services: Record<string, CrmServiceConf>;
  /** lines of crm_commands, oldest first */
  commands: readonly string[];
  /** every cluster node: online in pmxcfs's membership (PVE2.pm get_node_info) or not */
  nodes: Record<string, { online: boolean }>;
  /** per node: the results its LRM reported, by uid */
  results: Record<string, Record<string, LrmResult>>;
  /** per node: the mode its LRM reported in lrm_status ('active' when absent: Manager.pm read_lrm_status) */
  modes?: Record<string, string>;
  placement: Record<string, Placement>;
  /** when each node was first seen not alive (epoch seconds); kept by the daemon between steps */
  unknownSince: Record<string, number>;
  /** seconds a node may be gone before its services are fenced */
  fenceDelay: number;
  /**
   * NodeStatus fence_node: try to take the node's HA agent lock (get_ha_agent_lock). An active LRM
   * holds that lock and renews it with its watchdog; it expires only well after the watchdog fenced
   * the node. Called only for nodes being fenced.
   */
  agentLock(node: string): boolean;
  newUid(): string;
}

/** A guest config the master moves away from a fenced node (recovery). */
export interface CrmSteal {
  sid: string;
  from: string;
  to: string;
}

/** What one step produced. */
export interface CrmOutput {
  status: CrmStatus;
  /** requested states the master writes back to resources.cfg (crm-command stop) */
  setState: Record<string, string>;
  steal: CrmSteal[];
  unknownSince: Record<string, number>;
  /** log lines in the style of pve-ha-crm's */
  log: string[];
}

const MOVING = new Set(['migrate', 'relocate']);

function usableNodes(status: CrmStatus): string[] {
  return Object.keys(status.node_status)
    .filter((n) => status.node_status[n] === 'online')
    .sort();
}

function serviceLoad(ss: Record<string, CrmService>): Record<string, number> {
  const load: Record<string, number> = {};
  for (const s of Object.values(ss)) {
    const n = s.target ?? s.node;
    if (s.state !== 'stopped') load[n] = (load[n] ?? 0) + 1;
  }
  return load;
}

/**
 * Node states (NodeStatus::update): a node goes into maintenance, and out of it, when its LRM reports
 * that mode (it does once the manager asks for it), not on the request itself; a node gone from the
 * membership becomes unknown unless its LRM is in maintenance; a node being fenced stays in fence
 * until acknowledged, online or not.
 */
function nodeStatus(i: CrmInput, unknownSince: Record<string, number>, log: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of Object.keys(i.nodes).sort()) {
    const before = i.prev.node_status[n];
    const inMaintenance = (i.modes?.[n] ?? 'active') === 'maintenance';
    let s: string;
    if (i.nodes[n]?.online) {
      delete unknownSince[n];
      if (before === 'fence') s = 'fence';
      else if (before === 'online' || before === 'maintenance') s = inMaintenance ? 'maintenance' : 'online';
      else s = 'online';
    } else {
      unknownSince[n] ??= i.now;
      if (before === 'fence') s = 'fence';
      else if (before === 'maintenance' && inMaintenance) s = 'maintenance';
      else s = 'unknown';
    }
    if (before !== undefined && before !== s) log.push(`node '${n}': state changed from '${before}' => '${s}'`);
    out[n] = s;
  }
  return out;
}

/** NodeStatus::node_is_offline_delayed: not alive for at least fenceDelay seconds. */
function offlineDelayed(i: CrmInput, unknownSince: Record<string, number>, node: string): boolean {
  if (i.nodes[node]?.online) return false;
  const since = unknownSince[node];
  return since !== undefined && i.now - since >= i.fenceDelay;
}

/** Services that must be fenced when their node is gone (the lab's LRM holds its lock for them). */
const FENCED_WHEN_GONE = new Set(['started', 'request_stop', 'migrate', 'relocate']);

/**
 * Manager's fencing pass for services already in fence: the node goes to fence; once the master
 * gets the node's agent lock the fence is acknowledged and those services go to recovery.
 */
function fencePass(i: CrmInput, st: CrmStatus, log: string[]): void {
  const waiting = Object.keys(st.service_status)
    .filter((sid) => st.service_status[sid]?.state === 'fence' && i.prev.service_status?.[sid]?.state === 'fence')
    .sort();
  const nodes = [...new Set(waiting.map((sid) => (st.service_status[sid] as CrmService).node))].sort();
  for (const n of nodes) {
    const before = st.node_status[n] ?? 'unknown';
    if (before !== 'fence') {
      log.push(`node '${n}': state changed from '${before}' => 'fence'`);
      st.node_status[n] = 'fence';
    }
    if (!i.agentLock(n)) continue;
    log.push(`fencing: acknowledged - got agent lock for node '${n}'`);
    log.push(`node '${n}': state changed from 'fence' => 'unknown'`);
    st.node_status[n] = 'unknown';
    for (const sid of waiting) if (st.service_status[sid]?.node === n) setServiceState(st, sid, 'recovery', i, log);
  }
  for (const n of Object.keys(st.node_status).sort()) {
    if (st.node_status[n] !== 'fence' || nodes.includes(n)) continue;
    if (!Object.values(st.service_status).some((sd) => sd.node === n && sd.state === 'fence')) {
      log.push(`node '${n}' in fence state but no services to-fence! admin interference?!`);
      if (i.agentLock(n)) {
        log.push(`fencing: acknowledged - got agent lock for node '${n}'`);
        log.push(`node '${n}': state changed from 'fence' => 'unknown'`);
        st.node_status[n] = 'unknown';
      }
    }
  }
}

function applyCommands(i: CrmInput, st: CrmStatus, setState: Record<string, string>, log: string[]): void {
  for (const line of i.commands) {
    const [cmd, a, b] = line.trim().split(/\s+/);
    if (!cmd) continue;
    if (cmd === 'enable-node-maintenance' || cmd === 'disable-node-maintenance') {
      if (!a || !(a in st.node_status)) {
        log.push(`ignore crm command - node '${a ?? ''}' does not exist`);
        continue;
      }
      // Manager.pm update_crm_commands: only the request changes here; the node state follows once
      // the node's LRM reports the mode (nodeStatus)
      const state = st.node_status[a];
      st.node_request ??= {};
      if (cmd === 'enable-node-maintenance') {
        if (state === 'online') st.node_request[a] = { maintenance: 1 };
        else if (state === 'maintenance') log.push(`ignoring crm command - node ${a} is already in maintenance state`);
        else log.push(`crm command error - node not online: ${line.trim()}`);
      } else {
        if (state !== 'maintenance') log.push(`clearing maintenance of node ${a} requested, but it's in state ${state ?? 'unknown'}`);
        delete st.node_request[a];
      }
      continue;
    }
    if (cmd === 'disarm-ha' || cmd === 'arm-ha') {
      log.push(`got crm command: ${line.trim()} (not acted on)`);
      continue;
    }
    const sd = a ? st.service_status[a] : undefined;
    if (!a || !sd) {
      log.push(`ignore crm command - service '${a ?? ''}' is not managed: ${line.trim()}`);
      continue;
    }
    if (cmd === 'migrate' || cmd === 'relocate') {
      if (!b || !(b in st.node_status)) {
        log.push(`ignore crm command - node '${b ?? ''}' does not exist: ${line.trim()}`);
      } else if (sd.node === b) {
        log.push(`ignore crm command - service already on target node: ${line.trim()}`);
      } else if (st.node_status[b] !== 'online') {
        log.push(`ignore crm command - target node '${b}' is not online: ${line.trim()}`);
      } else if (sd.state === 'started' || sd.state === 'stopped') {
        const motion = cmd === 'migrate' && i.services[a]?.type === 'vm' && sd.state === 'started' ? 'migrate' : 'relocate';
        log.push(`got crm command: ${line.trim()}`);
        moveService(st, a, sd, motion, b, i, log);
      } else {
        log.push(`ignore crm command - service '${a}' is in state '${sd.state}': ${line.trim()}`);
      }
    } else if (cmd === 'stop') {
      log.push(`got crm command: ${line.trim()}`);
      setState[a] = 'stopped';
      if (sd.state !== 'stopped') setServiceState(st, a, 'request_stop', i, log);
    } else {
      log.push(`unknown crm command: ${line.trim()}`);
    }
  }
}

function setServiceState(st: CrmStatus, sid: string, state: string, i: CrmInput, log: string[], extra: Partial<CrmService> = {}): void {
  const old = st.service_status[sid];
  if (!old) return;
  const next: CrmService = { node: extra.node ?? old.node, state, uid: i.newUid() };
  if (extra.target !== undefined) next.target = extra.target;
  const back = 'maintenance_node' in extra ? extra.maintenance_node : old.maintenance_node;
  if (back !== undefined) next.maintenance_node = back;
  if (extra.running !== undefined) next.running = extra.running;
  const to = extra.target ? ` (node = ${old.node}, target = ${extra.target})` : ` (node = ${next.node})`;
  log.push(`service '${sid}': state changed from '${old.state}' to '${state}'${to}`);
  st.service_status[sid] = next;
}

function moveService(st: CrmStatus, sid: string, sd: CrmService, motion: 'migrate' | 'relocate', target: string, i: CrmInput, log: string[], extra: Partial<CrmService> = {}): void {
  setServiceState(st, sid, motion, i, log, { target, ...(sd.running ? { running: sd.running } : {}), ...extra });
}

/** One step of the CRM master. */
export function crmStep(i: CrmInput): CrmOutput {
  const log: string[] = [];
  const unknownSince = { ...i.unknownSince };
  const setState: Record<string, string> = {};
  const steal: CrmSteal[] = [];
  const st: CrmStatus = {
    master_node: i.master,
    timestamp: i.now,
    node_status: {},
    service_status: structuredClone(i.prev.service_status ?? {}),
    ...(i.prev.node_request && Object.keys(i.prev.node_request).length ? { node_request: structuredClone(i.prev.node_request) } : {}),
  };
  st.node_status = nodeStatus(i, unknownSince, log);

  // resources removed from the configuration, ignored, or new (a new one advances from the next step on)
  const added = new Set<string>();
  for (const sid of Object.keys(st.service_status)) {
    const cd = i.services[sid];
    if (!cd || cd.state === 'ignored') {
      log.push(`removing stale service '${sid}' (no config)`);
      delete st.service_status[sid];
    }
  }
  for (const [sid, cd] of Object.entries(i.services).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (st.service_status[sid] || cd.state === 'ignored' || cd.node === undefined) continue;
    const state = cd.state === 'started' ? 'request_start' : 'request_stop';
    log.push(`adding new service '${sid}' on node '${cd.node}'`);
    st.service_status[sid] = { node: cd.node, state, uid: i.newUid() };
    added.add(sid);
  }

  applyCommands(i, st, setState, log);

  const usable = usableNodes(st);
  for (const sid of Object.keys(st.service_status).sort()) {
    const sd = st.service_status[sid] as CrmService;
    const cd = i.services[sid];
    if (!cd || cd.node === undefined || added.has(sid)) continue;
    const req = setState[sid] ?? cd.state;
    const p = i.placement[sid];
    const result = i.results[sd.node]?.[sd.uid];
    const load = serviceLoad(st.service_status);
    // the guest's config is the truth about where it is whenever nothing moves it
    if (!MOVING.has(sd.state) && sd.node !== cd.node && sd.state !== 'fence' && sd.state !== 'recovery') sd.node = cd.node;
    const nodeState = st.node_status[sd.node];

    if (FENCED_WHEN_GONE.has(sd.state) && offlineDelayed(i, unknownSince, sd.node)) {
      setServiceState(st, sid, 'fence', i, log);
      continue;
    }
    switch (sd.state) {
      case 'request_start': {
        const node = selectServiceNode(p, sd.node, usable, load);
        if (node === undefined) break;
        if (node === sd.node) setServiceState(st, sid, 'started', i, log);
        else moveService(st, sid, sd, 'relocate', node, i, log);
        break;
      }
      case 'started': {
        if (req !== 'started') {
          setServiceState(st, sid, 'request_stop', i, log);
          break;
        }
        if (result && result.exit_code !== 0) {
          log.push(`service '${sid}' got unrecoverable error (exit code ${result.exit_code})`);
          setServiceState(st, sid, 'error', i, log);
          break;
        }
        if (result && !sd.running) sd.running = 1;
        if (nodeState === 'maintenance') {
          const target = selectServiceNode(p, undefined, usable.filter((n) => n !== sd.node), load);
          if (target) moveService(st, sid, sd, cd.type === 'vm' ? 'migrate' : 'relocate', target, i, log, { maintenance_node: sd.node });
          break;
        }
        const home = sd.maintenance_node;
        if (home !== undefined && st.node_status[home] === 'online' && home !== sd.node) {
          moveService(st, sid, sd, cd.type === 'vm' ? 'migrate' : 'relocate', home, i, log, { maintenance_node: undefined });
          break;
        }
        if (home !== undefined && (home === sd.node || !(home in st.node_status))) delete sd.maintenance_node;
        // a service on a node that is gone waits for fencing; one on a node it may not use moves
        if (usable.includes(sd.node) && p?.strict && !(sd.node in p.nodes)) {
          const target = selectServiceNode(p, undefined, usable, load);
          if (target && target !== sd.node) moveService(st, sid, sd, cd.type === 'vm' ? 'migrate' : 'relocate', target, i, log);
        }
        break;
      }
      case 'request_stop':
        if (result) setServiceState(st, sid, 'stopped', i, log);
        break;
      case 'stopped': {
        if (req === 'started') {
          const node = selectServiceNode(p, sd.node, usable, load);
          if (node === sd.node) setServiceState(st, sid, 'started', i, log);
          else if (node !== undefined) moveService(st, sid, sd, 'relocate', node, i, log);
        } else if (nodeState === 'maintenance') {
          const target = selectServiceNode(p, undefined, usable.filter((n) => n !== sd.node), load);
          if (target) moveService(st, sid, sd, 'relocate', target, i, log);
        }
        break;
      }
      case 'migrate':
      case 'relocate': {
        if (!result) break;
        if (result.exit_code === 0) {
          const extra: Partial<CrmService> = { node: sd.target ?? sd.node };
          setServiceState(st, sid, req === 'started' ? 'started' : 'stopped', i, log, extra);
        } else {
          log.push(`service '${sid}' - migration failed (exit code ${result.exit_code})`);
          setServiceState(st, sid, req === 'started' ? 'started' : 'stopped', i, log);
        }
        break;
      }
      case 'error':
        if (req === 'disabled') setServiceState(st, sid, 'stopped', i, log);
        break;
      case 'recovery': {
        const target = selectServiceNode(p, undefined, usable, load);
        if (!target) break;
        log.push(`recover service '${sid}' from fenced node '${sd.node}' to node '${target}'`);
        steal.push({ sid, from: sd.node, to: target });
        setServiceState(st, sid, req === 'started' ? 'started' : 'request_stop', i, log, { node: target });
        break;
      }
      default:
        break;
    }
  }
  fencePass(i, st, log);
  return { status: st, setState, steal, unknownSince, log };
}
