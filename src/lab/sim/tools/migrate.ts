/**
 * `qm migrate` / `pct migrate` (reference §4.1-4.3): the API's refusals, then a migration task
 * whose log has the real lines and takes time in proportion to memory and disks over the
 * bandwidth (PVX_SIM_TIME_SCALE shrinks the waiting for tests). The guest's config file moves to
 * the target node's directory in /etc/pve and its running state moves with it.
 */
import { existsSync, renameSync } from 'node:fs';
import { checkCfsQuorum } from '../core/cfs.js';
import { checkNodeExists, onlineNodes, remoteNodeIp } from '../core/cluster.js';
import type { SimEnv } from '../core/env.js';
import { Die, paramError } from '../core/errors.js';
import { cmd2string, pveSshCommand, run } from '../core/exec.js';
import { confFile, guestVolumes, memBytes, moveRunState, runState, saveGuest, setStopped, type GuestType } from '../core/guests.js';
import { isHaManaged, queueCrmCommand } from '../core/ha.js';
import { guestMigrationLock } from '../core/lock-file.js';
import type { Values } from '../core/schema.js';
import { handOverReplication, replicatableVolumes, runReplication, sendZfsVolume, sshRemote, type RemoteNode } from '../core/replicate.js';
import { readReplicationConfig, type ReplicationJob } from '../core/replication.js';
import { readStorages, storageOnNode } from '../core/storage.js';
import { freeVolume } from '../core/volumes.js';
import { runTask, type Task, type TaskResult } from '../core/task.js';
import { hms, isoLocal, sleep } from '../core/time.js';
import { packageAtLeast } from '../core/versions.js';
import { checkLock, guestWord, loadConfig, upidExit } from './guest-ops.js';

const MiB = 1024 * 1024;
/** Transfer speeds without a bandwidth limit (bytes per simulated second). */
const DEFAULT_MEM_SPEED = 800 * MiB;
const DEFAULT_DISK_SPEED = 300 * MiB;

/** PVE::Format::render_bytes. */
export function renderBytes(value: number, precision = 2): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let u = 0;
  let v = value;
  if (v > 1023) {
    u = Math.floor(Math.log(v) / Math.log(1024));
    v /= 1024 ** u;
  }
  return `${v.toFixed(precision)} ${units[u]}`;
}

