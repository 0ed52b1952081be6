/**
 * `pmxcfs [-l] [-f] [-d]`, the pve-cluster daemon: puts the node's database at /etc/pve (its own
 * while standalone or with -l, the cluster's shared one while a member), keeps /etc/pve read-only
 * while the node has no quorum, and installs newer cluster corosync.conf versions locally.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimContext, SimTool } from '../types.js';
import { cfsQuorate } from '../core/cfs.js';
import { ipFromHostname, readClusterConf } from '../core/cluster.js';
import { pidAlive, pollUntilStopped, removeOwnPidFile, spawnDaemon, reportFailure, reportReady } from '../core/daemon.js';
import { errorText } from '../core/errors.js';
import { BIN, run } from '../core/exec.js';
import { mountPve, setPveReadOnly, unmountPve } from '../core/mount.js';
import { simPaths, type SimPaths } from '../core/paths.js';
import { ensureBaseFiles } from '../core/pvedb.js';
import { readText } from '../core/pvefs.js';
import { sleep } from '../core/time.js';

const DAEMON_ENV = 'PVX_PMXCFS_DAEMON';
const POLL_MS = 500;

/** Which database a pmxcfs start uses, and how it gets there. */
export interface PmxcfsPlan {
  mode: 'local' | 'cluster';
  db: string;
  cluster?: string;
  /** copy this database over `db` first (local mode of a member, first start of a new cluster) */
  copyFrom?: string;
  /** `-l` with a cluster configuration present */
  forced: boolean;
}

/** Decide the database of a start from the node's corosync configuration and the `-l` flag. */
export function planPmxcfs(paths: SimPaths, forceLocal: boolean): PmxcfsPlan {
  const host = readClusterConf(paths.corosyncConf);
  const localHasConf = existsSync(path.join(paths.localDb, 'corosync.conf'));
  if (forceLocal) {
    const plan: PmxcfsPlan = { mode: 'local', db: paths.localDb, forced: Boolean(host) || localHasConf };
    const shared = host ? paths.clusterDb(host.summary.clusterName) : undefined;
    if (shared && existsSync(shared)) plan.copyFrom = shared;
    return plan;
  }
  if (!host) return { mode: 'local', db: paths.localDb, forced: false };
  const cluster = host.summary.clusterName;
  const db = paths.clusterDb(cluster);
  const plan: PmxcfsPlan = { mode: 'cluster', db, cluster, forced: false };
  if (!existsSync(path.join(db, 'corosync.conf'))) plan.copyFrom = paths.localDb;
  return plan;
}

function logLine(paths: SimPaths, node: string, text: string): void {
  const d = new Date();
  const stamp = d.toString().slice(4, 24);
  try {
    appendFileSync(path.join(paths.varLog, 'pve-cluster.log'), `${stamp} ${node} pmxcfs[${process.pid}]: ${text}\n`);
  } catch {
    // logging must not stop the daemon
  }
}

function runningPid(paths: SimPaths): number | undefined {
  const pid = Number((readText(paths.pveClusterPid) ?? '').trim());
  return pid > 0 && pid !== process.pid && pidAlive(pid) ? pid : undefined;
}

