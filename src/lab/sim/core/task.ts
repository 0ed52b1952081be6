/**
 * Worker tasks run from a CLI (PVE::RESTEnvironment::fork_worker in sync mode): task output on
 * stdout and in the task log, `TASK OK` only in the log, a failure message on stderr.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SimContext } from '../types.js';
import { clusterLogMsg } from './cluster-log.js';
import { taskErrorText } from './errors.js';
import { simPaths } from './paths.js';

/** syslog priorities of PVE::Cluster's $log_levels. */
const LOG_INFO = 6;
const LOG_ERR = 3;

/** The output side of a running task. */
export interface Task {
  upid: string;
  /** task output (stdout and stderr of a task are one stream) */
  print(text: string): void;
  /** a warning counted into `TASK WARNINGS: n` (rpcenv->warn) */
  warn(text: string): void;
}

/** How a task ended. */
export interface TaskResult {
  upid: string;
  /** 'OK', 'WARNINGS: n' or the error message */
  status: string;
  ok: boolean;
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

function procStartTicks(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19] ?? 0);
  } catch {
    return 0;
  }
}

/** PVE::UPID::encode. */
export function encodeUpid(u: { node: string; pid: number; pstart: number; starttime: number; type: string; id: string; user: string }): string {
  return `UPID:${u.node}:${hex8(u.pid)}:${hex8(u.pstart)}:${hex8(u.starttime)}:${u.type}:${u.id}:${u.user}:`;
}

/** Task log file of a UPID (last hex digit of the start time names the sub-directory). */
export function upidLogPath(taskDir: string, upid: string): string {
  const starttime = upid.split(':')[4] ?? '0';
  return path.join(taskDir, starttime.slice(7, 8), upid);
}

/** Run `fn` as a synchronous worker task of type `type` and id `id`. */
export async function runTask(
  ctx: SimContext,
  taskDir: string,
  type: string,
  id: string,
  fn: (task: Task) => Promise<void>,
  opts: { user?: string; haStarted?: boolean } = {},
): Promise<TaskResult> {
  const starttime = Math.floor(Date.now() / 1000);
  const pstart = procStartTicks();
  // a real worker is a forked process: a second task of this process in the same second needs its own id
  let pid = process.pid;
  let upid = '';
  let logFile = '';
  do {
    upid = encodeUpid({ node: ctx.node.name, pid: pid++, pstart, starttime, type, id, user: opts.user ?? 'root@pam' });
    logFile = upidLogPath(taskDir, upid);
  } while (existsSync(logFile));
  let logOk = true;
  try {
    mkdirSync(path.dirname(logFile), { recursive: true });
  } catch {
    logOk = false;
  }
  const log = (t: string): void => {
    if (!logOk) return;
    try {
      appendFileSync(logFile, t);
    } catch {
      logOk = false;
    }
  };
  let warnings = 0;
  const task: Task = {
    upid,
    print: (t) => {
      ctx.out(t);
      log(t);
    },
    warn: (t) => {
      warnings++;
      const line = `WARN: ${t.replace(/\n$/, '')}\n`;
      ctx.out(line);
      log(line);
    },
  };
  const paths = simPaths(ctx.node, ctx.env);
  const user = opts.user ?? 'root@pam';
  // RESTEnvironment fork_worker and its log_task_result put both ends of a task in the cluster log
  await clusterLogMsg(paths, LOG_INFO, user, ctx.tool, `starting task ${upid}`);
  if (opts.haStarted) task.print('task started by HA resource agent\n');
  let status: string;
  let ok = true;
  try {
    await fn(task);
    if (warnings > 0) {
      status = `WARNINGS: ${warnings}`;
      ctx.err(`Task finished with ${warnings} warning(s)!\n`);
      log(`\nTASK WARNINGS: ${warnings}\n`);
    } else {
      status = 'OK';
      log('TASK OK\n');
    }
  } catch (e) {
    ok = false;
    status = taskErrorText(e);
    ctx.err(`${status}\n`);
    log(`\nTASK ERROR: ${status}\n`);
  }
  if (logOk) {
    try {
      const end = hex8(Math.floor(Date.now() / 1000));
      appendFileSync(path.join(taskDir, 'index'), `${upid} ${end} ${status}\n`);
    } catch {
      // the index is a convenience for task listings
    }
  }
  await clusterLogMsg(paths, ok ? LOG_INFO : LOG_ERR, user, ctx.tool, `end task ${upid} ${status}`);
  return { upid, status, ok };
}
