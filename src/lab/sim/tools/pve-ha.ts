/**
 * `pve-ha-crm` / `pve-ha-lrm start|stop|status`: two daemons per clustered node, as on PVE, each
 * with its own pid file. Each second the LRM, while /etc/pve is writable (quorate), writes the
 * node's lrm_status and runs the commands the CRM gave this node; with active services it holds
 * the node's agent lock and a watchdog, and a node that keeps it without quorum for the watchdog
 * timeout is fenced. The CRM that holds the cluster-wide ha_manager_lock is master (crm-election.ts):
 * each round it renews the lock, takes the crm commands and advances manager_status one step.
 * Neither stops when pmxcfs does: they log the failed cluster file system update each round, as
 * PVE's daemons do.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimContext, SimTool } from '../types.js';
import { cfsMembersOnline, cfsMounted, cfsQuorate } from '../core/cfs.js';
import { clusterNodeNames } from '../core/cluster.js';
import { crmStep, type CrmServiceConf, type CrmStatus, type LrmResult } from '../core/crm.js';
import { pidAlive, pollUntilStopped, removeOwnPidFile, spawnDaemon, reportReady } from '../core/daemon.js';
import { simEnv, type SimEnv } from '../core/env.js';
import { errorText } from '../core/errors.js';
import { run as runProgram } from '../core/exec.js';
import { confFile, setStopped, type GuestType } from '../core/guests.js';
import {
  groupsMigrated,
  hasCrmCommands,
  lockHaDomain,
  readGroups,
  readLrmStatus,
  readManagerStatus,
  readResources,
  readRules,
  takeCrmCommands,
  writeLrmStatus,
  writeManagerStatus,
  writeResources,
} from '../core/ha.js';
import { placementsFromGroups, placementsFromRules } from '../core/ha-placement.js';
import { hasActiveServices, hasConfiguredServices, keepResults, lrmActions, lrmRound, lrmStatus, type LrmAction, type LrmAgentState } from '../core/lrm.js';
import { readText } from '../core/pvefs.js';
import { getPveLock, newPveLockHold, releasePveLock, type PveLockHold } from '../core/pve-lock.js';
import { allowedToGetIdle, canGetActive, crmElectionRound, type CrmElection, type CrmHealth } from '../core/crm-election.js';
import { sleep } from '../core/time.js';
import { faultsFileIn, readWatchdogTimeout } from '../../watchdog.js';
import { runAgentAction } from './ha-agent.js';
import { servicesConfig } from './ha-manager.js';

const DAEMON_ENV = 'PVX_HA_DAEMON';
const POLL_MS = 1000;
/** how long a node may be gone before its services are fenced */
const FENCE_DELAY_S = 10;
/** a failed cluster file system update is logged at most this often (the real daemons log it each round) */
const CFS_WARN_EVERY_MS = 5000;

/** Which of the two HA daemons a process is. */
type Role = 'crm' | 'lrm';

function roleOf(tool: string): Role {
  return tool === 'pve-ha-lrm' ? 'lrm' : 'crm';
}

function pidFile(env: SimEnv, role: Role): string {
  return role === 'lrm' ? env.paths.haLrmPid : env.paths.haPid;
}

/** PID of the running pve-ha-crm (or, with role lrm, pve-ha-lrm), if any. */
export function haDaemonPid(env: SimEnv, role: Role = 'crm'): number | undefined {
  const pid = Number((readText(pidFile(env, role)) ?? '').trim());
  return pid > 0 && pid !== process.pid && pidAlive(pid) ? pid : undefined;
}

function logFile(env: SimEnv): string {
  return path.join(env.paths.varLog, 'pve-ha-manager.log');
}

function logger(env: SimEnv, who: string): (line: string) => void {
  return (line) => {
    const stamp = new Date().toString().slice(4, 24);
    try {
      appendFileSync(logFile(env), `${stamp} ${env.nodename} ${who}[${process.pid}]: ${line}\n`);
    } catch {
      // logging must not stop the daemon
    }
  };
}

/** The time scale of the lab's sessions (/etc/environment), so HA migrations take as long as `qm migrate` does there. */
function sessionTimeScale(env: SimEnv): string | undefined {
  try {
    const text = readFileSync(path.join(env.paths.root || '/', 'etc', 'environment'), 'utf8');
    return [...text.matchAll(/^PVX_SIM_TIME_SCALE=(\S+)$/gm)].pop()?.[1];
  } catch {
    return undefined;
  }
}

