/**
 * One replication run (pve-guest-common PVE::Replication::run_replication and replicate): snapshot
 * the guest's zfspool volumes, send them (or the delta since the last common snapshot) to the
 * target with `pvesm import` over ssh as root, then drop the previous replication snapshot on both
 * sides. The job's state records the run: last_sync, duration, fail_count and the error.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { remoteNodeIp } from './cluster.js';
import { cmd2string, pveSshCommand, ssh } from './exec.js';
import { Die } from './errors.js';
import { parsePropList } from './guest-config.js';
import { guestMigrationLock } from './lock-file.js';
import { cfsConfigPath, guestVolumes, loadGuest, runState, type GuestType } from './guests.js';
import type { SimPaths } from './paths.js';
import {
  extractJobState,
  lockReplicationConfig,
  readReplicationConfig,
  readState,
  replicationSnapshotName,
  writeJobState,
  writeReplicationConfig,
  writeState,
  type JobState,
  type ReplicationJob,
} from './replication.js';
import { readStorages } from './storage.js';
import { isoLocal } from './time.js';
import { hasReplicateFeature, parseVolname, parseVolumeId, volumeStorage, zfsPoolOf, storageContent, freeVolume } from './volumes.js';
import { deleteSnapshot, exportDataset, readDataset, snapshotDataset, zfsNicenum, type ZfsStream } from './zfs.js';

/** What a run needs to know about where it runs. */
export interface ReplicationEnv {
  paths: SimPaths;
  /** this node */
  node: string;
  /** how to reach the target (ssh by default) */
  remote?: (target: string) => Promise<RemoteNode>;
}

