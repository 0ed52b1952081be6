/**
 * `pve-ha-crm` / `pve-ha-lrm start|stop|status`: one daemon per clustered node standing for both.
 * Each second, while /etc/pve is writable (quorate), its LRM part writes the node's lrm_status and
 * runs the commands the CRM gave this node; its CRM part, on the lowest-named node whose LRM is
 * alive, takes the crm commands and advances manager_status one step.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimContext, SimTool } from '../types.js';
import { cfsMounted, cfsQuorate } from '../core/cfs.js';
import { clusterNodeNames } from '../core/cluster.js';
import { crmStep, type CrmServiceConf, type CrmStatus, type LrmResult } from '../core/crm.js';
import { pidAlive, pollUntilStopped, removeOwnPidFile, spawnDaemon, reportReady } from '../core/daemon.js';
import { simEnv, type SimEnv } from '../core/env.js';
import { errorText } from '../core/errors.js';
import { confFile, setStopped, type GuestType } from '../core/guests.js';
import {
  groupsMigrated,
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
import { keepResults, lrmActions, lrmStatus, type LrmAction } from '../core/lrm.js';
import { cfsLock, readText } from '../core/pvefs.js';
import { sleep } from '../core/time.js';
import { runAgentAction } from './ha-agent.js';
import { servicesConfig } from './ha-manager.js';

const DAEMON_ENV = 'PVX_HA_DAEMON';
const POLL_MS = 1000;
/** an LRM that has not written for this long is not alive (no quorum, stopped or its node gone) */
const LRM_ALIVE_S = 5;
/** how long a node may be gone before its services are recovered elsewhere */
const FENCE_DELAY_S = 10;

/** PID of the running HA daemon, if any. */
export function haDaemonPid(env: SimEnv): number | undefined {
  const pid = Number((readText(env.paths.haPid) ?? '').trim());
  return pid > 0 && pid !== process.pid && pidAlive(pid) ? pid : undefined;
}

function logFile(env: SimEnv): string {
  return path.join(env.paths.varLog, 'pve-ha-manager.log');
}