function crmServices(env: SimEnv): Record<string, CrmServiceConf> {
  const out: Record<string, CrmServiceConf> = {};
  for (const [sid, c] of Object.entries(servicesConfig(env))) {
    out[sid] = { state: c.state, type: sid.startsWith('ct:') ? 'ct' : 'vm', ...(c.node !== undefined ? { node: c.node } : {}) };
  }
  return out;
}

function placements(env: SimEnv): ReturnType<typeof placementsFromRules> {
  if (groupsMigrated(env.paths, env.rel.major)) return placementsFromRules(readRules(env.paths));
  const groupOf = Object.fromEntries(readResources(env.paths).map((r) => [r.sid, r.props['group']]));
  return placementsFromGroups(readGroups(env.paths), groupOf);
}

function crmStatusOf(env: SimEnv): CrmStatus {
  const m = readManagerStatus(env.paths);
  return { ...m, node_status: m.node_status ?? {}, service_status: (m.service_status ?? {}) as CrmStatus['service_status'] };
}

/** Move a recovered guest's config to its new node; it does not run anywhere until the LRM there starts it. */
function stealGuest(env: SimEnv, sid: string, from: string, to: string): void {
  const type: GuestType = sid.startsWith('ct:') ? 'lxc' : 'qemu';
  const vmid = sid.slice(sid.indexOf(':') + 1);
  const src = confFile(env.paths, type, from, vmid);
  const dst = confFile(env.paths, type, to, vmid);
  mkdirSync(path.dirname(dst), { recursive: true });
  renameSync(src, dst);
  setStopped(env.paths, from, Number(vmid));
}

/** What both daemons keep between rounds about /etc/pve being gone. */
interface CfsWatch {
  warnedAt: number;
  log: (line: string) => void;
}

/** cluster_state_update: with pmxcfs down the update fails each round, and the daemon says so. */
function cfsUp(env: SimEnv, w: CfsWatch): boolean {
  if (cfsMounted(env.paths)) return true;
  if (Date.now() - w.warnedAt >= CFS_WARN_EVERY_MS) {
    w.warnedAt = Date.now();
    w.log('cluster file system update failed - ipcc_send_rec[1] failed: Connection refused');
  }
  return false;
}

/** The LRM's state between rounds. */
interface LrmDaemon extends CfsWatch {
  env: SimEnv;
  state: LrmAgentState;
  /** active_idle_rounds */
  idleRounds: number;
  /** epoch ms of the last watchdog update; undefined while closed */
  fedAt?: number;
  results: Record<string, LrmResult>;
  inFlight: Map<string, Promise<void>>;
  /** this node's ha_agent_<node>_lock as get_pve_lock keeps it */
  lock: PveLockHold;
}

/** twice the watchdog timeout: pmxcfs's 120 s lock lifetime against the real 60 s watchdog */
function lockLifetimeS(env: SimEnv): number {
  return 2 * readWatchdogTimeout(env.paths.labRoot);
}

/** One get_pve_lock of `lockid` with `hold`, its change of state said in the daemon's log. */
function tryLock(env: SimEnv, lockid: string, hold: PveLockHold, log: (line: string) => void): boolean {
  const r = getPveLock(env.paths, lockid, hold, lockLifetimeS(env));
  if (r.log) log(r.log.text);
  return r.got;
}

/**
 * CRM.pm get_protected_ha_manager_lock and LRM.pm get_protected_ha_agent_lock: up to five tries,
 * a second apart, for at most five seconds.
 */
async function protectedLock(env: SimEnv, lockid: string, hold: PveLockHold, log: (line: string) => void): Promise<boolean> {
  const started = Date.now();
  for (let count = 1; ; count++) {
    if (tryLock(env, lockid, hold, log)) return true;
    if (count >= 5 || Date.now() - started > 5000) return false;
    await sleep(1000);
  }
}

/** The lrm_status this LRM writes: its own state, the mode the manager asked for. */
function reportedState(d: LrmDaemon, ms: CrmStatus): ReturnType<typeof lrmStatus> {
  return lrmStatus(ms, d.env.nodename, d.state, d.results, Math.floor(Date.now() / 1000));
}

function writeOwnLrm(d: LrmDaemon, ms: CrmStatus): void {
  if (!cfsQuorate(d.env.paths)) return;
  d.results = keepResults(ms, d.results);
  writeLrmStatus(d.env.paths, d.env.nodename, reportedState(d, ms));
}

