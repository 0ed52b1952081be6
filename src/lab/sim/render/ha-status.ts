/** The entries of `ha-manager status` and /cluster/ha/status/current (PVE::API2::HA::Status, 4.0.7 and >= 5.1.3). */
import { perlLocaltime } from '../core/time.js';

/** A configured HA resource with defaults filled in and the node of its guest (read_and_check_resources_config). */
export interface HaServiceConf {
  state: string;
  max_restart: number;
  max_relocate: number;
  failback?: number;
  group?: string;
  comment?: string;
  /** node of the guest; undefined when the guest does not exist */
  node?: string;
}

/** The CRM's view of a service (manager_status.service_status). */
export interface HaServiceState {
  node?: string;
  state?: string;
  running?: number;
}

/** Everything the status handler reads. */
export interface HaStatusInput {
  nodename: string;
  quorate: boolean;
  /** pve-ha-manager >= 5.1.3: fencing entry and LRM watchdog state */
  fencing: boolean;
  /** PVE 9 reports `failback` among the resource attributes */
  failback: boolean;
  now: number;
  manager: {
    master_node?: string;
    timestamp?: number;
    node_status?: Record<string, string>;
    service_status?: Record<string, HaServiceState>;
    disarm?: { mode?: string; state?: string };
  };
  services: Record<string, HaServiceConf>;
  lrm: Record<string, { state?: string; mode?: string; timestamp?: number }>;
  /** datacenter.cfg crs ha mode */
  crsHa?: string;
}

/** One status entry. */
export type HaEntry = Record<string, string | number> & { id: string; type: string; status: string };

function timestampToStatus(ctime: number, ts: number): string {
  const d = ctime - ts;
  if (d > 30) return 'old timestamp - dead?';
  if (d < -2) return 'detected time drift!';
  return 'active';
}

/** PVE::HA::Tools::get_verbose_service_state. */
export function verboseServiceState(ss: HaServiceState | undefined, sc: HaServiceConf | undefined): string {
  if (!sc) return 'deleting';
  const req = sc.state ?? 'ignored';
  if (req === 'ignored') return 'ignored';
  if (sc.node === undefined) return 'not found';
  if (!ss) return 'queued';
  const cur = ss.state;
  let state = cur ?? 'queued';
  if (cur === undefined) state = 'queued';
  else if (cur === 'stopped') {
    if (req === 'started') state = 'starting';
    else if (req === 'disabled') state = 'disabled';
  } else if (cur === 'started') {
    if (req === 'stopped' || req === 'disabled') state = 'stopping';
    if (!ss.running) state = 'starting';
  } else if (cur === 'error' && req === 'disabled') {
    state = 'clearing error flag';
  }
  return state;
}

function activeCount(ss: Record<string, HaServiceState>, node: string): number {
  let n = 0;
  for (const sd of Object.values(ss)) {
    if (sd.node !== node || sd.state === undefined) continue;
    if (sd.state === 'stopped' || sd.state === 'freeze') continue;
    n++;
  }
  return n;
}

