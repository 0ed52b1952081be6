/**
 * Replication jobs and their state (pve-guest-common PVE::ReplicationConfig, PVE::ReplicationState):
 * jobs in /etc/pve/replication.cfg as `local: <vmid>-<jobnum>` sections, the per-node state in
 * /var/lib/pve-manager/pve-replication-state.json keyed by guest and `local/<target>`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { computeNextEvent, parseCalendarEvent } from './calendar.js';
import { vmlist } from './cluster.js';
import { pidAlive } from './daemon.js';
import { Die } from './errors.js';
import type { SimPaths } from './paths.js';
import { cfsLock, readText, writeAtomic } from './pvefs.js';
import { parseSectionConfig, writeSectionConfig, type Section } from './section-config.js';

/** One job of replication.cfg, with the guest and job number parse_config adds. */
export interface ReplicationJob {
  id: string;
  type: string;
  guest: number;
  jobnum: number;
  target: string;
  schedule?: string;
  rate?: string;
  comment?: string;
  disable?: string;
  remove_job?: 'local' | 'full';
  source?: string;
}

/** Options of the `local` type in write order (ReplicationConfig::Cluster options). */
export const JOB_OPTIONS = ['target', 'disable', 'comment', 'rate', 'schedule', 'remove_job', 'source'] as const;

/** parse_replication_job_id: `<guest>-<jobnum>` normalised, or PVE's error. */
export function parseReplicationJobId(id: string): { guest: number; jobnum: number; id: string } {
  const msg = `invalid replication job id '${id}'`;
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (!m) throw new Die(`${msg}\n`);
  const guest = Number(m[1]);
  const jobnum = Number(m[2]);
  if (guest < 100) throw new Die(`${msg} (guest IDs < 100 are reserved)\n`);
  return { guest, jobnum, id: `${guest}-${jobnum}` };
}

/** get_unique_target_id of a local job. */
export function targetId(job: Pick<ReplicationJob, 'target'>): string {
  return `local/${job.target}`;
}

function cfgFile(paths: SimPaths): string {
  return path.join(paths.etcPve, 'replication.cfg');
}

/** The jobs of replication.cfg and the file's digest. */
export interface ReplicationConfig {
  ids: Record<string, ReplicationJob>;
  digest: string;
}