function startActions(d: LrmDaemon, ms: CrmStatus): void {
  for (const a of lrmActions(ms, d.env.nodename, d.results, new Set(d.inFlight.keys()))) {
    const state = ms.service_status[a.sid]?.state ?? '';
    const scale = sessionTimeScale(d.env);
    const env: SimEnv = { ...d.env, ctx: { ...d.env.ctx, env: { ...d.env.ctx.env, ...(scale ? { PVX_SIM_TIME_SCALE: scale } : {}) } } };
    const run = (async (act: LrmAction): Promise<void> => {
      const r = await runAgentAction(env, act, state, d.log);
      d.results[act.uid] = r;
      d.inFlight.delete(act.uid);
      try {
        if (d.state !== 'lost_agent_lock') writeOwnLrm(d, crmStatusOf(d.env));
      } catch (e) {
        d.log(`unable to write lrm status file - ${errorText(e).trim()}`);
      }
    })(a);
    d.inFlight.set(a.uid, run);
  }
}

/** LRM.pm is_fence_requested: the master fences this node or one of its services. */
function fenceRequested(ms: CrmStatus, node: string): boolean {
  return ms.node_status[node] === 'fence' || Object.values(ms.service_status).some((sd) => sd.node === node && sd.state === 'fence');
}

/**
 * The watchdog expired: the node is reset. Its guests die with it, and it drops off the lab's
 * network the way `lab fault <node> down` cuts it off (recorded as that fault, undone by `heal`).
 */