/** PVE::Format::render_duration (pve-common src/PVE/Format.pm): `0s`, `45s`, `1m 2s`, `1h 0m 5s`. */
export function renderDuration(seconds: number): string {
  let rest = Math.round(seconds);
  if (!rest) return '0s';
  const parts: string[] = [];
  for (const [unit, len] of [['w', 604800], ['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const v = Math.floor(rest / len);
    if (v > 0) {
      parts.push(`${v}${unit}`);
      rest -= v * len;
    }
  }
  return parts.join(' ');
}

function roundPowerOf2(n: number): number {
  return n <= 1 ? 1 : 2 << Math.floor(Math.log(n - 1) / Math.log(2));
}

function timeScale(env: SimEnv): number {
  const s = Number(env.ctx.env['PVX_SIM_TIME_SCALE'] ?? '1');
  return Number.isFinite(s) && s >= 0 ? s : 1;
}

/**
 * A line the block-job code prints straight to the task's stdout (qemu-server PVE/QemuServer/BlockJob.pm,
 * before 9.0 PVE/QemuServer.pm): no timestamp, unlike the migration's own log lines.
 */
function plain(task: Task, text: string): void {
  task.print(`${text}\n`);
}

/** One migration log line: `YYYY-MM-DD HH:MM:SS [ERROR: ]text`. */
function mlog(task: Task, level: 'info' | 'err' | 'warn', msg: string): void {
  const text = msg.replace(/\n+$/, '');
  if (!text) return;
  const prefix = `${isoLocal()}${level === 'err' ? ' ERROR:' : ''}`;
  for (const l of text.split('\n')) task.print(`${prefix} ${l}\n`);
}

interface MigrationPlan {
  type: GuestType;
  vmid: number;
  target: string;
  targetIp: string;
  online: boolean;
  restart: boolean;
  withLocalDisks: boolean;
  /** `--force` (the HA resource agent always sets it) */
  force?: boolean;
  bwlimitKiB?: number;
}

/** The guest's replication towards the migration target, if any (find_local_replication_job). */
interface Replication {
  job?: ReplicationJob;
  /** the volumes the job replicates */
  volumes: Set<string>;
}

function replicationTo(env: SimEnv, type: GuestType, vmid: number, target: string, conf: Record<string, string>): Replication {
  const job = Object.values(readReplicationConfig(env.paths).ids).find((j) => j.guest === vmid && j.type === 'local' && j.target === target);
  if (!job) return { volumes: new Set() };
  if (job.remove_job) throw new Die('refusing to migrate replicated VM whose replication job is marked for removal\n');
  return { job, volumes: new Set(replicatableVolumes(env.paths, type, vmid, conf)) };
}

/** phase 1 of a replicated guest: one replication run, so only the delta since it is left to send. */
async function replicateBeforeMove(env: SimEnv, task: Task, type: GuestType, r: Replication): Promise<void> {
  if (!r.job) return;
  mlog(task, 'info', 'replicating disk images');
  const now = Math.floor(Date.now() / 1000);
  const done = new Set(await runReplication({ paths: env.paths, node: env.nodename }, r.job, type, now, now, (m) => mlog(task, 'info', m)));
  for (const v of r.volumes) if (!done.has(v)) throw new Die(`expected volume '${v}' to get replicated, but it wasn't\n`);
}

/** Is the volume on a zfspool (its data is a dataset of this node)? */
function onZfs(env: SimEnv, volid: string): boolean {
  const sid = volid.slice(0, volid.indexOf(':'));
  return readStorages(env.paths).find((s) => s.id === sid)?.type === 'zfspool';
}

/** After the config moved: the target holds the guest's datasets; replicated ones stay here as the replica. */
async function finishVolumes(env: SimEnv, p: MigrationPlan, remote: RemoteNode, moved: readonly string[], r: Replication): Promise<void> {
  for (const v of moved) freeVolume(env.paths, v, env.nodename);
  if (r.job) await handOverReplication({ paths: env.paths, node: env.nodename }, remote, p.vmid, p.target);
}

async function sshCheck(env: SimEnv, task: Task, p: MigrationPlan): Promise<void> {
  const argv = [...pveSshCommand(p.target, p.targetIp), '/bin/true'];
  const r = await run('/usr/bin/ssh', ['-e', 'none', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', `root@${p.targetIp}`, '/bin/true'], { timeoutMs: 30_000 });
  if (r.exitCode === 0) return;
  mlog(task, 'info', `# ${cmd2string(argv)}`);
  for (const l of `${r.stdout}${r.stderr}`.split('\n')) if (l.trim()) mlog(task, 'info', l);
  throw new Die("Can't connect to destination address using public key\n");
}

function isShared(env: SimEnv): (sid: string) => boolean {
  const st = readStorages(env.paths);
  return (sid) => st.find((s) => s.id === sid)?.shared ?? false;
}

async function transfer(env: SimEnv, bytes: number, speed: number, tick: (done: number, elapsed: number) => void): Promise<number> {
  const seconds = Math.max(1, Math.ceil(bytes / speed));
  for (let t = 1; t <= seconds; t++) {
    await sleep(1000 * timeScale(env));
    tick(Math.min(bytes, speed * t), t);
  }
  return seconds;
}

async function copyLocalVolume(env: SimEnv, task: Task, volid: string, size: number, speedBytes: number, remote?: RemoteNode): Promise<void> {
  if (remote && onZfs(env, volid)) {
    // zfs send | zfs recv of the whole dataset (storage_migrate with a __migration__ snapshot)
    await sendZfsVolume({ paths: env.paths, node: env.nodename }, remote, volid, (m) => mlog(task, 'info', m));
    mlog(task, 'info', `volume '${volid}' is '${volid}' on the target`);
    return;
  }
  const sid = volid.slice(0, volid.indexOf(':'));
  const s = readStorages(env.paths).find((x) => x.id === sid);
  const name = volid.slice(volid.indexOf(':') + 1).replace(/^\d+\//, '');
  if (s && (s.type === 'lvmthin' || s.type === 'lvm')) mlog(task, 'info', `  Logical volume "${name}" created.`);
  const secs = await transfer(env, size, speedBytes, () => undefined);
  const gb = (size / 1e9).toFixed(1);
  const gib = (size / 1024 ** 3).toFixed(1);
  mlog(task, 'info', `${size} bytes (${gb} GB, ${gib} GiB) copied, ${secs} s, ${(size / 1e6 / secs).toFixed(1)} MB/s`);
  mlog(task, 'info', `successfully imported '${volid}'`);
  mlog(task, 'info', `volume '${volid}' is '${volid}' on the target`);
}

function moveConfig(env: SimEnv, p: MigrationPlan): void {
  const g = loadConfig(env, p.type, p.vmid);
  delete g.conf['lock'];
  saveGuest(env.paths, p.type, env.nodename, p.vmid, g);
  renameSync(confFile(env.paths, p.type, env.nodename, p.vmid), confFile(env.paths, p.type, p.target, p.vmid));
}

function unlock(env: SimEnv, p: MigrationPlan): void {
  if (!existsSync(confFile(env.paths, p.type, env.nodename, p.vmid))) return;
  const g = loadConfig(env, p.type, p.vmid);
  delete g.conf['lock'];
  saveGuest(env.paths, p.type, env.nodename, p.vmid, g);
}

/**
 * Phase 2's storage migration of the attached local disks (QemuMigrate.pm phase2, one
 * qemu_drive_mirror per disk with completion 'skip', then the switch to active mode); the job ids.
 */
/** A disk to mirror; `volid` lets the hooks tell replicated and dataset volumes apart. */
export interface MirrorDisk {
  key: string;
  size: number;
  volid?: string;
}

/** What the caller adds around each disk's mirror. */
export interface MirrorHooks {
  /** the disk has a replica on the target: only the writes since (its dirty bitmap) are mirrored */
  replicated?: (d: MirrorDisk) => boolean;
  before?: (d: MirrorDisk) => Promise<void>;
}

/** The drive-mirror phase of a live migration with local disks; returns the job names. */
export async function mirrorDisks(env: SimEnv, task: Task, vmid: number, disks: readonly MirrorDisk[], bwlimitKiB?: number, hooks: MirrorHooks = {}): Promise<string[]> {
  // drive-mirror jobs are `drive-<disk>`; PVE 9's blockdev mirror (QEMU machine >= 10.0) names them `mirror-<disk>`
  const job = (key: string): string => `${env.rel.major >= 9 ? 'mirror' : 'drive'}-${key}`;
  if (disks.length === 0) return [];
  mlog(task, 'info', 'starting storage migration');
  const speed = bwlimitKiB ? bwlimitKiB * 1024 : DEFAULT_DISK_SPEED;
  // the unit was corrected to KiB/s in qemu-server 9.1.17 (the value always was KiB/s)
  const unit = packageAtLeast(env.rel, 'qemu-server', '9.1.17') ? 'KiB/s' : 'KB/s';
  for (const d of disks) {
    mlog(task, 'info', `${d.key}: start migration to nbd:unix:/run/qemu-server/${vmid}_nbd.migrate:exportname=drive-${d.key}`);
    const replicated = hooks.replicated?.(d) ?? false;
    // qemu_drive_mirror names the bitmap it re-uses (a plain print) before it starts the job
    if (replicated) plain(task, `drive mirror re-using dirty bitmap 'repl_${d.key}'`);
    await hooks.before?.(d);
    const v = { key: d.key, size: replicated ? Math.min(d.size, 64 * 1024 * 1024) : d.size };
    plain(task, bwlimitKiB ? `drive mirror is starting for drive-${v.key} with bandwidth limit: ${bwlimitKiB} ${unit}` : `drive mirror is starting for drive-${v.key}`);
    // qemu_drive_mirror_monitor polls once right away, then every second until the job is ready
    plain(task, `${job(v.key)}: transferred ${renderBytes(0, 1)} of ${renderBytes(v.size, 1)} (0.00%) in 0s`);
    await transfer(env, v.size, speed, (done, t) => {
      const pct = ((done * 100) / Math.max(1, v.size)).toFixed(2);
      const ready = done >= v.size ? ', ready' : '';
      plain(task, `${job(v.key)}: transferred ${renderBytes(done, 1)} of ${renderBytes(v.size, 1)} (${pct}%) in ${renderDuration(t)}${ready}`);
    });
    // each disk's mirror is started and monitored on its own; earlier ready jobs print nothing more
    plain(task, "all 'mirror' jobs are ready");
  }
  const jobs = disks.map((v) => job(v.key)).sort();
  // both simulated QEMU builds are >= 8.2, where the jobs switch to active mode
  mlog(task, 'info', 'switching mirror jobs to actively synced mode');
  for (const j of jobs) plain(task, `${j}: switching to actively synced mode`);
  for (const j of jobs) plain(task, `${j}: successfully switched to actively synced mode`);
  return jobs;
}

/** The end of the RAM transfer: average speed, the transfer summary (qemu-server >= 8.3.9), the status. */
export function memoryMigrationCompleted(env: SimEnv, task: Task, total: number, secs: number, downtimeMs: number): void {
  mlog(task, 'info', `average migration speed: ${renderBytes(total / secs, 1)}/s - downtime ${downtimeMs} ms`);
  if (packageAtLeast(env.rel, 'qemu-server', '8.3.9')) mlog(task, 'info', `migration completed, transferred ${renderBytes(total, 1)} VM-state`);
  mlog(task, 'info', 'migration status: completed');
}

/**
 * qemu_drive_mirror_monitor with completion 'cancel' after the RAM is across: block-job-cancel on
 * each ready job, and a second round that finds them gone.
 */
export function finishMirrors(task: Task, jobs: readonly string[]): void {
  if (jobs.length === 0) return;
  plain(task, "all 'mirror' jobs are ready");
  for (const j of jobs) {
    plain(task, `${j}: Completing block job...`);
    plain(task, `${j}: Completed successfully.`);
  }
  for (const j of jobs) plain(task, `${j}: mirror-job finished`);
}

async function qemuMigration(env: SimEnv, task: Task, p: MigrationPlan): Promise<{ problems: boolean }> {
  const shared = isShared(env);
  const running = runState(env.paths, env.nodename, p.vmid) !== undefined;
  if (running && env.rel.major >= 9) mlog(task, 'warn', 'conntrack state migration not supported or disabled, active connections might get dropped');
  await sshCheck(env, task, p);
  mlog(task, 'info', `starting migration of VM ${p.vmid} to node '${p.target}' (${p.targetIp})`);
  const g = loadConfig(env, 'qemu', p.vmid);
  g.conf['lock'] = 'migrate';
  saveGuest(env.paths, 'qemu', env.nodename, p.vmid, g);
  const vols = guestVolumes('qemu', g.conf).filter((v) => !v.cdrom && v.storage && !shared(v.storage));
  const remote = await sshRemote(env.paths, p.target);
  let repl: Replication = { volumes: new Set() };
  try {
    repl = replicationTo(env, 'qemu', p.vmid, p.target, g.conf);
    const errors: string[] = [];
    for (const v of [...vols].sort((a, b) => (a.volid < b.volid ? -1 : 1))) {
      if (v.ref === 'attached' && running && !p.withLocalDisks) errors.push(`can't migrate local disk '${v.volid}': can't live migrate attached local disks without with-local-disks option`);
      mlog(task, 'info', `found local${repl.volumes.has(v.volid) ? ', replicated' : ''} disk '${v.volid}' (${v.ref})`);
    }
    for (const e of errors) mlog(task, 'warn', e);
    if (errors.length) throw new Die("Problem found while scanning volumes - can't migrate VM - check log\n");
    if (running) for (const v of vols) if (v.ref === 'attached' && repl.volumes.has(v.volid)) mlog(task, 'info', `${v.key}: start tracking writes using block-dirty-bitmap 'repl_${v.key}'`);
    await replicateBeforeMove(env, task, 'qemu', repl);
    const diskSpeed = p.bwlimitKiB ? p.bwlimitKiB * 1024 : DEFAULT_DISK_SPEED;
    const offline = vols.filter((v) => (!running || v.ref !== 'attached') && !repl.volumes.has(v.volid));
    if (offline.length) mlog(task, 'info', 'copying local disk images');
    for (const v of offline) await copyLocalVolume(env, task, v.volid, v.size, diskSpeed, remote);
  } catch (e) {
    mlog(task, 'err', e instanceof Error ? e.message : String(e));
    mlog(task, 'info', 'aborting phase 1 - cleanup resources');
    unlock(env, p);
    throw e;
  }
  const moved = vols.filter((v) => onZfs(env, v.volid) && !repl.volumes.has(v.volid)).map((v) => v.volid);
  if (!running) {
    moveConfig(env, p);
    await finishVolumes(env, p, remote, moved, repl);
    return { problems: false };
  }
  mlog(task, 'info', `starting VM ${p.vmid} on remote node '${p.target}'`);
  const online = await onlineNodes(env.ctx, env.paths);
  if (!online.has(p.target)) {
    mlog(task, 'info', `[${p.target}] cluster not ready - no quorum?`);
    mlog(task, 'err', 'online migrate failure - remote command failed with exit code 255');
    mlog(task, 'info', 'aborting phase 2 - cleanup resources');
    mlog(task, 'info', 'migrate_cancel');
    unlock(env, p);
    return { problems: true };
  }
  const live = vols.filter((v) => v.ref === 'attached');
  mlog(task, 'info', 'start remote tunnel');
  mlog(task, 'info', 'ssh tunnel ver 1');
  const jobs = await mirrorDisks(env, task, p.vmid, live, p.bwlimitKiB, {
    // a replicated disk only mirrors the writes since the replication run
    replicated: (v) => repl.volumes.has(v.volid ?? ''),
    // the mirror writes a new volume on the target: the lab sends the dataset itself
    before: async (v) => {
      if (v.volid && onZfs(env, v.volid) && !repl.volumes.has(v.volid)) await sendZfsVolume({ paths: env.paths, node: env.nodename }, remote, v.volid);
    },
  });
  const uri = `unix:/run/qemu-server/${p.vmid}.migrate`;
  mlog(task, 'info', `starting online/live migration on ${uri}`);
  mlog(task, 'info', 'set migration capabilities');
  if (p.bwlimitKiB) mlog(task, 'info', `migration speed limit: ${renderBytes(p.bwlimitKiB * 1024, 1)}/s`);
  mlog(task, 'info', 'migration downtime limit: 100 ms');
  const memMiB = memBytes(g.conf) / MiB;
  mlog(task, 'info', `migration cachesize: ${renderBytes(roundPowerOf2(Math.floor((memMiB * 1048576) / 10)), 1)}`);
  mlog(task, 'info', 'set migration parameters');
  mlog(task, 'info', `start migrate command to ${uri}`);
  const total = memBytes(g.conf);
  const speed = p.bwlimitKiB ? p.bwlimitKiB * 1024 : DEFAULT_MEM_SPEED;
  const secs = await transfer(env, total, speed, (done) => {
    if (done < total) mlog(task, 'info', `migration active, transferred ${renderBytes(done, 1)} of ${renderBytes(total, 1)} VM-state, ${renderBytes(speed, 1)}/s`);
  });
  memoryMigrationCompleted(env, task, total, secs, 40 + (p.vmid % 50));
  finishMirrors(task, jobs);
  if (jobs.length) mlog(task, 'info', 'stopping NBD storage migration server on target.');
  moveConfig(env, p);
  moveRunState(env.paths, env.nodename, p.target, p.vmid);
  await finishVolumes(env, p, remote, moved, repl);
  return { problems: false };
}

async function lxcMigration(env: SimEnv, task: Task, p: MigrationPlan): Promise<{ problems: boolean }> {
  const shared = isShared(env);
  const g = loadConfig(env, 'lxc', p.vmid);
  checkLock('lxc', g);
  let running = runState(env.paths, env.nodename, p.vmid) !== undefined;
  if (running && p.online) throw new Die('lxc live migration is currently not implemented\n');
  if (running && !p.restart) throw new Die('running container can only be migrated in restart mode at /usr/share/perl5/PVE/LXC/Migrate.pm line 53.\n');
  await sshCheck(env, task, p);
  const wasRunning = running;
  if (p.restart && running) {
    mlog(task, 'info', `shutdown CT ${p.vmid}`);
    await sleep(1000 * timeScale(env));
    setStopped(env.paths, env.nodename, p.vmid);
    running = false;
  }
  mlog(task, 'info', `starting migration of CT ${p.vmid} to node '${p.target}' (${p.targetIp})`);
  g.conf['lock'] = 'migrate';
  saveGuest(env.paths, 'lxc', env.nodename, p.vmid, g);
  let migrated = false;
  try {
    const vols = guestVolumes('lxc', g.conf).filter((v) => v.storage);
    const local = [];
    for (const v of vols) {
      if (shared(v.storage)) mlog(task, 'info', `volume '${v.volid}' is on shared storage '${v.storage}'`);
      else local.push(v);
    }
    for (const v of [...local].sort((a, b) => (a.volid < b.volid ? -1 : 1))) mlog(task, 'info', `found local volume '${v.volid}' (in current VM config)`);
    const remote = await sshRemote(env.paths, p.target);
    const repl = replicationTo(env, 'lxc', p.vmid, p.target, g.conf);
    await replicateBeforeMove(env, task, 'lxc', repl);
    const speed = p.bwlimitKiB ? p.bwlimitKiB * 1024 : DEFAULT_DISK_SPEED;
    for (const v of local) if (!repl.volumes.has(v.volid)) await copyLocalVolume(env, task, v.volid, v.size, speed, remote);
    moveConfig(env, p);
    migrated = true;
    await finishVolumes(env, p, remote, local.filter((v) => onZfs(env, v.volid) && !repl.volumes.has(v.volid)).map((v) => v.volid), repl);
  } catch (e) {
    mlog(task, 'err', e instanceof Error ? e.message : String(e));
    mlog(task, 'info', 'aborting phase 1 - cleanup resources');
    throw e;
  } finally {
    mlog(task, 'info', 'start final cleanup');
    if (!migrated) {
      unlock(env, p);
      if (p.restart && wasRunning) mlog(task, 'info', 'start container on source node');
    } else if (p.restart && wasRunning) {
      mlog(task, 'info', 'start container on target node');
      const { setRunning } = await import('../core/guests.js');
      setRunning(env.paths, p.target, p.vmid, 'lxc');
    }
  }
  return { problems: false };
}

/** The migration task of a plan (qmigrate / vzmigrate), its log lines and its timing. */
async function migrationTask(env: SimEnv, plan: MigrationPlan, opts: { haStarted?: boolean } = {}): Promise<TaskResult> {
  const { type } = plan;
  return runTask(
    env.ctx,
    env.paths.taskDir,
    type === 'qemu' ? 'qmigrate' : 'vzmigrate',
    String(plan.vmid),
    async (task) => {
      const started = Date.now();
      const duration = (): string => hms((Date.now() - started) / 1000);
      let res: { problems: boolean };
      try {
        // a replication run of the guest and its migration never overlap
        res = await guestMigrationLock(env.paths, plan.vmid, 10, () => (type === 'qemu' ? qemuMigration(env, task, plan) : lxcMigration(env, task, plan)));
      } catch (e) {
        mlog(task, 'err', `migration aborted (duration ${duration()}): ${e instanceof Error ? e.message : String(e)}`);
        throw new Die('migration aborted\n');
      }
      if (res.problems) {
        mlog(task, 'err', `migration finished with problems (duration ${duration()})`);
        throw new Die('migration problems\n');
      }
      mlog(task, 'info', `migration finished successfully (duration ${duration()})`);
    },
    opts,
  );
}

/** A migration the HA resource agent runs for the LRM: online for a running VM, offline otherwise (a relocation stops the guest first). */
export async function haMigrateGuest(env: SimEnv, type: GuestType, vmid: number, target: string): Promise<TaskResult> {
  checkCfsQuorum(env.paths);
  checkNodeExists(env.ctx, env.paths, target);
  const running = runState(env.paths, env.nodename, vmid) !== undefined;
  const plan: MigrationPlan = {
    type,
    vmid,
    target,
    targetIp: (await remoteNodeIp(env.paths, target)) ?? target,
    online: type === 'qemu' && running,
    restart: false,
    // pve-ha-manager PVEVM.pm migrate: force => 1, 'with-local-disks' => 1
    withLocalDisks: true,
    force: true,
  };
  return migrationTask(env, plan, { haStarted: true });
}

/** The migrate handler of qm (`type` qemu) and pct (`type` lxc). */
export async function migrateGuest(env: SimEnv, type: GuestType, v: Values): Promise<number> {
  const vmid = Number(v['vmid']);
  const target = String(v['target']);
  const word = guestWord(type);
  if (target === env.nodename) throw paramError({ target: 'target is local node.' });
  checkCfsQuorum(env.paths);
  checkNodeExists(env.ctx, env.paths, target);
  const targetIp = (await remoteNodeIp(env.paths, target)) ?? target;
  const g = loadConfig(env, type, vmid);
  const running = runState(env.paths, env.nodename, vmid) !== undefined;
  if (type === 'qemu') {
    checkLock(type, g);
    if (running && !v['online']) throw new Die("can't migrate running VM without --online\n");
    if (!running && v['online']) env.ctx.err("VM isn't running. Doing offline migration instead.\n");
    if (running && v['online'] && !v['force']) {
      const jobs = Object.values(readReplicationConfig(env.paths).ids).filter((j) => j.guest === vmid);
      if (jobs.length && !jobs.some((j) => j.type === 'local' && j.target === target)) {
        throw new Die(`Cannot live-migrate replicated VM to node '${target}' - not a replication target. Use 'force' to override.\n`);
      }
    }
    const storages = readStorages(env.paths);
    for (const vol of guestVolumes(type, g.conf)) {
      const s = storages.find((x) => x.id === vol.storage);
      if (s && !storageOnNode(s, target)) throw new Die(`storage '${s.id}' is not available on node '${target}'\n`);
    }
  } else if (running && !v['online'] && !v['restart']) {
    throw new Die("can't migrate running container without --online or --restart\n");
  }
  if (isHaManaged(env.paths, vmid)) {
    const r = await runTask(env.ctx, env.paths.taskDir, 'hamigrate', String(vmid), async (task) => {
      task.print(`Requesting HA migration for ${word} ${vmid} to node ${target}\n`);
      await queueCrmCommand(env.paths, `migrate ${type === 'qemu' ? 'vm' : 'ct'}:${vmid} ${target}`, env.ctx.err);
    });
    return upidExit(r.ok);
  }
  const plan: MigrationPlan = {
    type,
    vmid,
    target,
    targetIp,
    online: Boolean(v['online']) && running,
    restart: Boolean(v['restart']),
    withLocalDisks: Boolean(v['with-local-disks']),
    force: Boolean(v['force']),
  };
  if (v['bwlimit'] !== undefined && Number(v['bwlimit']) > 0) plan.bwlimitKiB = Number(v['bwlimit']);
  if (type === 'lxc') plan.online = Boolean(v['online']);
  const r = await migrationTask(env, plan);
  return upidExit(r.ok);
}