/** A node reached over ssh as PVE::SSHInfo describes it. */
export interface RemoteNode {
  /** the ssh command PVE prints (ssh_info_to_command) */
  cmd: string[];
  run(argv: readonly string[], input?: string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/** The real way: `/usr/bin/ssh … root@<ip> -- <argv>`. */
export async function sshRemote(paths: SimPaths, target: string): Promise<RemoteNode> {
  const ip = (await remoteNodeIp(paths, target, true)) ?? target;
  return {
    cmd: pveSshCommand(target, ip),
    run: async (argv, input) => {
      const r = await ssh(ip, argv, { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
      return { exitCode: r.exitCode ?? 255, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

/** PVE::Tools::run_command's error for a failed command. */
function commandFailed(cmd: readonly string[], code: number): Die {
  return new Die(`command '${cmd2string(cmd)}' failed: exit code ${code}\n`);
}

/** guest_type of the guest classes. */
function guestTypeWord(type: GuestType): string {
  return type === 'qemu' ? 'VM' : 'CT';
}

/**
 * get_replicatable_volumes: the guest's own volumes on local (non-shared) storage that can be
 * replicated; a volume that cannot be replicated is an error unless `cleanup`/`noerr`.
 */
export function replicatableVolumes(paths: SimPaths, type: GuestType, vmid: number, conf: Record<string, string>, cleanup = false, noerr = false): string[] {
  const out = new Set<string>();
  const storages = readStorages(paths);
  for (const v of guestVolumes(type, conf)) {
    if (v.cdrom) continue;
    const opts = parsePropList(conf[v.key] ?? '', type === 'qemu' ? 'file' : 'volume');
    const replicate = v.ref === 'unused' || opts['replicate'] !== '0';
    if (!cleanup && !replicate) continue;
    const { storage, volname } = parseVolumeId(v.volid);
    const s = storages.find((x) => x.id === storage);
    if (!s) throw new Die(`storage '${storage}' does not exist\n`);
    if (s.shared) continue;
    const info = parseVolname(s, volname);
    if (!info.owner || info.owner !== vmid) continue;
    if (info.vtype !== 'images') {
      if (cleanup || noerr) continue;
      throw new Die(`unable to replicate volume '${v.volid}', type '${info.vtype}'\n`);
    }
    if (!hasReplicateFeature(s)) {
      if (cleanup || noerr) continue;
      throw new Die(`missing replicate feature on volume '${v.volid}'\n`);
    }
    out.add(v.volid);
  }
  return [...out].sort();
}

/** volume_snapshot_info of a zfspool volume on `node`: snapshot → { id (guid), timestamp }. */
export function volumeSnapshotInfo(paths: SimPaths, node: string, volid: string): Record<string, { id: string; timestamp: number }> {
  const { s, volname } = volumeStorage(paths, volid);
  const pool = zfsPoolOf(s);
  const name = parseVolname(s, volname).name;
  const ds = readDataset(paths, node, pool, name);
  if (!ds) throw new Die(`zfs error: cannot open '${pool}/${name}': dataset does not exist\n`);
  return Object.fromEntries(ds.snapshots.map((x) => [x.name, { id: x.guid, timestamp: x.creation }]));
}

function dsOf(paths: SimPaths, volid: string): { pool: string; name: string } {
  const { s, volname } = volumeStorage(paths, volid);
  return { pool: zfsPoolOf(s), name: parseVolname(s, volname).name };
}

/** Snapshots found by `prepare`, per volume. */
export type SnapshotMap = Record<string, Record<string, { id: string; timestamp: number }>>;

/**
 * PVE::Replication::prepare: remove the job's replication snapshots other than the one of
 * `lastSync` (when that one is present; lastSync 0 keeps all, 1 removes all) and return the rest.
 */
export function prepareVolumes(paths: SimPaths, node: string, volids: readonly string[], jobid: string | undefined, lastSync: number, parent: string | undefined, log: (m: string) => void): { snapshots: SnapshotMap; cleaned: Set<string> } {
  const prefix = jobid !== undefined ? replicationSnapshotName(jobid, lastSync).prefix : '__replicate_';
  const snapname = jobid !== undefined ? replicationSnapshotName(jobid, lastSync).name : undefined;
  const snapshots: SnapshotMap = {};
  const cleaned = new Set<string>();
  for (const volid of volids) {
    const info = volumeSnapshotInfo(paths, node, volid);
    let removalOk = snapname === undefined || info[snapname] !== undefined;
    if (lastSync === 0) removalOk = false;
    if (lastSync === 1) removalOk = true;
    const stale = (snap: string): boolean => snap !== snapname && snap !== parent && snap.startsWith(prefix);
    if (!removalOk && lastSync > 1 && Object.keys(info).some(stale)) log(`expected snapshot ${snapname ?? ''} not present for ${volid}, not removing others`);
    for (const snap of Object.keys(info)) {
      if (stale(snap) && removalOk) {
        log(`delete stale replication snapshot '${snap}' on ${volid}`);
        const { pool, name } = dsOf(paths, volid);
        try {
          deleteSnapshot(paths, node, pool, name, snap);
          cleaned.add(volid);
        } catch (e) {
          log(`delete stale replication snapshot error: ${e instanceof Error ? e.message : String(e)}`);
        }
      } else {
        (snapshots[volid] ??= {})[snap] = info[snap] as { id: string; timestamp: number };
      }
    }
  }
  return { snapshots, cleaned };
}

/**
 * `pvesr prepare-local-job` on the target: the guest must not live here; stale replication
 * snapshots go, volumes of the guest left without snapshots and not wanted are freed.
 */
export function prepareLocalJob(paths: SimPaths, node: string, p: { jobid: string; vmid: number; volids: string[]; scan: string[]; lastSync: number; parent?: string; force?: boolean }, log: (m: string) => void): SnapshotMap {
  if (!p.force && p.volids.length === 0) throw new Die('no volumes specified\n');
  const storages = readStorages(paths);
  const store = new Set<string>();
  for (const sid of p.scan) {
    const s = storages.find((x) => x.id === sid);
    if (!s || !s.enabled) continue;
    if (!hasReplicateFeature(s)) throw new Die(`storage '${sid}' is not replicatable\n`);
    store.add(sid);
  }
  const wanted = new Set<string>();
  for (const volid of p.volids) store.add(checkWantedVolid(paths, p.vmid, volid));
  for (const volid of p.volids) wanted.add(volid);
  const present: string[] = [];
  for (const sid of [...store].sort()) {
    const s = storages.find((x) => x.id === sid);
    if (s) present.push(...storageContent(paths, s, node, p.vmid).map((c) => c.volid));
  }
  const { snapshots, cleaned } = prepareVolumes(paths, node, present, p.jobid, p.lastSync, p.parent, log);
  for (const volid of [...cleaned].sort()) {
    if (wanted.has(volid)) continue;
    log(`${p.jobid}: delete stale volume '${volid}'`);
    freeVolume(paths, volid, node);
    delete snapshots[volid];
  }
  return snapshots;
}

/** $check_wanted_volid of pvesr.pm. */
export function checkWantedVolid(paths: SimPaths, vmid: number, volid: string): string {
  const { s, volname } = volumeStorage(paths, volid);
  if (!s.enabled) throw new Die(`storage '${s.id}' is disabled\n`);
  if (!hasReplicateFeature(s)) throw new Die(`storage '${s.id}' is not replicatable\n`);
  const info = parseVolname(s, volname);
  if (info.vtype !== 'images') throw new Die(`volume '${volid}' has wrong vtype (${info.vtype} != 'images')\n`);
  if (!info.owner || info.owner !== vmid) throw new Die(`volume '${volid}' has wrong owner\n`);
  return s.id;
}

/** The zfs send stream of a volume on `node` (`pvesm export <volid> zfs - -with-snapshots 1 -snapshot …`). */
export function exportVolume(paths: SimPaths, node: string, volid: string, snapshot: string, base?: string): ZfsStream {
  const { pool, name } = dsOf(paths, volid);
  return exportDataset(paths, node, pool, name, snapshot, base);
}

async function remoteRun(remote: RemoteNode, argv: string[], log: (m: string) => void, tag: string, input?: string): Promise<string> {
  const r = await remote.run(argv, input);
  for (const l of r.stderr.split('\n')) if (l.trim()) log(`${tag}${l}`);
  if (r.exitCode !== 0) throw commandFailed([...remote.cmd, '--', ...argv], r.exitCode);
  return r.stdout;
}

async function remotePrepare(remote: RemoteNode, jobid: string, volids: string[], scan: string[], lastSync: number, force: boolean, log: (m: string) => void): Promise<SnapshotMap> {
  const argv = ['pvesr', 'prepare-local-job', jobid];
  if (scan.length) argv.push('--scan', scan.join(','));
  argv.push(...volids, '--last_sync', String(lastSync));
  if (force) argv.push('--force');
  const out = await remoteRun(remote, argv, log, '(remote_prepare_local_job) ');
  const line = out.split('\n').find((l) => l.trim().startsWith('{'));
  if (line === undefined) throw new Die('prepare remote node failed - no result\n');
  return JSON.parse(line) as SnapshotMap;
}

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** PVE::Replication::replicate: returns the replicated volumes. */
async function replicate(env: ReplicationEnv, job: ReplicationJob, type: GuestType, state: JobState, startTime: number, log: (m: string) => void): Promise<string[]> {
  const { paths, node } = env;
  const jobid = job.id;
  const lastSync = state.last_sync;
  if (startTime <= lastSync) throw new Die(`start time before last sync (${startTime} <= ${lastSync}) - abort sync\n`);
  const vmid = job.guest;
  const g = loadGuest(paths, type, node, vmid);
  if (!g) throw new Die(`Configuration file '${cfsConfigPath(type, node, vmid)}' does not exist\n`);
  const running = runState(paths, node, vmid)?.pid ?? 0;
  const volumes = replicatableVolumes(paths, type, vmid, g.conf, job.remove_job !== undefined);
  log(`guest => ${guestTypeWord(type)} ${vmid}, running => ${running}`);
  log(`volumes => ${volumes.join(',')}`);
  const known = new Set(readStorages(paths).map((s) => s.id));
  state.storeid_list = (state.storeid_list ?? []).filter((s) => known.has(s));
  const remoteOf = env.remote ?? ((t: string) => sshRemote(paths, t));

  if (job.remove_job) {
    log(`start job removal - mode '${job.remove_job}'`);
    if (job.remove_job === 'full' && job.target !== node) {
      const stores = new Set([...volumes.map((v) => parseVolumeId(v).storage), ...state.storeid_list]);
      await remotePrepare(await remoteOf(job.target), jobid, [], [...stores], 1, true, log);
    }
    prepareVolumes(paths, node, volumes, jobid, 1, undefined, log);
    await lockReplicationConfig(
      paths,
      async () => {
        const cfg = readReplicationConfig(paths);
        delete cfg.ids[jobid];
        writeReplicationConfig(paths, cfg);
      },
      () => undefined,
    );
    log('job removed');
    return [];
  }

  const remote = await remoteOf(job.target);
  // find_common_replication_snapshot
  const lastName = replicationSnapshotName(jobid, lastSync).name;
  const parent = g.conf['parent'];
  const local = prepareVolumes(paths, node, volumes, jobid, lastSync, parent, log).snapshots;
  const remoteSnaps = await remotePrepare(remote, jobid, volumes, state.storeid_list, lastSync, false, log);
  const base: Record<string, string> = {};
  for (const volid of volumes) {
    const l = local[volid];
    const r = remoteSnaps[volid];
    if (!l || !r) continue;
    const common = (snap: string): boolean => l[snap] !== undefined && r[snap] !== undefined && (typeof r[snap] !== 'object' || l[snap]?.id === r[snap]?.id);
    if (common(lastName)) base[volid] = lastName;
    else if (parent !== undefined && common(parent)) base[volid] = parent;
    else {
      let best: [number, string | undefined] = [0, undefined];
      for (const snap of Object.keys(l)) {
        if (!common(snap) || !snap.startsWith('__replicate_')) continue;
        const ts = l[snap]?.timestamp ?? 0;
        if (ts > best[0]) best = [ts, snap];
      }
      if (best[1]) base[volid] = best[1];
      else throw new Die(`No common base to restore the job state\nplease delete jobid: ${jobid} and create the job again\n`);
    }
  }
  state.storeid_list = [...new Set(volumes.map((v) => parseVolumeId(v).storage))].sort();

  const sync = replicationSnapshotName(jobid, startTime).name;
  const made: string[] = [];
  const cleanupLocal = (vols: readonly string[], snap: string): void => {
    for (const volid of [...vols].sort()) {
      log(`delete previous replication snapshot '${snap}' on ${volid}`);
      const { pool, name } = dsOf(paths, volid);
      try {
        deleteSnapshot(paths, node, pool, name, snap);
      } catch {
        // warned to the journal only
      }
    }
  };
  try {
    for (const volid of volumes) {
      log(`create snapshot '${sync}' on ${volid}`);
      const { pool, name } = dsOf(paths, volid);
      snapshotDataset(paths, node, pool, name, sync, startTime);
      made.push(volid);
    }
  } catch (e) {
    cleanupLocal(made, sync);
    throw e;
  }
  try {
    log(`using secure transmission, rate limit: ${job.rate ? `${job.rate} MByte/s` : 'none'}`);
    for (const volid of volumes) {
      const b = base[volid];
      log(b !== undefined ? `incremental sync '${volid}' (${b} => ${sync})` : `full sync '${volid}' (${sync})`);
      await replicateVolume(env, remote, volid, sync, b, log);
    }
  } catch (e) {
    cleanupLocal(made, sync);
    throw e;
  }
  // the new sync is recorded before the old snapshots go
  state.last_sync = startTime;
  writeJobState(paths, node, job, state);
  cleanupLocal(Object.keys(local), lastName);
  try {
    await remoteRun(remote, ['pvesr', 'finalize-local-job', jobid, ...volumes, '--last_sync', String(startTime)], log, '(remote_finalize_local_job) ');
  } catch (e) {
    log(`delete stale replication snapshot error: ${errMsg(e)}`);
  }
  return volumes;
}

/** storage_migrate of one volume: `pvesm export … | ssh … pvesm import …`, with zfs send's size lines. */
async function replicateVolume(env: ReplicationEnv, remote: RemoteNode, volid: string, snapshot: string, base: string | undefined, log: (m: string) => void): Promise<void> {
  const stream = exportVolume(env.paths, env.node, volid, snapshot, base);
  const { pool, name } = dsOf(env.paths, volid);
  const est = zfsNicenum(Buffer.from(stream.data, 'base64').length);
  const send = ['pvesm', 'export', volid, 'zfs', '-', '-with-snapshots', '1', '-snapshot', snapshot, ...(base !== undefined ? ['-base', base] : [])];
  const recv = ['pvesm', 'import', volid, 'zfs', '-', '-with-snapshots', '1', '-snapshot', snapshot, '-allow-rename', '0', ...(base !== undefined ? ['-base', base] : [])];
  log(base !== undefined ? `send from @${base} to ${pool}/${name}@${snapshot} estimated size is ${est}` : `full send of ${pool}/${name}@${snapshot} estimated size is ${est}`);
  log(`total estimated size is ${est}`);
  const r = await remote.run(recv, `${JSON.stringify(stream)}\n`);
  for (const l of `${r.stdout}${r.stderr}`.split('\n')) if (l.trim()) log(l);
  if (r.exitCode !== 0) throw new Die(`command '${cmd2string(send)} | ${cmd2string([...remote.cmd, '--', ...recv])}' failed: exit code ${r.exitCode}\n`);
}

/** /var/log/pve/replicate/<jobid>: the log of the job's last run. */
export function jobLogFile(paths: SimPaths, jobid: string): string {
  return path.join(paths.varLog, 'pve', 'replicate', jobid);
}

/**
 * run_replication: record the start, run, record the end (duration, fail_count, error) and
 * rethrow a failure. `log` gets each message (with time and job id when `verbose`).
 */
export async function runReplication(env: ReplicationEnv, job: ReplicationJob, type: GuestType, iteration: number, startTime: number, log?: (line: string) => void, verbose = false): Promise<string[]> {
  // do not wait long: the scheduler tries again anyway
  return guestMigrationLock(env.paths, job.guest, 2, () => runReplicationNolock(env, job, type, iteration, startTime, log, verbose));
}

async function runReplicationNolock(env: ReplicationEnv, job: ReplicationJob, type: GuestType, iteration: number, startTime: number, log?: (line: string) => void, verbose = false): Promise<string[]> {
  const { paths, node } = env;
  const state = extractJobState(readState(paths, node), job);
  state.pid = process.pid;
  state.ptime = Math.floor(Date.now() / 1000);
  state.last_node = node;
  state.last_try = startTime;
  state.last_iteration = iteration;
  state.storeid_list ??= [];
  writeJobState(paths, node, job, state);
  const t0 = process.hrtime.bigint();
  const logfile = jobLogFile(paths, job.id);
  mkdirSync(path.dirname(logfile), { recursive: true });
  writeFileSync(logfile, '');
  const logw = (msg: string): void => {
    const line = `${isoLocal()} ${job.id}: ${msg}`;
    appendFileSync(logfile, `${line}\n`);
    if (log) log(verbose ? line : msg);
  };
  logw('start replication job');
  let err: unknown;
  let volumes: string[] = [];
  try {
    volumes = await replicate(env, job, type, state, startTime, logw);
  } catch (e) {
    err = e;
  }
  if (err !== undefined) logw(`end replication job with error: ${errMsg(err).replace(/\n+$/, '')}`);
  else logw('end replication job');
  // record_job_end
  state.duration = Number((Number(process.hrtime.bigint() - t0) / 1e9).toFixed(6));
  delete state.pid;
  delete state.ptime;
  if (err !== undefined) {
    state.fail_count++;
    state.error = errMsg(err).replace(/\n+$/, '');
    writeJobState(paths, node, job, state);
    throw err;
  }
  if (job.remove_job) {
    writeJobState(paths, node, job, undefined);
  } else {
    state.last_sync = startTime;
    state.fail_count = 0;
    delete state.error;
    writeJobState(paths, node, job, state);
  }
  return volumes;
}

/**
 * storage_migrate of a zfspool volume that is not replicated (offline migration): a full send of
 * the `__migration__` snapshot, imported on the target without it. The source dataset stays until
 * the caller frees it.
 */
export async function sendZfsVolume(env: ReplicationEnv, remote: RemoteNode, volid: string, log?: (m: string) => void): Promise<void> {
  const snap = '__migration__';
  const { pool, name } = dsOf(env.paths, volid);
  snapshotDataset(env.paths, env.node, pool, name, snap);
  try {
    const stream = exportVolume(env.paths, env.node, volid, snap);
    const est = zfsNicenum(Buffer.from(stream.data, 'base64').length);
    log?.(`full send of ${pool}/${name}@${snap} estimated size is ${est}`);
    log?.(`total estimated size is ${est}`);
    const recv = ['pvesm', 'import', volid, 'zfs', '-', '-with-snapshots', '0', '-snapshot', snap, '-delete-snapshot', snap, '-allow-rename', '1'];
    const r = await remote.run(recv, `${JSON.stringify(stream)}\n`);
    for (const l of `${r.stdout}${r.stderr}`.split('\n')) if (l.trim()) log?.(l);
    if (r.exitCode !== 0) throw new Die(`command '${cmd2string(['pvesm', 'export', volid, 'zfs', '-', '-with-snapshots', '0', '-snapshot', snap])} | ${cmd2string([...remote.cmd, '--', ...recv])}' failed: exit code ${r.exitCode}\n`);
  } finally {
    try {
      deleteSnapshot(env.paths, env.node, pool, name, snap);
    } catch {
      // already gone
    }
  }
}

/**
 * After a guest moved to its replication target (AbstractMigrate transfer_replication_state and
 * switch_replication_job_target): the target gets the job state (`pvesr set-state`), the job now
 * replicates back to the old node, and the old node forgets the guest's state.
 */
export async function handOverReplication(env: ReplicationEnv, remote: RemoteNode, vmid: number, target: string): Promise<void> {
  const st = readState(env.paths, env.node);
  const vmState = { ...(st[String(vmid)] ?? {}) };
  const oldId = `local/${target}`;
  const newId = `local/${env.node}`;
  if (vmState[oldId] !== undefined) {
    vmState[newId] = vmState[oldId];
    delete vmState[oldId];
  }
  const argv = ['pvesr', 'set-state', String(vmid), JSON.stringify(vmState)];
  const r = await remote.run(argv);
  if (r.exitCode !== 0) throw commandFailed([...remote.cmd, '--', ...argv], r.exitCode);
  await lockReplicationConfig(
    env.paths,
    async () => {
      const cfg = readReplicationConfig(env.paths);
      for (const j of Object.values(cfg.ids)) {
        if (j.guest !== vmid || j.type !== 'local') continue;
        if (j.target === target) j.target = env.node;
        j.source = target;
      }
      writeReplicationConfig(env.paths, cfg);
    },
    () => undefined,
  );
  delete st[String(vmid)];
  writeState(env.paths, env.node, st);
}