/** Read replication.cfg (a later job to an already used guest/target pair is dropped, as parse_config does). */
export function readReplicationConfig(paths: SimPaths): ReplicationConfig {
  const raw = readText(cfgFile(paths)) ?? '';
  const ids: Record<string, ReplicationJob> = {};
  const seen = new Set<string>();
  for (const s of parseSectionConfig(raw)) {
    let parsed: { guest: number; jobnum: number; id: string };
    try {
      parsed = parseReplicationJobId(s.id);
    } catch {
      continue;
    }
    const job: ReplicationJob = { ...(s.props as Partial<ReplicationJob>), type: s.type, id: parsed.id, guest: parsed.guest, jobnum: parsed.jobnum, target: s.props['target'] ?? '' };
    const key = `${job.guest} ${targetId(job)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ids[parsed.id] = job;
  }
  return { ids, digest: createHash('sha1').update(raw).digest('hex') };
}

/** Write replication.cfg (write_config: one job per guest and target). */
export function writeReplicationConfig(paths: SimPaths, cfg: ReplicationConfig): void {
  const seen = new Set<string>();
  const sections: Section[] = [];
  for (const id of Object.keys(cfg.ids).sort()) {
    const job = cfg.ids[id] as ReplicationJob;
    const key = `${job.guest} ${targetId(job)}`;
    if (seen.has(key)) throw new Die(`replication job for guest '${job.guest}' to target '${targetId(job)}' already exists\n`);
    seen.add(key);
    const props: Record<string, string> = {};
    for (const k of JOB_OPTIONS) {
      const v = job[k];
      if (v !== undefined && v !== '') props[k] = String(v);
    }
    sections.push({ type: job.type, id, props });
  }
  writeAtomic(paths, cfgFile(paths), writeSectionConfig(sections, (t) => (t === 'local' ? ['target'] : [])), 0o640);
}

/** PVE::ReplicationConfig::lock: the cluster-wide lock on replication.cfg. */
export async function lockReplicationConfig<T>(paths: SimPaths, fn: () => Promise<T>, err: (t: string) => void): Promise<T> {
  return cfsLock(paths, 'file-replication_cfg', fn, err);
}

/** State of one job on its source node (ReplicationState::extract_job_state). */
export interface JobState {
  last_iteration: number;
  last_try: number;
  last_sync: number;
  fail_count: number;
  duration?: number;
  error?: string;
  pid?: number;
  ptime?: number;
  last_node?: string;
  storeid_list?: string[];
}

/** The whole state file: guest → `local/<target>` → state. */
export type StateFile = Record<string, Record<string, Partial<JobState>>>;

/** /var/lib/pve-manager of the node: kept in its private lab directory, as a node's /var/lib is the host's. */
export function stateDir(paths: SimPaths, node: string): string {
  return path.join(paths.nodeDir(node), 'var-lib-pve-manager');
}

/** The path PVE names the state file by. */
export const STATE_PATH = '/var/lib/pve-manager/pve-replication-state.json';

function stateFile(paths: SimPaths, node: string): string {
  return path.join(stateDir(paths, node), 'pve-replication-state.json');
}

/** read_state. */
export function readState(paths: SimPaths, node: string): StateFile {
  let raw = '';
  try {
    raw = readFileSync(stateFile(paths, node), 'utf8');
  } catch {
    return {};
  }
  if (raw === '') return {};
  try {
    return JSON.parse(raw) as StateFile;
  } catch {
    throw new Die(`invalid json data in '${STATE_PATH}'\n`);
  }
}

/** Write the whole state file atomically (file_set_contents of encode_json). */
export function writeState(paths: SimPaths, node: string, st: StateFile): void {
  const file = stateFile(paths, node);
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(st));
  renameSync(tmp, file);
}

/** extract_job_state: the job's state with its defaults. */
export function extractJobState(st: StateFile, job: ReplicationJob): JobState {
  const s = st[String(job.guest)]?.[targetId(job)] ?? {};
  return { ...s, last_iteration: s.last_iteration ?? 0, last_try: s.last_try ?? 0, last_sync: s.last_sync ?? 0, fail_count: s.fail_count ?? 0 };
}

/** write_job_state: one job's state, or none when `state` is undefined. */
export function writeJobState(paths: SimPaths, node: string, job: ReplicationJob, state: JobState | undefined): void {
  const st = readState(paths, node);
  const vmid = String(job.guest);
  if (state) {
    st[vmid] = { ...(st[vmid] ?? {}), [targetId(job)]: state };
  } else if (st[vmid]) {
    delete st[vmid][targetId(job)];
    if (Object.keys(st[vmid]).length === 0) delete st[vmid];
  }
  writeState(paths, node, st);
}

/** replication_snapshot_name: `__replicate_<jobid>_<last_sync>__`. */
export function replicationSnapshotName(jobid: string, lastSync: number): { prefix: string; name: string } {
  const prefix = `__replicate_${jobid}_`;
  return { prefix, name: `${prefix}${lastSync}__` };
}

/** A job as job_status returns it: its config plus state, next_sync and guest type. */
export interface JobStatus extends ReplicationJob {
  state: JobState;
  next_sync: number;
  vmtype: 'qemu' | 'lxc';
}

/** Is a recorded run still going (check_process_running)? */
export function jobRunning(s: JobState): boolean {
  return s.pid !== undefined && s.pid > 0 && pidAlive(s.pid);
}

/**
 * job_status: the jobs of guests on `node`, with their state and next sync. As on PVE it also
 * fills in a missing `source` and turns jobs of a guest stolen by HA around.
 */
export async function jobStatus(paths: SimPaths, node: string, opts: { getDisabled?: boolean; online?: (n: string) => boolean; err: (t: string) => void }): Promise<Record<string, JobStatus>> {
  return lockReplicationConfig(
    paths,
    async () => {
      const st = readState(paths, node);
      const cfg = readReplicationConfig(paths);
      const vms = vmlist(paths);
      const jobs: Record<string, JobStatus> = {};
      let dirty = false;
      for (const id of Object.keys(cfg.ids).sort()) {
        const job = cfg.ids[id] as ReplicationJob;
        if (job.type !== 'local') throw new Die('internal error - not implemented\n');
        const vm = vms.get(job.guest);
        if (!vm || vm.node !== node) continue;
        if (job.source === undefined) {
          job.source = node;
          dirty = true;
        }
        if (node !== job.source) {
          // the guest was stolen (HA recovery): the old source becomes the target
          const old = job.source;
          for (const j of Object.values(cfg.ids)) {
            if (j.guest !== job.guest || j.type !== 'local') continue;
            if (j.target === node) j.target = old;
            j.source = node;
          }
          dirty = true;
        }
        if (!job.remove_job && job.target === node) continue;
        if (!opts.getDisabled && job.disable && job.disable !== '0') continue;
        const state = extractJobState(st, job);
        let next = 0;
        if (job.remove_job) {
          next = 1;
        } else if (state.fail_count) {
          if (!opts.online || opts.online(job.target)) next = state.last_try + 60 * (state.fail_count <= 3 ? 5 * state.fail_count : 30);
        } else {
          next = computeNextEvent(parseCalendarEvent(job.schedule || '*/15'), state.last_try);
        }
        jobs[id] = { ...job, state, next_sync: next, vmtype: vm.type };
      }
      if (dirty) writeReplicationConfig(paths, cfg);
      return jobs;
    },
    opts.err,
  );
}

/** get_next_job: the due job that ran longest ago in this iteration, or undefined. */
export function nextJob(jobs: Record<string, JobStatus>, iteration: number, startTime: number): JobStatus | undefined {
  const order = Object.values(jobs).sort((a, b) => a.state.last_iteration - b.state.last_iteration || a.next_sync - b.next_sync || a.guest - b.guest);
  for (const j of order) {
    if (j.state.last_iteration >= iteration) continue;
    if (j.next_sync && startTime >= j.next_sync) return j;
  }
  return undefined;
}
