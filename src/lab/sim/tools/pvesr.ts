/**
 * `pvesr` (pve-manager PVE/CLI/pvesr.pm with PVE::API2::ReplicationConfig and PVE::API2::Replication):
 * replication jobs of guests on zfspool storage, their status, and the internal commands the
 * source node runs on the target over ssh (prepare-local-job, finalize-local-job, set-state).
 */
import type { SimContext, SimTool } from '../types.js';
import { fmtCalendarEvent } from '../core/calendar.js';
import { checkRpcEnv } from '../core/cfs.js';
import { runCli, type CommandSpec } from '../core/cli.js';
import { clusterNodeNames, onlineNodes, vmlist } from '../core/cluster.js';
import { simEnv, type SimEnv } from '../core/env.js';
import { Die, PveException, paramError } from '../core/errors.js';
import { lockFile } from '../core/lock-file.js';
import { loadGuest } from '../core/guests.js';
import { replicatableVolumes, prepareLocalJob, prepareVolumes, checkWantedVolid, runReplication, type ReplicationEnv } from '../core/replicate.js';
import {
  JOB_OPTIONS,
  jobStatus,
  lockReplicationConfig,
  nextJob,
  parseReplicationJobId,
  readReplicationConfig,
  readState,
  targetId,
  writeReplicationConfig,
  writeState,
  extractJobState,
  writeJobState,
  jobRunning,
  type JobStatus,
  type ReplicationJob,
} from '../core/replication.js';
import { fmtNode, fmtVmid, type Param, type Values } from '../core/schema.js';
import { perlJsonPretty } from '../render/json.js';

/** Format pve-replication-job-id. */
export function fmtReplicationJobId(v: string): void {
  parseReplicationJobId(v);
}

const idParam: Param = { type: 'string', format: fmtReplicationJobId, pattern: '[1-9][0-9]{2,8}-\\d{1,9}' };
const optId: Param = { ...idParam, optional: true };

/** The options a job takes (ReplicationConfig propertyList of the `local` type). */
function jobParams(): Record<string, Param> {
  return {
    disable: { type: 'boolean', optional: true },
    comment: { type: 'string', optional: true, maxLength: 4096 },
    remove_job: { type: 'string', enum: ['local', 'full'], optional: true },
    rate: { type: 'number', minimum: 1, optional: true },
    schedule: { type: 'string', format: fmtCalendarEvent, maxLength: 128, optional: true },
    source: { type: 'string', format: fmtNode, optional: true },
  };
}

