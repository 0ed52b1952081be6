/**
 * The LRM of one node (PVE::HA::LRM, reduced): which commands to run for the services the CRM
 * placed on this node, and the lrm_status it writes. Pure but for the agent-lock calls the daemon
 * passes in: the daemon runs the commands.
 */
import type { CrmStatus, LrmResult } from './crm.js';

/** A command the LRM runs for a service (one per uid). */
export type LrmAction =
  | { kind: 'start' | 'stop'; sid: string; uid: string }
  | { kind: 'migrate' | 'relocate'; sid: string; uid: string; target: string };

/** /etc/pve/nodes/<node>/lrm_status. */
export interface LrmStatus {
  state: 'wait_for_agent_lock' | 'active' | 'lost_agent_lock' | 'maintenance';
  mode: 'active' | 'maintenance';
  timestamp: number;
  results: Record<string, LrmResult>;
}

/** Commands to run now: for each service on this node whose uid has no result and is not running already. */
export function lrmActions(ms: CrmStatus, node: string, results: Record<string, LrmResult>, inFlight: ReadonlySet<string>): LrmAction[] {
  const out: LrmAction[] = [];
  for (const sid of Object.keys(ms.service_status ?? {}).sort()) {
    const sd = ms.service_status[sid];
    if (!sd || sd.node !== node || results[sd.uid] || inFlight.has(sd.uid)) continue;
    switch (sd.state) {
      case 'started':
        out.push({ kind: 'start', sid, uid: sd.uid });
        break;
      case 'request_stop':
      case 'stopped':
        out.push({ kind: 'stop', sid, uid: sd.uid });
        break;
      case 'migrate':
      case 'relocate':
        if (sd.target) out.push({ kind: sd.state, sid, uid: sd.uid, target: sd.target });
        break;
      default:
        break;
    }
  }
  return out;
}

/** Results the CRM still refers to (older ones are dropped, as the real LRM does). */
export function keepResults(ms: CrmStatus, results: Record<string, LrmResult>): Record<string, LrmResult> {
  const live = new Set(Object.values(ms.service_status ?? {}).map((s) => s.uid));
  return Object.fromEntries(Object.entries(results).filter(([uid]) => live.has(uid)));
}

/** Service states an LRM does not count as active (Tools.pm count_active_services). */
const NOT_ACTIVE = new Set(['stopped', 'freeze', 'error', 'request_start']);

/** active_service_count > 0: a service placed on (or moving to) this node in a state the LRM manages (not stopped, frozen, in error or only asked to start). */
export function hasActiveServices(ms: CrmStatus, node: string): boolean {
  return Object.values(ms.service_status ?? {}).some((s) => (s.node === node || s.target === node) && s.state !== undefined && !NOT_ACTIVE.has(s.state));
}

/** has_configured_service_on_local_node: a service of any state placed on this node. */
export function hasConfiguredServices(ms: CrmStatus, node: string): boolean {
  return Object.values(ms.service_status ?? {}).some((s) => s.node === node);
}

/** The lrm_status this node writes: the LRM's own state, maintenance mode while the manager asks for it. */
export function lrmStatus(ms: CrmStatus, node: string, state: LrmStatus['state'], results: Record<string, LrmResult>, now: number): LrmStatus {
  const maintenance = Boolean(ms.node_request?.[node]?.maintenance);
  return { state, mode: maintenance ? 'maintenance' : 'active', timestamp: now, results };
}

/** The LRM's own state (LRM.pm work()): idle, active with agent lock and watchdog, active having lost the lock, or maintenance. */
export type LrmAgentState = 'wait_for_agent_lock' | 'active' | 'lost_agent_lock' | 'maintenance';

/** LRM.pm $max_active_idle_rounds: an active LRM with nothing configured on its node goes idle after this many rounds. */
export const MAX_ACTIVE_IDLE_ROUNDS = 60;

