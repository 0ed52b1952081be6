/**
 * `pvescheduler start|stop|status`: the daemon that runs the node's due replication jobs once a
 * minute (pve-manager PVE::Service::pvescheduler calls PVE::API2::Replication::run_jobs). A job
 * that fails is recorded in its state and does not keep the others from running.
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimContext, SimTool } from '../types.js';
import { cfsMounted } from '../core/cfs.js';
import { pidAlive, pollUntilStopped, removeOwnPidFile, reportReady, spawnDaemon } from '../core/daemon.js';
import { simEnv, type SimEnv } from '../core/env.js';
import { errorText } from '../core/errors.js';
import { readText } from '../core/pvefs.js';
import { sleep } from '../core/time.js';
import { runJobs } from './pvesr.js';

const DAEMON_ENV = 'PVX_SCHEDULER_DAEMON';
const POLL_MS = 5000;

function pidFile(env: SimEnv): string {
  return path.join(env.paths.root || '/', 'run', 'pvescheduler.pid');
}

function logFile(env: SimEnv): string {
  return path.join(env.paths.varLog, 'pvescheduler.log');
}

function logger(env: SimEnv): (line: string) => void {
  return (line) => {
    try {
      appendFileSync(logFile(env), `${new Date().toString().slice(4, 24)} ${env.nodename} pvescheduler[${process.pid}]: ${line}\n`);
    } catch {
      // logging must not stop the daemon
    }
  };
}

/** PID of the running scheduler, if any. */
export function schedulerPid(env: SimEnv): number | undefined {
  const pid = Number((readText(pidFile(env)) ?? '').trim());
  return pid > 0 && pid !== process.pid && pidAlive(pid) ? pid : undefined;
}

async function serve(env: SimEnv): Promise<number> {
  const log = logger(env);
  log('starting server');
  let lastMinute = 0;
  await pollUntilStopped(POLL_MS, async (stopping) => {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute === lastMinute || stopping() || !cfsMounted(env.paths)) return;
    lastMinute = minute;
    try {
      await runJobs(env, { keepGoing: true });
    } catch (e) {
      log(`replication: ${errorText(e).trim()}`);
    }
  });
  log('server stopped');
  removeOwnPidFile(pidFile(env));
  return 0;
}

async function startDaemon(env: SimEnv): Promise<number> {
  if (schedulerPid(env) !== undefined) return 0;
  mkdirSync(path.dirname(pidFile(env)), { recursive: true });
  mkdirSync(env.paths.varLog, { recursive: true });
  try {
    const pid = await spawnDaemon(process.argv[1] ?? '', [env.ctx.tool, 'start'], { ...env.ctx.env, [DAEMON_ENV]: '1' }, logFile(env));
    writeFileSync(pidFile(env), `${pid}\n`);
  } catch (e) {
    env.ctx.err(`unable to start pvescheduler: ${errorText(e)}`);
    return 255;
  }
  return 0;
}

async function stopDaemon(env: SimEnv): Promise<number> {
  const pid = schedulerPid(env);
  if (pid === undefined) return 0;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 200 && pidAlive(pid); i++) await sleep(50);
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(pidFile(env), { force: true });
  return 0;
}

function run(args: string[], ctx: SimContext): Promise<number> {
  const env = simEnv(ctx);
  if (ctx.env[DAEMON_ENV]) {
    reportReady();
    return serve({ ...env, ctx: { ...ctx, out: () => undefined, err: () => undefined } });
  }
  switch (args[0]) {
    case 'start':
      return startDaemon(env);
    case 'stop':
      return stopDaemon(env);
    case 'status':
      ctx.out(schedulerPid(env) !== undefined ? 'running\n' : 'stopped\n');
      return Promise.resolve(0);
    default:
      ctx.err(`ERROR: unknown command 'pvescheduler ${args[0] ?? ''}'\nUSAGE: pvescheduler <COMMAND> [ARGS] [OPTIONS]\n`);
      return Promise.resolve(255);
  }
}

/** `pvescheduler`. */
export const pvescheduler: SimTool = { name: 'pvescheduler', run };
