/**
 * Which CRM is master (PVE::HA::CRM work(), its state changes): the one that holds the cluster-wide
 * ha_manager_lock. A CRM tries for the lock only while it may get active (quorate, the cluster
 * state read, no service of its own node being fenced, something to manage); the master renews
 * the lock each round and loses the role when a renewal fails. Nobody else gets the lock before
 * it expires, so a master that vanishes without releasing it is replaced only after the lock's
 * lifetime.
 */
import type { ManagerStatus } from './ha.js';

/** The CRM's states ($valid_states in CRM.pm). */
export type CrmState = 'wait_for_quorum' | 'slave' | 'master' | 'lost_manager_lock';

/** A master with nothing to manage for this many rounds gives the lock up ($max_active_idle_rounds). */
export const MAX_ACTIVE_IDLE_ROUNDS = 90;

/** What can_get_active and allowed_to_get_idle look at, read once per round. */
export interface CrmHealth {
  nodename: string;
  quorate: boolean;
  /** cluster_state_update succeeded this round */
  updated: boolean;
  /** manager_status; undefined when it could not be read */
  status: ManagerStatus | undefined;
  /** the configured resources by sid; undefined when the configuration could not be read */
  services: Record<string, unknown> | undefined;
  /** crm_commands is not empty */
  pendingCommands: boolean;
}

/** PVE::HA::Tools::count_fenced_services: services on `node` the master is fencing. */
export function countFencedServices(ss: ManagerStatus['service_status'], node: string): number {
  return Object.values(ss ?? {}).filter((sd) => sd.node === node && sd.state === 'fence').length;
}

function healthy(h: CrmHealth): h is CrmHealth & { status: ManagerStatus } {
  return h.quorate && h.updated && h.status !== undefined && countFencedServices(h.status.service_status, h.nodename) === 0;
}

/** CRM.pm can_get_active. */
export function canGetActive(h: CrmHealth, allowNoService: boolean): boolean {
  if (!healthy(h)) return false;
  if (allowNoService) return true;
  if (h.services === undefined) return false;
  if (Object.keys(h.services).length > 0) return true;
  const ms = h.status;
  const master = ms.master_node;
  const ns = ms.node_status ?? {};
  if (master && ns[master] === 'online' && master !== h.nodename) return false;
  // a node left in maintenance without the request that put it there, queued commands, stale
  // service entries or a disarmed stack: there is work for a master even without resources
  for (const [node, state] of Object.entries(ns)) if (state === 'maintenance' && !ms.node_request?.[node]?.maintenance) return true;
  if (h.pendingCommands) return true;
  if (Object.keys(ms.service_status ?? {}).length > 0) return true;
  return ms.disarm !== undefined;
}

/** CRM.pm allowed_to_get_idle: no resources, nothing stale, not disarmed. */
export function allowedToGetIdle(h: CrmHealth): boolean {
  if (!healthy(h)) return false;
  if (h.status.disarm !== undefined) return false;
  if (h.services === undefined || Object.keys(h.services).length > 0) return false;
  return Object.keys(h.status.service_status ?? {}).length === 0;
}

/** The CRM's state between rounds. */
export interface CrmElection {
  state: CrmState;
  activeIdleRounds: number;
}

/** What one round of state changes may do. */
export interface CrmElectionActions {
  canGetActive(allowNoService: boolean): boolean;
  allowedToGetIdle(): boolean;
  /** get_protected_ha_manager_lock: get or renew the manager lock (a few tries) */
  getLock(): Promise<boolean>;
  releaseLock(): void;
  log(line: string): void;
}

function setState(e: CrmElection, to: CrmState, a: CrmElectionActions): void {
  if (e.state === to) return;
  a.log(`status change ${e.state} => ${to}`);
  e.state = to;
}

/**
 * One round of CRM.pm work(): its state changes, then the part of its work that changes state
 * again (a lost lock ends in wait_for_quorum). Returns whether this round is a master's.
 */
export async function crmElectionRound(e: CrmElection, a: CrmElectionActions): Promise<boolean> {
  switch (e.state) {
    case 'wait_for_quorum':
      if (a.canGetActive(false)) setState(e, (await a.getLock()) ? 'master' : 'slave', a);
      break;
    case 'slave':
      if (!a.canGetActive(false)) setState(e, 'wait_for_quorum', a);
      else if (await a.getLock()) setState(e, 'master', a);
      break;
    case 'lost_manager_lock':
      if (a.canGetActive(true) && (await a.getLock())) setState(e, 'master', a);
      break;
    case 'master':
      if (!(await a.getLock())) {
        setState(e, 'lost_manager_lock', a);
      } else if (a.allowedToGetIdle()) {
        e.activeIdleRounds++;
        if (e.activeIdleRounds > MAX_ACTIVE_IDLE_ROUNDS) {
          e.activeIdleRounds = 0;
          a.log(`cluster had no service configured for ${MAX_ACTIVE_IDLE_ROUNDS} rounds, going idle.`);
          a.releaseLock();
          setState(e, 'wait_for_quorum', a);
        }
      } else {
        e.activeIdleRounds = 0;
      }
      break;
  }
  // a master that lost its lock touches nothing more and waits for quorum again
  if (e.state === 'lost_manager_lock') setState(e, 'wait_for_quorum', a);
  return e.state === 'master';
}
