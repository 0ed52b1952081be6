/**
 * Service control inside a lab node (what systemd would do), used by the systemctl stand-in.
 * Every daemon starts with a clean environment, detached, and is stopped by the PID in its pidfile.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as ProcessModule from './process.js';
import { NODE_BIN_DIR } from './layout.js';
import { isAlive, processComm, sleep, waitGone } from './procfs.js';
import { CHRONY_CONF, COROSYNC_CONF, DAEMON_ENV, HA_UNITS, unit, type UnitSpec } from './units.js';

// loaded only when a process must start
const proc = (): Promise<typeof ProcessModule> => import('./process.js');

/** systemd's ActiveState, as far as the lab models it. */
export type ActiveState = 'active' | 'inactive' | 'failed';

/** What `systemctl status` shows about a unit. */
export interface UnitStatus {
  state: ActiveState;
  pid?: number;
  since?: Date;
  /** why it failed: exit-code, signal, timeout */
  result?: string;
  /** when a start was skipped because a condition was not met */
  conditionFailedAt?: Date;
}

/** Outcome of a start: started (or already running), skipped by a condition, or failed. */
export type StartOutcome = { ok: true; skipped?: boolean } | { ok: false; reason: string };

// node-private (/run is a tmpfs per node): what systemd keeps in memory about failed units
const MARKERS = '/run/pvx-lab/units';

async function marker(u: UnitSpec, kind: 'failed' | 'condition', value?: string): Promise<void> {
  await mkdir(MARKERS, { recursive: true });
  await writeFile(path.join(MARKERS, `${u.id}.${kind}`), value ?? '');
}

async function clearMarkers(u: UnitSpec): Promise<void> {
  await Promise.all(['failed', 'condition'].map((k) => unlink(path.join(MARKERS, `${u.id}.${k}`)).catch(() => undefined)));
}