function perlTime(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `pvesr list` ($print_job_list: `%-20s %-20s %10s %5s %8s`). */
export function renderPvesrList(jobs: readonly ReplicationJob[]): string {
  const row = (a: string, b: string, c: string, d: string, e: string): string => `${a.padEnd(20)} ${b.padEnd(20)} ${c.padStart(10)} ${d.padStart(5)} ${e.padStart(8)}\n`;
  let out = row('JobID', 'Target', 'Schedule', 'Rate', 'Enabled');
  for (const j of [...jobs].sort((a, b) => a.guest - b.guest)) {
    out += row(j.id, targetId(j), j.schedule ?? '*/15', j.rate ?? '-', j.disable && j.disable !== '0' ? 'no' : 'yes');
  }
  return out;
}

/** One row of `pvesr status`: a job with the state fields extract_job_status copies. */
export interface StatusRow {
  id: string;
  guest: number;
  target: string;
  disable?: string;
  last_sync?: number;
  next_sync?: number;
  duration?: number;
  fail_count?: number;
  error?: string;
  pid?: number;
}

/** `pvesr status` ($print_job_status: `%-10s %-10s %-20s %20s %20s %10s %10s %s`). */
export function renderPvesrStatus(rows: readonly StatusRow[], now = Math.floor(Date.now() / 1000)): string {
  const row = (a: string, b: string, c: string, d: string, e: string, f: string, g: string, h: string): string =>
    `${a.padEnd(10)} ${b.padEnd(10)} ${c.padEnd(20)} ${d.padStart(20)} ${e.padStart(20)} ${f.padStart(10)} ${g.padStart(10)} ${h}\n`;
  let out = row('JobID', 'Enabled', 'Target', 'LastSync', 'NextSync', 'Duration', 'FailCount', 'State');
  for (const j of [...rows].sort((a, b) => a.guest - b.guest)) {
    const last = j.last_sync ? perlTime(j.last_sync) : '-';
    const next = j.next_sync ? (j.next_sync > now ? perlTime(j.next_sync) : 'pending') : '-';
    const state = j.pid ? 'SYNCING' : (j.error ?? 'OK');
    out += row(j.id, j.disable && j.disable !== '0' ? 'No' : 'Yes', `local/${j.target}`, last, next, j.duration !== undefined ? String(j.duration) : '-', String(j.fail_count ?? ''), state);
  }
  return out;
}

/** $extract_job_status: the job plus last_sync, last_try, fail_count, error, duration and a live pid. */
function statusRow(j: JobStatus): StatusRow & Record<string, unknown> {
  const { state, ...rest } = j;
  const out: StatusRow & Record<string, unknown> = { ...rest };
  for (const k of ['last_sync', 'last_try', 'fail_count', 'error', 'duration'] as const) if (state[k] !== undefined) (out as Record<string, unknown>)[k] = state[k];
  if (jobRunning(state)) out.pid = state.pid;
  return out;
}

/** PVE::Tools::lock_file on /var/lock/pvesr.lck (60 s): one replication run at a time on a node. */
function withPvesrLock<T>(env: SimEnv, fn: () => Promise<T>): Promise<T> {
  return lockFile(env.paths, '/var/lock/pvesr.lck', 60, fn);
}

/** GET /nodes/{node}/replication (PVE::API2::Replication status): this node's jobs with their state. */
export async function replicationStatus(env: SimEnv, guest?: number): Promise<Array<StatusRow & Record<string, unknown>>> {
  const online = await onlineNodes(env.ctx, env.paths);
  const jobs = await jobStatus(env.paths, env.nodename, { getDisabled: true, online: (n) => online.has(n), err: env.ctx.err });
  return Object.keys(jobs)
    .sort()
    .map((id) => statusRow(jobs[id] as JobStatus))
    .filter((r) => guest === undefined || r.guest === guest);
}

/** GET /cluster/replication (PVE::API2::ReplicationConfig index): every job's configuration. */
export function replicationIndex(env: SimEnv): ReplicationJob[] {
  const cfg = readReplicationConfig(env.paths);
  return Object.keys(cfg.ids)
    .sort()
    .map((id) => cfg.ids[id] as ReplicationJob);
}

function replEnv(env: SimEnv): ReplicationEnv {
  return { paths: env.paths, node: env.nodename };
}

/** run_single_job: one job, now, whatever its schedule. */
export async function runSingleJob(env: SimEnv, jobid: string, log?: (line: string) => void): Promise<void> {
  await withPvesrLock(env, async () => {
    const now = Math.floor(Date.now() / 1000);
    const cfg = readReplicationConfig(env.paths);
    const job = cfg.ids[jobid];
    if (!job) throw new Die(`no such job '${jobid}'\n`);
    if (job.type !== 'local') throw new Die('internal error - not implemented\n');
    if (job.disable && job.disable !== '0') throw new Die(`job '${jobid}' is disabled\n`);
    const vm = vmlist(env.paths).get(job.guest);
    if (!vm) throw new Die(`no such guest '${job.guest}'\n`);
    if (vm.node !== env.nodename) throw new Die(`guest '${job.guest}' is not on local node\n`);
    if (job.target === env.nodename) throw new Die('unable to sync to local node\n');
    await runReplication(replEnv(env), job, vm.type, now, now, log);
  });
}

/** purge_old_states: keep the state of jobs whose guest is on this node. */
function purgeOldStates(env: SimEnv): void {
  const cfg = readReplicationConfig(env.paths);
  const vms = vmlist(env.paths);
  const used = new Set<string>();
  for (const j of Object.values(cfg.ids)) if (vms.get(j.guest)?.node === env.nodename) used.add(`${j.guest} ${targetId(j)}`);
  const st = readState(env.paths, env.nodename);
  const next: typeof st = {};
  for (const [vmid, tids] of Object.entries(st)) {
    for (const [tid, s] of Object.entries(tids)) if (used.has(`${vmid} ${tid}`)) (next[vmid] ??= {})[tid] = s;
  }
  writeState(env.paths, env.nodename, next);
}

/**
 * run_jobs: every due job of this node, each at most once in this iteration. With `keepGoing`
 * (the scheduler) a failed job does not stop the others; its failure is in its state either way.
 */
export async function runJobs(env: SimEnv, opts: { log?: (line: string) => void; keepGoing?: boolean } = {}): Promise<void> {
  const iteration = Math.floor(Date.now() / 1000);
  await withPvesrLock(env, async () => {
    let start = Math.floor(Date.now() / 1000);
    purgeOldStates(env);
    const online = await onlineNodes(env.ctx, env.paths);
    for (;;) {
      const jobs = await jobStatus(env.paths, env.nodename, { online: (n) => online.has(n), err: env.ctx.err });
      const job = nextJob(jobs, iteration, start);
      if (!job) break;
      try {
        await runReplication(replEnv(env), job, job.vmtype, iteration, start, opts.log);
      } catch (e) {
        if (!opts.keepGoing) throw e;
      }
      start = Math.floor(Date.now() / 1000);
    }
  });
}

function optsOf(v: Values): Partial<ReplicationJob> {
  const out: Record<string, string> = {};
  for (const k of JOB_OPTIONS) if (v[k] !== undefined) out[k] = String(v[k]);
  return out as Partial<ReplicationJob>;
}

async function createJob(env: SimEnv, v: Values): Promise<number> {
  const id = String(v['id']);
  const { guest, id: normId } = parseReplicationJobId(id);
  const target = String(v['target']);
  const members = clusterNodeNames(env.ctx, env.paths);
  const vm = vmlist(env.paths).get(guest);
  if (!vm) throw new Die(`Guest '${guest}' does not exist.\n`);
  if (!members.includes(target)) throw new Die(`Target '${target}' does not exist.\n`);
  const source = vm.node;
  if (v['source'] !== undefined && v['source'] !== source) throw new Die(`Source '${String(v['source'])}' does not match current node of guest '${guest}' (${source})\n`);
  if (target === source) throw new Die('Source and target must not be identical\n');
  const g = loadGuest(env.paths, vm.type, source, guest);
  if (!g) throw new Die(`Configuration file 'nodes/${source}/${vm.type === 'qemu' ? 'qemu-server' : 'lxc'}/${guest}.conf' does not exist\n`);
  if (replicatableVolumes(env.paths, vm.type, guest, g.conf).length === 0) throw new Die('No replicatable volumes found\n');
  await lockReplicationConfig(
    env.paths,
    async () => {
      const cfg = readReplicationConfig(env.paths);
      if (cfg.ids[normId]) throw new Die(`replication job '${normId}' already exists\n`);
      cfg.ids[normId] = { ...optsOf(v), type: 'local', id: normId, guest, jobnum: parseReplicationJobId(id).jobnum, target, source };
      writeReplicationConfig(env.paths, cfg);
    },
    env.ctx.err,
  );
  return 0;
}

async function updateJob(env: SimEnv, v: Values): Promise<number> {
  const id = parseReplicationJobId(String(v['id'])).id;
  await lockReplicationConfig(
    env.paths,
    async () => {
      const cfg = readReplicationConfig(env.paths);
      if (v['digest'] !== undefined && v['digest'] !== cfg.digest) throw new Die('detected modified configuration - file changed by other user? Try again.\n');
      const job = cfg.ids[id];
      if (!job) throw new Die(`no such job '${id}'\n`);
      Object.assign(job, optsOf(v));
      if (typeof v['delete'] === 'string') {
        for (const k of v['delete'].split(/[,;\s]+/).filter(Boolean)) {
          if (k === 'target') throw new Die(`unable to delete required option '${k}'\n`);
          if (!(JOB_OPTIONS as readonly string[]).includes(k)) throw new Die(`no such option '${k}'\n`);
          delete (job as unknown as Record<string, unknown>)[k];
        }
      }
      writeReplicationConfig(env.paths, cfg);
    },
    env.ctx.err,
  );
  return 0;
}

async function deleteJob(env: SimEnv, v: Values): Promise<number> {
  const id = String(v['id']);
  await lockReplicationConfig(
    env.paths,
    async () => {
      const cfg = readReplicationConfig(env.paths);
      if (v['force']) {
        if (v['keep']) throw paramError({ keep: "conflicts with parameter 'force'" });
        delete cfg.ids[id];
      } else {
        const job = cfg.ids[id];
        if (!job) throw new Die(`no such job '${id}'\n`);
        job.remove_job = !v['keep'] && job.type === 'local' ? 'full' : 'local';
        env.ctx.err('Replication job removal is a background task and will take some time.\n');
      }
      writeReplicationConfig(env.paths, cfg);
    },
    env.ctx.err,
  );
  return 0;
}

function extraArgs(v: Values): string[] {
  const x = v['extra-args'];
  return Array.isArray(x) ? x : [];
}

function checkNotLocal(env: SimEnv, vmid: number): void {
  if (vmlist(env.paths).get(vmid)?.node === env.nodename) throw new Die(`guest '${vmid}' is on local node\n`);
}

function commands(env: SimEnv): Record<string, CommandSpec> {
  const api = 'PVE::API2::Replication';
  const cfgApi = 'PVE::API2::ReplicationConfig';
  const cli = 'PVE::CLI::pvesr';
  const err = (m: string): void => env.ctx.err(`${m}\n`);
  return {
    status: {
      group: api,
      params: { node: { type: 'string', format: fmtNode }, guest: { type: 'integer', format: fmtVmid, optional: true } },
      fixed: { node: env.nodename },
      run: async (v) => {
        env.ctx.out(renderPvesrStatus(await replicationStatus(env, v['guest'] !== undefined ? Number(v['guest']) : undefined)));
        return 0;
      },
    },
    'schedule-now': {
      group: api,
      params: { id: idParam, node: { type: 'string', format: fmtNode } },
      args: ['id'],
      fixed: { node: env.nodename },
      run: async (v) => {
        const id = String(v['id']);
        const job = readReplicationConfig(env.paths).ids[id];
        if (!job) throw new Die(`no such replication job '${id}'\n`);
        const st = readState(env.paths, env.nodename);
        if (st[String(job.guest)]?.[targetId(job)] === undefined) return 0;
        const s = extractJobState(st, job);
        s.last_try = 0;
        writeJobState(env.paths, env.nodename, job, s);
        return 0;
      },
    },
    list: {
      group: cfgApi,
      params: {},
      run: async () => {
        env.ctx.out(renderPvesrList(Object.values(readReplicationConfig(env.paths).ids)));
        return 0;
      },
    },
    read: {
      group: cfgApi,
      params: { id: idParam },
      args: ['id'],
      run: async (v) => {
        const cfg = readReplicationConfig(env.paths);
        const job = cfg.ids[String(v['id'])];
        if (!job) throw new Die(`no such replication job '${String(v['id'])}'\n`);
        env.ctx.out(perlJsonPretty({ ...job, digest: cfg.digest }));
        return 0;
      },
    },
    update: {
      group: cfgApi,
      params: { id: idParam, ...jobParams(), delete: { type: 'string', optional: true, maxLength: 4096 }, digest: { type: 'string', optional: true, maxLength: 64 } },
      args: ['id'],
      run: async (v) => updateJob(env, v),
    },
    delete: {
      group: cfgApi,
      params: { id: idParam, keep: { type: 'boolean', optional: true }, force: { type: 'boolean', optional: true } },
      args: ['id'],
      run: async (v) => deleteJob(env, v),
    },
    'create-local-job': {
      group: cfgApi,
      params: { id: idParam, target: { type: 'string', format: fmtNode }, type: { type: 'string', enum: ['local'] }, ...jobParams() },
      args: ['id', 'target'],
      fixed: { type: 'local' },
      run: async (v) => createJob(env, v),
    },
    enable: {
      group: cli,
      params: { id: idParam },
      args: ['id'],
      run: async (v) => updateJob(env, { id: v['id'], disable: 0 }),
    },
    disable: {
      group: cli,
      params: { id: idParam },
      args: ['id'],
      run: async (v) => updateJob(env, { id: v['id'], disable: 1 }),
    },
    'prepare-local-job': {
      group: cli,
      params: {
        id: idParam,
        'extra-args': { type: 'array', optional: true },
        scan: { type: 'string', optional: true },
        force: { type: 'boolean', optional: true },
        last_sync: { type: 'integer', minimum: 0, optional: true },
        parent_snapname: { type: 'string', optional: true, maxLength: 40 },
      },
      args: ['id', 'extra-args'],
      run: async (v) => {
        const volids = extraArgs(v);
        if (!v['force'] && volids.length === 0) throw new Die('no volumes specified\n');
        const { guest, id } = parseReplicationJobId(String(v['id']));
        checkNotLocal(env, guest);
        const snaps = prepareLocalJob(
          env.paths,
          env.nodename,
          {
            jobid: id,
            vmid: guest,
            volids,
            scan: typeof v['scan'] === 'string' ? v['scan'].split(/[,;\s]+/).filter(Boolean) : [],
            lastSync: Number(v['last_sync'] ?? 0),
            ...(typeof v['parent_snapname'] === 'string' ? { parent: v['parent_snapname'] } : {}),
            force: Boolean(v['force']),
          },
          err,
        );
        env.ctx.out(`${JSON.stringify(snaps)}\n`);
        return 0;
      },
    },
    'finalize-local-job': {
      group: cli,
      params: { id: idParam, 'extra-args': { type: 'array', optional: true }, last_sync: { type: 'integer', minimum: 0, optional: true } },
      args: ['id', 'extra-args'],
      run: async (v) => {
        const { guest, id } = parseReplicationJobId(String(v['id']));
        checkNotLocal(env, guest);
        const volids = extraArgs(v);
        if (volids.length === 0) throw new Die('no volumes specified\n');
        for (const volid of volids) checkWantedVolid(env.paths, guest, volid);
        prepareVolumes(env.paths, env.nodename, [...volids].sort(), id, Number(v['last_sync'] ?? 0), undefined, err);
        return 0;
      },
    },
    run: {
      group: cli,
      params: { id: optId, verbose: { type: 'boolean', optional: true } },
      run: async (v) => {
        const log = v['verbose'] ? (l: string): void => env.ctx.out(`${l}\n`) : undefined;
        if (typeof v['id'] === 'string') await runSingleJob(env, v['id'], log);
        else await runJobs(env, log ? { log } : {});
        return 0;
      },
    },
    'set-state': {
      group: cli,
      params: { vmid: { type: 'integer', format: fmtVmid }, state: { type: 'string' } },
      args: ['vmid', 'state'],
      run: async (v) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(String(v['state']));
        } catch (e) {
          throw new PveException(`malformed JSON string: ${e instanceof Error ? e.message : String(e)}\n`);
        }
        const st = readState(env.paths, env.nodename);
        st[String(v['vmid'])] = parsed as (typeof st)[string];
        writeState(env.paths, env.nodename, st);
        return 0;
      },
    },
  };
}

/** The pvesr tool. */
export const pvesr: SimTool = {
  name: 'pvesr',
  async run(args: string[], ctx: SimContext) {
    const env = simEnv(ctx);
    return runCli('pvesr', commands(env), args, ctx, { prepare: async () => checkRpcEnv(env.paths) });
  },
};