async function fenceThisNode(d: LrmDaemon): Promise<void> {
  const env = d.env;
  logger(env, 'watchdog-mux')(`client (PID ${process.pid}) watchdog expired - disable watchdog updates`);
  const dir = env.paths.guestState(env.nodename);
  let guests: string[] = [];
  try {
    guests = readdirSync(dir).filter((f) => /^\d+\.json$/.test(f));
  } catch {
    // no guest ever ran here
  }
  for (const f of guests) setStopped(env.paths, env.nodename, Number(f.slice(0, -'.json'.length)));
  const faultsFile = faultsFileIn(env.paths.nodeDir(env.nodename));
  let faults: Record<string, unknown> = {};
  try {
    faults = JSON.parse(readFileSync(faultsFile, 'utf8')) as Record<string, unknown>;
  } catch {
    // a healthy node has no faults file
  }
  const tmp = `${faultsFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ ...faults, down: true }, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, faultsFile);
  // the node's own side of its veth: from inside its network namespace, the same cut as the host side
  if (!env.paths.root) {
    const r = await runProgram('ip', ['link', 'set', 'eth0', 'down'], { timeoutMs: 10_000 });
    if (r.exitCode !== 0) d.log(`fencing: unable to take eth0 down: ${r.stderr.trim()}`);
  }
  // what comes back after the reset is an LRM without lock, watchdog or results
  d.state = 'wait_for_agent_lock';
  d.idleRounds = 0;
  delete d.fedAt;
  d.results = {};
  d.lock = newPveLockHold();
}

async function lrmTick(d: LrmDaemon): Promise<void> {
  const env = d.env;
  const mounted = cfsUp(env, d);
  const quorate = mounted && cfsQuorate(env.paths);
  let ms: CrmStatus | undefined;
  if (mounted) {
    try {
      ms = crmStatusOf(env);
    } catch (e) {
      d.log(`updating service status from manager failed: ${errorText(e).trim()}`);
    }
  }
  const round = await lrmRound({
    state: d.state,
    quorate: quorate && ms !== undefined,
    fenceRequested: ms !== undefined && fenceRequested(ms, env.nodename),
    hasActiveServices: ms !== undefined && hasActiveServices(ms, env.nodename),
    hasConfiguredServices: ms !== undefined && hasConfiguredServices(ms, env.nodename),
    maintenanceRequested: Boolean(ms?.node_request?.[env.nodename]?.maintenance),
    busy: d.inFlight.size > 0,
    idleRounds: d.idleRounds,
    ...(d.fedAt !== undefined ? { fedAt: d.fedAt } : {}),
    clock: Date.now,
    watchdogTimeoutMs: readWatchdogTimeout(env.paths.labRoot) * 1000,
    getLock: () => protectedLock(env, `ha_agent_${env.nodename}_lock`, d.lock, d.log),
    releaseLock: () => void releasePveLock(env.paths, `ha_agent_${env.nodename}_lock`, d.lock),
  });
  for (const l of round.log) d.log(l);
  d.state = round.state;
  d.idleRounds = round.idleRounds;
  if (round.fedAt !== undefined) d.fedAt = round.fedAt;
  else delete d.fedAt;
  if (round.fire) {
    await fenceThisNode(d);
    return;
  }
  if (!quorate || !ms || d.state === 'lost_agent_lock') return;
  startActions(d, ms);
  writeOwnLrm(d, ms);
}

/** The CRM's state between rounds. */
interface CrmDaemon extends CfsWatch, CrmElection {
  env: SimEnv;
  unknownSince: Record<string, number>;
  /** the ha_manager_lock as get_pve_lock keeps it */
  lock: PveLockHold;
  /** the agent locks of fenced nodes this CRM took */
  agentLocks: Record<string, PveLockHold>;
}

/** What can_get_active looks at this round; a configuration that cannot be read is said in the log. */
function crmHealth(d: CrmDaemon, updated: boolean): CrmHealth {
  const env = d.env;
  let services: Record<string, unknown> | undefined;
  try {
    services = crmServices(env);
  } catch (e) {
    d.log(`could not read service config: ${errorText(e).trim()}`);
  }
  let status: CrmHealth['status'];
  try {
    status = readManagerStatus(env.paths);
  } catch (e) {
    d.log(`could not read manager status: ${errorText(e).trim()}`);
  }
  return { nodename: env.nodename, quorate: cfsQuorate(env.paths), updated, status, services, pendingCommands: hasCrmCommands(env.paths) };
}

/** The master's work of one round (PVE::HA::Manager::manage). */
async function crmRound(d: CrmDaemon, nodes: string[], online: Record<string, boolean>, now: number): Promise<void> {
  const env = d.env;
  const prev = crmStatusOf(env);
  const services = crmServices(env);
  // read_and_clear_crm_commands: the only part of a round under the domain-ha lock, besides a
  // change of the resources' configuration (update_resources_config); ha-manager waits 10 s for it
  const commands = await lockHaDomain(env.paths, () => undefined, async () => takeCrmCommands(env.paths));
  const results: Record<string, Record<string, LrmResult>> = {};
  // Manager.pm read_lrm_status: each node's results and mode ('active' when it wrote none)
  const modes: Record<string, string> = {};
  // PVE2.pm get_node_info: online is cluster membership, not whether a node's LRM wrote lately;
  // the local node is always up
  const alive: Record<string, { online: boolean }> = {};
  for (const n of nodes) {
    const lrm = readLrmStatus(env.paths, n);
    results[n] = lrm.results ?? {};
    modes[n] = lrm.mode || 'active';
    alive[n] = { online: n === env.nodename || online[n] === true };
  }
  const out = crmStep({
    prev,
    master: env.nodename,
    now,
    services,
    commands,
    nodes: alive,
    results,
    modes,
    placement: placements(env),
    unknownSince: d.unknownSince,
    fenceDelay: FENCE_DELAY_S,
    // the fenced node's agent lock: free once its LRM stopped renewing it for the lock's lifetime,
    // and then this master's (the node's LRM gets it back only after it expired again)
    agentLock: (n) => tryLock(env, `ha_agent_${n}_lock`, (d.agentLocks[n] ??= newPveLockHold()), d.log),
    newUid: () => randomBytes(11).toString('base64url').slice(0, 14),
  });
  d.unknownSince = out.unknownSince;
  if (Object.keys(out.setState).length) {
    await lockHaDomain(env.paths, () => undefined, async () => {
      const res = readResources(env.paths);
      for (const r of res) if (out.setState[r.sid]) r.props['state'] = out.setState[r.sid] as string;
      writeResources(env.paths, res);
    });
  }
  for (const s of out.steal) {
    try {
      stealGuest(env, s.sid, s.from, s.to);
    } catch (e) {
      d.log(`recovery of ${s.sid} failed: ${errorText(e).trim()}`);
    }
  }
  writeManagerStatus(env.paths, out.status);
  for (const l of out.log) d.log(l);
}

async function crmTick(d: CrmDaemon): Promise<void> {
  const env = d.env;
  const updated = cfsUp(env, d);
  let health: CrmHealth | undefined;
  const h = (): CrmHealth => (health ??= crmHealth(d, updated));
  const was = d.state;
  const master = await crmElectionRound(d, {
    canGetActive: (allowNoService) => canGetActive(h(), allowNoService),
    allowedToGetIdle: () => allowedToGetIdle(h()),
    getLock: () => protectedLock(env, 'ha_manager_lock', d.lock, d.log),
    releaseLock: () => void releasePveLock(env.paths, 'ha_manager_lock', d.lock),
    log: d.log,
  });
  if (!master) return;
  // a new master's manager starts afresh: a node it sees gone is timed from now (NodeStatus last_online)
  if (was !== 'master') d.unknownSince = {};
  // cluster_state_update reads the members with the rest; without them the master skips the round
  const online = updated ? cfsMembersOnline(env.paths) : undefined;
  if (!online) {
    // the lock could still be renewed (a pmxcfs restart): skip the round, the next one updates
    d.log('temporary inconsistent cluster state (cfs restart?), skip round');
    return;
  }
  await crmRound(d, clusterNodeNames(env.ctx, env.paths), online, Math.floor(Date.now() / 1000));
}

async function serveLrm(env: SimEnv): Promise<number> {
  const d: LrmDaemon = { env, state: 'wait_for_agent_lock', idleRounds: 0, results: {}, inFlight: new Map(), lock: newPveLockHold(), warnedAt: 0, log: logger(env, 'pve-ha-lrm') };
  d.log('starting server');
  d.log('status change startup => wait_for_agent_lock');
  await pollUntilStopped(POLL_MS, async () => {
    try {
      await lrmTick(d);
    } catch (e) {
      d.log(`got unexpected error - ${errorText(e).trim()}`);
    }
  });
  // a command already running (a migration) ends before the agent goes, as the real LRM waits for its workers
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(d.inFlight.values()), new Promise<void>((r) => (timer = setTimeout(r, 8000)))]);
  clearTimeout(timer);
  if (d.fedAt !== undefined) d.log('watchdog closed (disabled)');
  d.log('server stopped');
  removeOwnPidFile(env.paths.haLrmPid);
  return 0;
}

async function serveCrm(env: SimEnv): Promise<number> {
  const d: CrmDaemon = { env, state: 'wait_for_quorum', activeIdleRounds: 0, unknownSince: {}, lock: newPveLockHold(), agentLocks: {}, warnedAt: 0, log: logger(env, 'pve-ha-crm') };
  d.log('starting server');
  d.log('status change startup => wait_for_quorum');
  await pollUntilStopped(POLL_MS, async () => {
    try {
      await crmTick(d);
    } catch (e) {
      d.log(`got unexpected error - ${errorText(e).trim()}`);
    }
  });
  // a master going away releases its lock, so another CRM need not wait for it to expire
  if (d.state === 'master') {
    d.log('voluntary release CRM lock');
    if (!releasePveLock(env.paths, 'ha_manager_lock', d.lock)) d.log('CRM lock release failed, let the lock timeout');
  }
  d.log('server stopped');
  removeOwnPidFile(env.paths.haPid);
  return 0;
}

async function startDaemon(env: SimEnv, role: Role): Promise<number> {
  if (haDaemonPid(env, role) !== undefined) return 0;
  const file = pidFile(env, role);
  mkdirSync(path.dirname(file), { recursive: true });
  mkdirSync(env.paths.varLog, { recursive: true });
  try {
    const pid = await spawnDaemon(process.argv[1] ?? '', [env.ctx.tool, 'start'], { ...env.ctx.env, [DAEMON_ENV]: '1' }, logFile(env));
    writeFileSync(file, `${pid}\n`);
  } catch (e) {
    env.ctx.err(`unable to start HA daemon: ${errorText(e)}`);
    return 255;
  }
  return 0;
}

async function stopDaemon(env: SimEnv, role: Role): Promise<number> {
  const pid = haDaemonPid(env, role);
  if (pid === undefined) return 0;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 200 && pidAlive(pid); i++) await sleep(50);
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(pidFile(env, role), { force: true });
  return 0;
}

function run(args: string[], ctx: SimContext): Promise<number> {
  const env = simEnv(ctx);
  const role = roleOf(ctx.tool);
  if (ctx.env[DAEMON_ENV]) {
    reportReady();
    // task output stays in the task logs, as with a real worker; the daemon's own log is pve-ha-manager.log
    const quiet: SimEnv = { ...env, ctx: { ...ctx, out: () => undefined, err: () => undefined } };
    return role === 'lrm' ? serveLrm(quiet) : serveCrm(quiet);
  }
  switch (args[0]) {
    case 'start':
      return startDaemon(env, role);
    case 'stop':
      return stopDaemon(env, role);
    case 'status':
      ctx.out(haDaemonPid(env, role) !== undefined ? 'running\n' : 'stopped\n');
      return Promise.resolve(0);
    default:
      ctx.err(`ERROR: unknown command '${ctx.tool} ${args[0] ?? ''}'\nUSAGE: ${ctx.tool} <COMMAND> [ARGS] [OPTIONS]\n`);
      return Promise.resolve(255);
  }
}

/** `pve-ha-crm`. */
export const pveHaCrm: SimTool = { name: 'pve-ha-crm', run };

/** `pve-ha-lrm`. */
export const pveHaLrm: SimTool = { name: 'pve-ha-lrm', run };