function logger(env: SimEnv, who: 'crm' | 'lrm'): (line: string) => void {
  return (line) => {
    const stamp = new Date().toString().slice(4, 24);
    try {
      appendFileSync(logFile(env), `${stamp} ${env.nodename} pve-ha-${who}[${process.pid}]: ${line}\n`);
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

/** The daemon's state between ticks. */
interface HaDaemon {
  env: SimEnv;
  results: Record<string, LrmResult>;
  inFlight: Map<string, Promise<void>>;
  unknownSince: Record<string, number>;
  crmLog: (line: string) => void;
  lrmLog: (line: string) => void;
}

function writeOwnLrm(d: HaDaemon, ms: CrmStatus): void {
  if (!cfsQuorate(d.env.paths)) return;
  d.results = keepResults(ms, d.results);
  writeLrmStatus(d.env.paths, d.env.nodename, lrmStatus(ms, d.env.nodename, d.results, Math.floor(Date.now() / 1000)));
}

function startActions(d: HaDaemon, ms: CrmStatus): void {
  for (const a of lrmActions(ms, d.env.nodename, d.results, new Set(d.inFlight.keys()))) {
    const state = ms.service_status[a.sid]?.state ?? '';
    const scale = sessionTimeScale(d.env);
    const env: SimEnv = { ...d.env, ctx: { ...d.env.ctx, env: { ...d.env.ctx.env, ...(scale ? { PVX_SIM_TIME_SCALE: scale } : {}) } } };
    const run = (async (act: LrmAction): Promise<void> => {
      const r = await runAgentAction(env, act, state, d.lrmLog);
      d.results[act.uid] = r;
      d.inFlight.delete(act.uid);
      try {
        writeOwnLrm(d, crmStatusOf(d.env));
      } catch (e) {
        d.lrmLog(`unable to write lrm status: ${errorText(e).trim()}`);
      }
    })(a);
    d.inFlight.set(a.uid, run);
  }
}

async function crmTick(d: HaDaemon, nodes: string[], now: number): Promise<void> {
  const env = d.env;
  await cfsLock(
    env.paths,
    'ha_manager_lock',
    async () => {
      await lockHaDomain(env.paths, () => undefined, async () => {
        const prev = crmStatusOf(env);
        const services = crmServices(env);
        // a cluster that never had HA resources has no manager status
        if (prev.master_node === undefined && Object.keys(services).length === 0) return;
        const commands = takeCrmCommands(env.paths);
        const results: Record<string, Record<string, LrmResult>> = {};
        const alive: Record<string, { online: boolean }> = {};
        for (const n of nodes) {
          const l = readLrmStatus(env.paths, n);
          results[n] = l.results ?? {};
          alive[n] = { online: l.timestamp !== undefined && now - l.timestamp <= LRM_ALIVE_S };
        }
        const out = crmStep({
          prev,
          master: env.nodename,
          now,
          services,
          commands,
          nodes: alive,
          results,
          placement: placements(env),
          unknownSince: d.unknownSince,
          fenceDelay: FENCE_DELAY_S,
          newUid: () => randomBytes(11).toString('base64url').slice(0, 14),
        });
        d.unknownSince = out.unknownSince;
        if (Object.keys(out.setState).length) {
          const res = readResources(env.paths);
          for (const r of res) if (out.setState[r.sid]) r.props['state'] = out.setState[r.sid] as string;
          writeResources(env.paths, res);
        }
        for (const s of out.steal) {
          try {
            stealGuest(env, s.sid, s.from, s.to);
          } catch (e) {
            d.crmLog(`recovery of ${s.sid} failed: ${errorText(e).trim()}`);
          }
        }
        writeManagerStatus(env.paths, out.status);
        for (const l of out.log) d.crmLog(l);
      });
    },
    () => undefined,
    2,
  );
}

async function tick(d: HaDaemon): Promise<void> {
  const env = d.env;
  if (!cfsMounted(env.paths) || !cfsQuorate(env.paths)) return;
  const now = Math.floor(Date.now() / 1000);
  const ms = crmStatusOf(env);
  startActions(d, ms);
  writeOwnLrm(d, ms);
  const nodes = clusterNodeNames(env.ctx, env.paths);
  const alive = nodes.filter((n) => {
    const ts = n === env.nodename ? now : readLrmStatus(env.paths, n).timestamp;
    return ts !== undefined && now - ts <= LRM_ALIVE_S;
  });
  if (alive[0] === env.nodename) await crmTick(d, nodes, now);
}

async function serve(env: SimEnv): Promise<number> {
  const d: HaDaemon = { env, results: {}, inFlight: new Map(), unknownSince: {}, crmLog: logger(env, 'crm'), lrmLog: logger(env, 'lrm') };
  d.crmLog('starting server');
  await pollUntilStopped(POLL_MS, async () => {
    try {
      await tick(d);
    } catch (e) {
      d.crmLog(`error: ${errorText(e).trim()}`);
    }
  });
  // a command already running (a migration) ends before the agent goes, as the real LRM waits for its workers
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(d.inFlight.values()), new Promise<void>((r) => (timer = setTimeout(r, 8000)))]);
  clearTimeout(timer);
  d.crmLog('server stopped');
  removeOwnPidFile(env.paths.haPid);
  return 0;
}

async function startDaemon(env: SimEnv): Promise<number> {
  if (haDaemonPid(env) !== undefined) return 0;
  mkdirSync(path.dirname(env.paths.haPid), { recursive: true });
  mkdirSync(env.paths.varLog, { recursive: true });
  try {
    const pid = await spawnDaemon(process.argv[1] ?? '', [env.ctx.tool, 'start'], { ...env.ctx.env, [DAEMON_ENV]: '1' }, logFile(env));
    writeFileSync(env.paths.haPid, `${pid}\n`);
  } catch (e) {
    env.ctx.err(`unable to start HA daemon: ${errorText(e)}`);
    return 255;
  }
  return 0;
}

async function stopDaemon(env: SimEnv): Promise<number> {
  const pid = haDaemonPid(env);
  if (pid === undefined) return 0;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 200 && pidAlive(pid); i++) await sleep(50);
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(env.paths.haPid, { force: true });
  return 0;
}

function run(args: string[], ctx: SimContext): Promise<number> {
  const env = simEnv(ctx);
  if (ctx.env[DAEMON_ENV]) {
    reportReady();
    // task output stays in the task logs, as with a real worker; the daemon's own log is pve-ha-manager.log
    return serve({ ...env, ctx: { ...ctx, out: () => undefined, err: () => undefined } });
  }
  switch (args[0]) {
    case 'start':
      return startDaemon(env);
    case 'stop':
      return stopDaemon(env);
    case 'status':
      ctx.out(haDaemonPid(env) !== undefined ? 'running\n' : 'stopped\n');
      return Promise.resolve(0);
    default:
      ctx.err(`ERROR: unknown command '${ctx.tool} ${args[0] ?? ''}'\nUSAGE: ${ctx.tool} <COMMAND> [ARGS] [OPTIONS]\n`);
      return Promise.resolve(255);
  }
}

/** `pve-ha-crm`. */
export const pveHaCrm: SimTool = { name: 'pve-ha-crm', run };

/** `pve-ha-lrm` (the same daemon). */
export const pveHaLrm: SimTool = { name: 'pve-ha-lrm', run };