/** What one LRM round looks at. */
export interface LrmRoundInput {
  state: LrmAgentState;
  /** /etc/pve writable: the agent lock can be had */
  quorate: boolean;
  /** the master put this node or one of its services into fence */
  fenceRequested: boolean;
  /** services placed on this node that are not stopped (active_service_count) */
  hasActiveServices: boolean;
  /** a service of any state placed on this node (has_configured_service_on_local_node) */
  hasConfiguredServices: boolean;
  /** the manager asks this node for maintenance mode (is_maintenance_requested) */
  maintenanceRequested: boolean;
  /** commands still running */
  busy: boolean;
  /** rounds in a row this active LRM had nothing configured on its node (active_idle_rounds) */
  idleRounds: number;
  /** epoch ms of the last watchdog update; undefined while the watchdog is closed */
  fedAt?: number;
  /** epoch ms now: the watchdog is updated when the lock was got, which may be seconds into the round */
  clock: () => number;
  watchdogTimeoutMs: number;
  /**
   * get_protected_ha_agent_lock: get or renew this node's agent lock, with its retries (fails
   * without quorum, or while the master holds it after a fence)
   */
  getLock: () => Promise<boolean>;
  /** release_ha_agent_lock, when the LRM goes idle */
  releaseLock: () => void;
}

/** The outcome of one LRM round. */
export interface LrmRound {
  state: LrmAgentState;
  idleRounds: number;
  /** epoch ms of the last watchdog update; undefined: watchdog closed */
  fedAt?: number;
  /** the watchdog expired: the node is reset */
  fire: boolean;
  log: string[];
}

/**
 * One round of LRM.pm's state machine (do_one_iteration, then the maintenance round's work) with
 * its watchdog: the watchdog opens with the agent lock when services become active and is updated
 * each time the lock is renewed (which needs quorum). An active LRM stays active while any service
 * is configured on its node, stopped ones too, and goes idle (lock released, watchdog closed) only
 * after MAX_ACTIVE_IDLE_ROUNDS rounds without one; in maintenance it gives both up once no active
 * service is left. The watchdog fires once not updated for the timeout.
 */
export async function lrmRound(i: LrmRoundInput): Promise<LrmRound> {
  const log: string[] = [];
  let state = i.state;
  let fedAt = i.fedAt;
  let idleRounds = i.idleRounds;
  const change = (to: LrmAgentState): void => {
    log.push(`status change ${state} => ${to}`);
    state = to;
  };
  // get_protected_ha_agent_lock opens the watchdog, or updates it, whenever it gets the lock
  const lock = async (): Promise<boolean> => {
    if (!(await i.getLock())) return false;
    if (fedAt === undefined) log.push('watchdog active');
    fedAt = i.clock();
    return true;
  };
  const giveUpWatchdog = (): void => {
    if (fedAt !== undefined) log.push('watchdog closed (disabled)');
    fedAt = undefined;
  };
  if (state === 'wait_for_agent_lock') {
    if (!i.fenceRequested && i.hasActiveServices && i.quorate && (await lock())) change('active');
  } else if (state === 'lost_agent_lock') {
    if (!i.fenceRequested && i.quorate && (await lock())) change('active');
  } else if (state === 'active') {
    if (i.fenceRequested) {
      log.push('node needs to be fenced - releasing agent_lock');
      change('lost_agent_lock');
    } else if (!(await lock())) {
      change('lost_agent_lock');
    } else if (i.maintenanceRequested) {
      change('maintenance');
    } else if (!i.hasConfiguredServices && !i.busy) {
      idleRounds++;
      if (idleRounds > MAX_ACTIVE_IDLE_ROUNDS) {
        log.push(`node had no service configured for ${MAX_ACTIVE_IDLE_ROUNDS} rounds, going idle.`);
        i.releaseLock();
        giveUpWatchdog();
        change('wait_for_agent_lock');
        idleRounds = 0;
      }
    } else {
      idleRounds = 0;
    }
  } else if (i.fenceRequested) {
    log.push('node needs to be fenced during maintenance mode - releasing agent_lock');
    change('lost_agent_lock');
  } else if (i.hasActiveServices || i.busy) {
    // keep the lock and watchdog as long as not all services cleared the node
    if (!(await lock())) change('lost_agent_lock');
  } else if (!i.maintenanceRequested) {
    change((await lock()) ? 'active' : 'lost_agent_lock');
  }
  if (state === 'maintenance' && !i.hasActiveServices && !i.busy) {
    // all active services moved away: no watchdog and no lock in maintenance mode
    giveUpWatchdog();
    i.releaseLock();
  }
  const fire = fedAt !== undefined && i.clock() - fedAt >= i.watchdogTimeoutMs;
  return { state, idleRounds, ...(fedAt !== undefined ? { fedAt } : {}), fire, log };
}
