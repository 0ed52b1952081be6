/**
 * `pmxcfs [-l] [-f] [-d]`, the pve-cluster daemon. On a lab node it keeps the node's own
 * /var/lib/pve-cluster/config.db, serves it at /etc/pve through FUSE and synchronises it with the
 * other members' daemons (src/lab/sim/cfs). Under a test root (PVX_SIM_ROOT, no FUSE) /etc/pve is
 * a symlink to a plain folder of the node, read-only by a marker file while a member lacks quorum.
 */
import { appendFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimContext, SimTool } from '../types.js';
import { cfsQuorate } from '../core/cfs.js';
import { ipFromHostname } from '../core/cluster.js';
import { pidAlive, pollUntilStopped, removeOwnPidFile, spawnDaemon, reportFailure, reportReady } from '../core/daemon.js';
import { errorText } from '../core/errors.js';
import { BIN, run } from '../core/exec.js';
import { mountPve, setPveReadOnly, unmountPve } from '../core/mount.js';
import { simPaths, type SimPaths } from '../core/paths.js';
import { ensureBaseFiles } from '../core/pvedb.js';
import { readText } from '../core/pvefs.js';
import { sleep } from '../core/time.js';
import { loadRows } from '../cfs/config-db.js';
import { MemDb } from '../cfs/memdb.js';

const DAEMON_ENV = 'PVX_PMXCFS_DAEMON';
const POLL_MS = 500;

/** How a pmxcfs start runs. */
export interface PmxcfsPlan {
  /** `-l`: the node's own database, writable, no cluster */
  forceLocal: boolean;
  /** `-l` while the database holds a corosync.conf ("forcing local mode") */
  forced: boolean;
}

/** Does the node's database hold a corosync.conf (the test root's folder, or config.db)? */
async function dbHasCorosyncConf(paths: SimPaths): Promise<boolean> {
  if (paths.root) return existsSync(path.join(paths.localDb, 'corosync.conf'));
  return MemDb.fromRows(await loadRows(paths.configDb)).lookup('corosync.conf') !== undefined;
}

/** Decide a start from the node's database and the `-l` flag. */
export async function planPmxcfs(paths: SimPaths, forceLocal: boolean): Promise<PmxcfsPlan> {
  return { forceLocal, forced: forceLocal && (await dbHasCorosyncConf(paths)) };
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

/**
 * dcdb_sync_corosync_conf: install a changed cluster corosync.conf locally and tell corosync.
 * `data` comes from the database, never from /etc/pve: the daemon serves that mount itself.
 */
async function syncCorosyncConf(paths: SimPaths, node: string, data: string | undefined, notify: boolean): Promise<void> {
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

/** Under a test root: the node's folder at /etc/pve, read-only while a member has no quorum. */
async function serveFolder(ctx: SimContext, paths: SimPaths, plan: PmxcfsPlan): Promise<number> {
  const cluster = !plan.forceLocal && existsSync(path.join(paths.localDb, 'corosync.conf'));
  mkdirSync(paths.localDb, { recursive: true });
  await ensureBaseFiles(paths.localDb, ctx.node);
  await mountPve(paths, paths.localDb);
  if (cluster && !(await quorate())) await setPveReadOnly(paths, true);
  let last = cfsQuorate(paths);
  await pollUntilStopped(POLL_MS, async (stopping) => {
    if (!cluster) return;
    const q = await quorate();
    if (stopping() || q === last) return;
    await setPveReadOnly(paths, !q);
    last = q;
  });
  await unmountPve(paths);
  removeOwnPidFile(paths.pveClusterPid);
  return 0;
}

/** On a node: config.db, the FUSE view at /etc/pve and the cluster sync, until SIGTERM. */
async function serveNode(ctx: SimContext, paths: SimPaths, plan: PmxcfsPlan, ready: () => void): Promise<number> {
  const node = ctx.node.name;
  const log = (t: string): void => logLine(paths, node, t);
  const { startCfsDaemon } = await import('../cfs/daemon.js');
  // a crashed pmxcfs leaves its mount behind
  await unmountPve(paths);
  const d = await startCfsDaemon({ node: ctx.node, dbFile: paths.configDb, mountPoint: paths.etcPve, hostCorosyncConf: paths.corosyncConf, forceLocal: plan.forceLocal, log, paths });
  log(`[main] notice: memdb open '${paths.configDb}' successful (version = ${d.cfs.memdb.root.version.toString(16).toUpperCase().padStart(16, '0')})`);
  if (d.mode === 'cluster') {
    if (d.cfs.quorate()) await syncCorosyncConf(paths, node, d.corosyncConfText(), true);
    log(d.cfs.quorate() ? '[status] notice: node has quorum' : '[status] notice: node lost quorum');
  }
  ready();
  let last = d.cfs.quorate();
  await pollUntilStopped(POLL_MS, async (stopping) => {
    if (d.mode !== 'cluster') return;
    try {
      await d.tick();
      if (stopping()) return;
      const q = d.cfs.quorate();
      if (q !== last) log(q ? '[status] notice: node has quorum' : '[status] notice: node lost quorum');
      last = q;
      if (q) await syncCorosyncConf(paths, node, d.corosyncConfText(), true);
    } catch (e) {
      log(`[main] crit: ${errorText(e).trim()}`);
    }
  });
  log('[main] notice: teardown filesystem');
  await d.stop();
  removeOwnPidFile(paths.pveClusterPid);
  log('[main] notice: exit proxmox configuration filesystem (0)');
  return 0;
}

/** Run the server: the FUSE daemon on a node, the folder under a test root. */
async function serve(ctx: SimContext, paths: SimPaths, plan: PmxcfsPlan, ready: () => void): Promise<number> {
  if (paths.root) {
    ready();
    return serveFolder(ctx, paths, plan);
  }
  return serveNode(ctx, paths, plan, ready);
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
      let readied = false;
      try {
        return await serve(ctx, paths, plan, () => {
          readied = true;
          reportReady();
        });
      } catch (e) {
        if (!readied) reportFailure(errorText(e));
        else logLine(paths, ctx.node.name, `[main] crit: ${errorText(e).trim()}`);
        return 255;
      }
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
    const plan = await planPmxcfs(paths, opts.local);
    if (plan.forced) ctx.err('[main] notice: forcing local mode (although corosync.conf exists)\n');
    mkdirSync(path.dirname(paths.pveClusterPid), { recursive: true });
    mkdirSync(paths.varLog, { recursive: true });
    if (opts.foreground) {
      try {
        return await serve(ctx, paths, plan, () => writeFileSync(paths.pveClusterPid, `${process.pid}\n`));
      } catch (e) {
        ctx.err(`[main] crit: ${errorText(e)}`);
        return 255;
      }
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