function configVersion(text: string | undefined): number {
  const m = /config_version:\s*(\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : 0;
}

/** dcdb_sync_corosync_conf: install a changed cluster corosync.conf locally and tell corosync. */
async function syncCorosyncConf(paths: SimPaths, node: string, notify: boolean): Promise<void> {
  const data = readText(path.join(paths.etcPve, 'corosync.conf'));
  if (!data) return;
  const newVersion = configVersion(data);
  if (!newVersion) {
    logLine(paths, node, '[dcdb] crit: unable to parse cluster config_version');
    return;
  }
  const old = readText(paths.corosyncConf);
  if (old === data) return;
  const oldVersion = configVersion(old);
  if (newVersion < oldVersion) {
    logLine(paths, node, '[dcdb] crit: local corosync.conf is newer');
    return;
  }
  mkdirSync(paths.etcCorosync, { recursive: true });
  const tmp = `${paths.corosyncConf}.tmp.${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o644 });
  renameSync(tmp, paths.corosyncConf);
  logLine(paths, node, `[dcdb] notice: wrote new corosync config '/etc/corosync/corosync.conf' (version = ${newVersion})`);
  if (notify && oldVersion) {
    await sleep(1000);
    const r = await run(BIN.cfgtool, ['-R'], { timeoutMs: 20_000 });
    if (r.exitCode !== 0) logLine(paths, node, `[dcdb] crit: corosync-cfgtool -R failed with exit code ${r.exitCode}`);
  }
}

async function quorate(): Promise<boolean> {
  const r = await run(BIN.quorumtool, ['-s'], { timeoutMs: 5_000 });
  return r.exitCode === 0;
}

/**
 * Copy a database folder that other nodes' daemons still write to: their half-written `*.tmp.<pid>`
 * files are no part of it, and a file renamed away while the copy runs means copying again.
 */
function copyWhileWritten(from: string, to: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      cpSync(from, to, { recursive: true, verbatimSymlinks: true, filter: (src) => !/\.tmp\.\d+$/.test(src) });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw e;
      rmSync(to, { recursive: true, force: true });
    }
  }
}

/** Prepare and mount the planned database; read-only from the start when a member has no quorum. */
async function setup(ctx: SimContext, paths: SimPaths, plan: PmxcfsPlan): Promise<void> {
  if (plan.copyFrom && existsSync(plan.copyFrom)) {
    rmSync(plan.db, { recursive: true, force: true });
    mkdirSync(path.dirname(plan.db), { recursive: true });
    copyWhileWritten(plan.copyFrom, plan.db);
    rmSync(path.join(plan.db, 'priv', 'lock'), { recursive: true, force: true });
  }
  mkdirSync(plan.db, { recursive: true });
  await ensureBaseFiles(plan.db, ctx.node);
  await mountPve(paths, plan.db, ctx.node.name);
  if (plan.mode === 'cluster') {
    const q = await quorate();
    if (!q) await setPveReadOnly(paths, true);
    else await syncCorosyncConf(paths, ctx.node.name, true);
  }
}

/** The server loop: quorum → read-only/writable, corosync.conf sync; SIGTERM unmounts and exits. */
async function serve(ctx: SimContext, paths: SimPaths, plan: PmxcfsPlan): Promise<number> {
  let last = cfsQuorate(paths);
  if (plan.mode === 'cluster') logLine(paths, ctx.node.name, last ? '[status] notice: node has quorum' : '[status] notice: node lost quorum');
  await pollUntilStopped(POLL_MS, async (stopping) => {
    if (plan.mode !== 'cluster') return;
    try {
      const q = await quorate();
      if (stopping()) return;
      if (q !== last) {
        await setPveReadOnly(paths, !q);
        logLine(paths, ctx.node.name, q ? '[status] notice: node has quorum' : '[status] notice: node lost quorum');
        last = q;
      }
      if (q) await syncCorosyncConf(paths, ctx.node.name, true);
    } catch (e) {
      logLine(paths, ctx.node.name, `[main] crit: ${errorText(e).trim()}`);
    }
  });
  logLine(paths, ctx.node.name, '[main] notice: teardown filesystem');
  await unmountPve(paths);
  removeOwnPidFile(paths.pveClusterPid);
  logLine(paths, ctx.node.name, '[main] notice: exit proxmox configuration filesystem (0)');
  return 0;
}

function parseArgs(args: string[], ctx: SimContext): { local: boolean; foreground: boolean } | number {
  let local = false;
  let foreground = false;
  for (const a of args) {
    if (a === '-l' || a === '--local') local = true;
    else if (a === '-f' || a === '--foreground') foreground = true;
    else if (a === '-d' || a === '--debug') continue;
    else if (/^-[lfd]+$/.test(a)) {
      local ||= a.includes('l');
      foreground ||= a.includes('f');
    } else if (a.startsWith('-')) {
      ctx.err(`[main] crit: option parsing failed: Unknown option ${a}\n`);
      return 1;
    } else {
      ctx.err('[main] crit: too many arguments\n');
      return 255;
    }
  }
  return { local, foreground };
}

/** The pmxcfs tool. */
export const pmxcfs: SimTool = {
  name: 'pmxcfs',
  async run(args, ctx) {
    const paths = simPaths(ctx.node, ctx.env);
    if (ctx.env[DAEMON_ENV]) {
      const plan = JSON.parse(ctx.env[DAEMON_ENV] ?? '{}') as PmxcfsPlan;
      try {
        await setup(ctx, paths, plan);
      } catch (e) {
        reportFailure(errorText(e));
        return 255;
      }
      reportReady();
      return serve(ctx, paths, plan);
    }
    const opts = parseArgs(args, ctx);
    if (typeof opts === 'number') return opts;
    const ip = await ipFromHostname(paths, ctx.node.name, true);
    if (!ip) {
      ctx.err(`[main] crit: Unable to resolve node name '${ctx.node.name}' to a non-loopback IP address - missing entry in '/etc/hosts' or DNS?\n`);
      return 255;
    }
    ctx.err(`[main] notice: resolved node name '${ctx.node.name}' to '${ip}' for default node IP address\n`);
    for (let i = 10; runningPid(paths) !== undefined; i--) {
      if (i === 0) {
        ctx.err('[main] crit: unable to acquire pmxcfs lock: Resource temporarily unavailable\n');
        return 255;
      }
      if (i === 10) ctx.err('[main] notice: unable to acquire pmxcfs lock - trying again\n');
      await sleep(1000);
    }
    const plan = planPmxcfs(paths, opts.local);
    if (plan.forced) ctx.err('[main] notice: forcing local mode (although corosync.conf exists)\n');
    mkdirSync(path.dirname(paths.pveClusterPid), { recursive: true });
    mkdirSync(paths.varLog, { recursive: true });
    if (opts.foreground) {
      try {
        await setup(ctx, paths, plan);
      } catch (e) {
        ctx.err(`[main] crit: ${errorText(e)}`);
        return 255;
      }
      writeFileSync(paths.pveClusterPid, `${process.pid}\n`);
      return serve(ctx, paths, plan);
    }
    const script = process.argv[1] ?? '';
    try {
      const pid = await spawnDaemon(script, ['pmxcfs', ...args], { ...ctx.env, [DAEMON_ENV]: JSON.stringify(plan) }, path.join(paths.varLog, 'pve-cluster.log'));
      writeFileSync(paths.pveClusterPid, `${pid}\n`);
    } catch (e) {
      ctx.err(`[main] crit: ${errorText(e)}`);
      return 255;
    }
    return 0;
  },
};

/** Read the pid of the running pmxcfs, if any (for tests and the pve-cluster unit). */
export function pmxcfsPid(paths: SimPaths): number | undefined {
  const pid = Number((readText(paths.pveClusterPid) ?? '').trim());
  return pid > 0 && pidAlive(pid) ? pid : undefined;
}