async function readMarker(u: UnitSpec, kind: 'failed' | 'condition'): Promise<{ value: string; at: Date } | undefined> {
  const file = path.join(MARKERS, `${u.id}.${kind}`);
  try {
    const [value, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    return { value, at: st.mtime };
  } catch {
    return undefined;
  }
}

/** PID from the unit's pidfile when that process is alive (and carries the daemon's name). */
export async function mainPid(u: UnitSpec): Promise<number | undefined> {
  const text = await readFile(u.pidFile, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !(await isAlive(pid))) return undefined;
  if (u.comm && (await processComm(pid)) !== u.comm) return undefined;
  return pid;
}

/** Current state of a unit. */
export async function unitStatus(u: UnitSpec): Promise<UnitStatus> {
  const pid = await mainPid(u);
  if (pid !== undefined) {
    const since = await stat(u.pidFile).then((s) => s.mtime, () => undefined);
    return { state: 'active', pid, ...(since ? { since } : {}) };
  }
  const failed = await readMarker(u, 'failed');
  // a pidfile left behind by a process that is gone: it died without cleaning up (e.g. SIGKILL)
  const stale = existsSync(u.pidFile);
  if (failed || stale) return { state: 'failed', result: failed?.value || 'signal', ...(failed ? { since: failed.at } : {}) };
  const cond = await readMarker(u, 'condition');
  return { state: 'inactive', ...(cond ? { conditionFailedAt: cond.at } : {}) };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

async function tailLog(file: string, lines = 5): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function fail(u: UnitSpec, reason: string, result = 'exit-code'): Promise<StartOutcome> {
  await marker(u, 'failed', result);
  return { ok: false, reason };
}

/** A forking daemon (sshd, chronyd, pmxcfs): run it, then wait for its pidfile to name a live process. */
async function startForking(u: UnitSpec, file: string, args: readonly string[], waitMs: number): Promise<StartOutcome> {
  const { runProcess } = await proc();
  const r = await runProcess(file, args, { cleanEnv: true, env: { ...DAEMON_ENV }, cwd: '/', stderrFile: u.log, timeoutMs: 30_000 });
  if (r.exitCode !== 0) return fail(u, `${path.basename(file)} exited with ${r.exitCode}${r.timedOut ? ' (timeout)' : ''}\n${await tailLog(u.log)}`);
  if (!(await waitFor(async () => (await mainPid(u)) !== undefined, waitMs))) {
    return fail(u, `${path.basename(file)} did not write a live PID to ${u.pidFile} within ${waitMs / 1000} s\n${await tailLog(u.log)}`, 'timeout');
  }
  return { ok: true };
}

/** corosync -f stays in the foreground: start it detached and wait until cmap answers, like Type=notify (pitfall 7). */
async function startCorosync(u: UnitSpec): Promise<StartOutcome> {
  if (!existsSync(COROSYNC_CONF)) {
    // PVE's corosync.service has ConditionPathExists=/etc/corosync/corosync.conf: the start is skipped, not failed
    await marker(u, 'condition');
    return { ok: true, skipped: true };
  }
  await mkdir(path.dirname(u.log), { recursive: true });
  // corosync logs to its own file (logging.logfile); stderr only matters when it dies before that
  const stderrFile = path.join(path.dirname(u.log), 'corosync-stderr.log');
  const { runProcess, spawnDetached } = await proc();
  const pid = await spawnDetached('/usr/sbin/corosync', ['-f'], { cleanEnv: true, env: { ...DAEMON_ENV }, cwd: '/', stderrFile });
  const ready = await waitFor(async () => {
    if (!(await isAlive(pid))) return true;
    const r = await runProcess('corosync-cmapctl', ['-g', 'runtime.config.totem.token'], { cleanEnv: true, env: { ...DAEMON_ENV }, timeoutMs: 2000 });
    return r.exitCode === 0;
  }, 10_000);
  if (!(await isAlive(pid))) return fail(u, `corosync exited during start-up\n${await tailLog(stderrFile)}\n${await tailLog(u.log)}`.trimEnd());
  if (!ready) {
    await stopPid(pid);
    return fail(u, 'corosync did not answer on cmap within 10 s', 'timeout');
  }
  if (!existsSync(u.pidFile)) await writeFile(u.pidFile, `${pid}\n`);
  return { ok: true };
}

/**
 * corosync-qdevice reads its device from corosync's runtime configuration and exits when there is
 * none yet; Debian's unit restarts it on failure, which here is a wait (bounded) for the device to
 * appear in cmap after a pmxcfs sync and config reload.
 */
async function startQdevice(u: UnitSpec): Promise<StartOutcome> {
  // RuntimeDirectory=corosync-qdevice of Debian's unit
  await mkdir(path.dirname(u.pidFile), { recursive: true, mode: 0o770 });
  await mkdir(path.dirname(u.log), { recursive: true });
  const { runProcess } = await proc();
  await waitFor(async () => {
    const r = await runProcess('corosync-cmapctl', ['-g', 'quorum.device.model'], { cleanEnv: true, env: { ...DAEMON_ENV }, timeoutMs: 2000 });
    return r.exitCode === 0;
  }, 15_000);
  // without -f the daemon forks and writes its pidfile
  return startForking(u, '/usr/sbin/corosync-qdevice', [], 10_000);
}

/** Start a unit unless it runs. */
export async function startService(u: UnitSpec): Promise<StartOutcome> {
  if ((await mainPid(u)) !== undefined) return { ok: true };
  await clearMarkers(u);
  await unlink(u.pidFile).catch(() => undefined);
  switch (u.id) {
    case 'ssh':
      await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
      return startForking(u, '/usr/sbin/sshd', ['-E', u.log], 5000);
    case 'chrony':
      // -x: never adjust the clock (pitfall 1); -l: log to the node's file, not to a syslog socket
      await mkdir(path.dirname(u.log), { recursive: true });
      return startForking(u, '/usr/sbin/chronyd', ['-x', '-f', CHRONY_CONF, '-l', u.log], 5000);
    case 'corosync':
      return startCorosync(u);
    case 'corosync-qdevice':
      return startQdevice(u);
    case 'pve-cluster': {
      const pmxcfs = path.join(NODE_BIN_DIR, 'pmxcfs');
      if (!existsSync(pmxcfs)) return fail(u, `${pmxcfs} is missing: this pvx build has no simulated pmxcfs, so pve-cluster cannot start`);
      const r = await startForking(u, pmxcfs, [], 10_000);
      // the HA units are enabled on PVE nodes: a clustered node has them running once its cluster filesystem is up (as after boot)
      if (r.ok && existsSync(COROSYNC_CONF)) for (const ha of HA_UNITS) await startService(unit(ha));
      return r;
    }
    case 'pve-ha-crm':
    case 'pve-ha-lrm': {
      const tool = path.join(NODE_BIN_DIR, u.id);
      if (!existsSync(tool)) return fail(u, `${tool} is missing: this pvx build has no simulated HA stack`);
      return startForking(u, tool, ['start'], 10_000);
    }
    case 'pvescheduler': {
      const bin = path.join(NODE_BIN_DIR, 'pvescheduler');
      if (!existsSync(bin)) return fail(u, `${bin} is missing: this pvx build has no simulated scheduler`);
      return startForking(u, bin, ['start'], 10_000);
    }
  }
}

async function stopPid(pid: number, timeoutMs = 10_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  // a stopping corosync takes about a second to exit (pitfall 7): "stopped" means gone
  if ((await waitGone([pid], timeoutMs)).length) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await waitGone([pid], 2000);
  }
}

/** Stop a unit (SIGTERM, SIGKILL after 10 s) and return once its process is gone. */
export async function stopService(u: UnitSpec): Promise<void> {
  // corosync-qdevice.service Requires=corosync.service: systemd stops it first
  if (u.id === 'corosync') await stopService(unit('corosync-qdevice'));
  const pid = await mainPid(u);
  if (pid !== undefined) await stopPid(pid);
  await unlink(u.pidFile).catch(() => undefined);
  await clearMarkers(u);
}

/** Send a signal to a unit's main process; for a terminating signal, return once it is gone. False when nothing runs. */
export async function killService(u: UnitSpec, signal: NodeJS.Signals): Promise<boolean> {
  const pid = await mainPid(u);
  if (pid === undefined) return false;
  process.kill(pid, signal);
  if (['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGABRT'].includes(signal)) {
    await waitGone([pid], signal === 'SIGKILL' ? 3000 : 10_000);
    if (signal !== 'SIGTERM') await marker(u, 'failed', 'signal');
  }
  return true;
}

/** Reload a unit that supports it (sshd re-reads its config on SIGHUP). */
export async function reloadService(u: UnitSpec): Promise<boolean> {
  if (u.id !== 'ssh') return false;
  const pid = await mainPid(u);
  if (pid !== undefined) process.kill(pid, 'SIGHUP');
  return true;
}