/** The status entries, in the handler's order. */
export function haStatusEntries(i: HaStatusInput): HaEntry[] {
  const res: HaEntry[] = [];
  const st = i.manager;
  res.push({ id: 'quorum', type: 'quorum', node: i.nodename, status: i.quorate ? 'OK' : `No quorum on node '${i.nodename}'!`, quorate: i.quorate ? 1 : 0 });
  const hasMaster = st.master_node !== undefined && st.timestamp !== undefined;
  if (hasMaster) {
    let s = timestampToStatus(i.now, st.timestamp ?? 0);
    if (i.quorate && s !== 'active' && Object.keys(i.services).length === 0) s = 'idle';
    let extra = '';
    if (i.fencing && st.disarm) extra += ` - ${st.disarm.state ?? ''}, resource mode: ${st.disarm.mode ?? ''}`;
    if (i.crsHa && i.crsHa !== 'basic') extra += ` - ${i.crsHa} load CRS`;
    res.push({ id: 'master', type: 'master', node: st.master_node ?? '', status: `${st.master_node ?? ''} (${s}, ${perlLocaltime(st.timestamp ?? 0)})${extra}`, timestamp: st.timestamp ?? 0 });
  }
  if (i.fencing) {
    const crmActive = hasMaster && timestampToStatus(i.now, st.timestamp ?? 0) === 'active';
    if (st.disarm) {
      const mode = st.disarm.mode ?? 'unknown';
      const ds = st.disarm.state ?? 'unknown';
      const wd = ds === 'disarmed' ? 'CRM watchdog released' : 'CRM watchdog active';
      res.push({ id: 'fencing', type: 'fencing', node: st.master_node ?? i.nodename, status: `${ds}, resource mode: ${mode} (${wd})`, 'armed-state': ds, resource_mode: mode });
    } else {
      const armed = crmActive ? 'armed' : 'standby';
      res.push({ id: 'fencing', type: 'fencing', node: st.master_node ?? i.nodename, status: `${armed} (CRM watchdog ${crmActive ? 'active' : 'standby'})`, 'armed-state': armed });
    }
  }
  const services = st.service_status ?? {};
  for (const node of Object.keys(st.node_status ?? {}).sort()) {
    const lrm = i.lrm[node] ?? {};
    const id = `lrm:${node}`;
    if (!lrm.timestamp) {
      res.push({ id, type: 'lrm', node, status: `${node} (unable to read lrm status)` });
      continue;
    }
    let s = timestampToStatus(i.now, lrm.timestamp);
    let mode = lrm.mode;
    const state = lrm.state || 'unknown';
    let wd = 'watchdog standby';
    if (s === 'active' && (state === 'active' || state === 'maintenance')) wd = 'watchdog active';
    else if (mode === 'disarm') wd = 'watchdog released';
    if (s === 'active') {
      mode ||= 'active';
      if (mode !== 'active') s = `${mode} mode`;
      else s = state === 'wait_for_agent_lock' && !activeCount(services, node) ? 'idle' : state;
    } else if (mode === 'maintenance' || (i.fencing && mode === 'disarm')) {
      s = `${mode} mode`;
    }
    const text = i.fencing ? `${node} (${s}, ${wd}, ${perlLocaltime(lrm.timestamp)})` : `${node} (${s}, ${perlLocaltime(lrm.timestamp)})`;
    res.push({ id, type: 'lrm', node, status: text, timestamp: lrm.timestamp });
  }
  const add = (sid: string, sc: HaServiceConf | undefined, ss: HaServiceState | undefined): void => {
    const d: HaEntry = { id: `service:${sid}`, type: 'service', sid, status: '' };
    let node: string | undefined;
    if (ss) {
      node = ss.node;
      if (ss.state !== undefined) d['crm_state'] = ss.state;
    } else if (sc) {
      node = sc.node;
    }
    if (node !== undefined) d['node'] = node;
    let state = verboseServiceState(ss, sc);
    if (i.fencing && st.disarm?.mode === 'ignore') state = 'ignore';
    d['state'] = state;
    d.status = `${sid} (${node ?? '---'}, ${state})`;
    if (sc) {
      d['request_state'] = sc.state;
      d['max_restart'] = sc.max_restart;
      d['max_relocate'] = sc.max_relocate;
      if (sc.group !== undefined) d['group'] = sc.group;
      if (i.failback && sc.failback !== undefined) d['failback'] = sc.failback;
      if (sc.comment !== undefined) d['comment'] = sc.comment;
    }
    res.push(d);
  };
  for (const sid of Object.keys(services).sort()) add(sid, i.services[sid], services[sid]);
  for (const sid of Object.keys(i.services).sort()) if (!services[sid]) add(sid, i.services[sid], undefined);
  return res;
}

/** `ha-manager status` text: one `<type> <status>` line per entry. */
export function renderHaStatus(entries: readonly HaEntry[]): string {
  return entries.map((e) => `${e.type} ${e.status}\n`).join('');
}
