/**
 * What `pvx replication add` proves before it creates a job, from what was read: the guest, the
 * target (another online cluster node), no job for that guest and target yet, and every disk of
 * the guest replicatable — on a `zfspool` storage enabled with the same ID on both nodes. Which
 * disks count follows PVE's own choice of replicatable volumes (qemu-server/pve-container
 * get_replicatable_volumes): CD-ROMs, disks marked `replicate=0` and disks on shared storage are
 * left out; a host path or bind mount is refused, as pvesr would.
 */
import type { GuestConfigFacts } from '../../pve/parse/guest-config.js';
import type { PvesmStorage } from '../../pve/parse/pvesm-status.js';
import type { PvesrJob } from '../../pve/parse/pvesr.js';
import type { GuestResource, NodeResource, StorageResource } from '../../pve/parse/pvesh-resources.js';

/** The storages of the source and the target node, as `pvesm status` lists them there. */
export interface NodeStorages {
  source: readonly PvesmStorage[];
  target: readonly PvesmStorage[];
}

/** What the prerequisites found. */
export interface AddVerdict {
  /** why the job cannot be created (empty when it can) */
  problems: string[];
  /** the volumes the job will replicate */
  volumes: string[];
  /** what the user may want to know (disks left out of replication) */
  notes: string[];
}

// the boolean spellings PVE takes for a drive's `replicate` option
const REPLICATE_OFF = /(^|,)replicate=(0|no|off|false)(,|$)/i;

/** The job id PVE's own dialog picks: `<vmid>-<n>` with the lowest n no job of that guest uses. */
export function nextJobId(vmid: number, jobs: readonly PvesrJob[]): string {
  const used = new Set(jobs.filter((j) => j.vmid === vmid).map((j) => j.jobId));
  let n = 0;
  while (used.has(`${vmid}-${n}`)) n++;
  return `${vmid}-${n}`;
}

/** Why the target cannot be one for this guest, or undefined. */
export function targetProblem(guest: GuestResource, target: string, nodes: readonly NodeResource[]): string | undefined {
  const node = nodes.find((n) => n.node === target);
  if (!node) return `${target} is not a node of the cluster (it has ${nodes.map((n) => n.node).join(', ')})`;
  if (target === guest.node) return `${target} is the node the guest runs on: replicate to another node`;
  if (!node.online) return `${target} is not online (${node.status}): a job needs its target reachable`;
  return undefined;
}

/** Why a zfspool storage cannot carry the replica on a node, or undefined. */
function storageOnNode(id: string, node: string, rows: readonly PvesmStorage[]): string | undefined {
  const row = rows.find((s) => s.name === id);
  if (!row) return `${node} has no storage ${id} (pvesm status there does not list it): add a zfspool storage with that ID there, or restrict the job to nodes that have it`;
  if (row.type !== 'zfspool') return `storage ${id} on ${node} is of type ${row.type}, not zfspool`;
  if (row.status === 'disabled') return `storage ${id} is disabled on ${node} (pvesm set ${id} --disable 0)`;
  if (row.status !== 'active') return `storage ${id} is ${row.status} on ${node}`;
  return undefined;
}

/** Check every disk of the guest; see the module comment. */
export function checkDisks(guest: GuestResource, target: string, config: GuestConfigFacts, storages: readonly StorageResource[], onNodes: NodeStorages): AddVerdict {
  const problems: string[] = [];
  const volumes: string[] = [];
  const notes: string[] = [];
  const off = (key: string) => REPLICATE_OFF.test(config.entries.get(key) ?? '');
  const checkedStorage = new Map<string, string[]>();
  for (const v of config.volumes) {
    if (v.cdrom || v.cloudinit) continue;
    if (off(v.key)) {
      notes.push(`${v.key} (${v.volid}) is marked replicate=0: left out`);
      continue;
    }
    const entries = storages.filter((s) => s.storage === v.storage);
    if (entries.some((s) => s.shared)) {
      notes.push(`${v.key} is on shared storage ${v.storage}: nothing to replicate`);
      continue;
    }
    const type = entries[0]?.plugintype ?? onNodes.source.find((s) => s.name === v.storage)?.type;
    if (type !== 'zfspool') {
      problems.push(`${v.key} (${v.volid}) is on ${type ? `local storage ${v.storage} (${type})` : `storage ${v.storage}, which the cluster does not list`}: pvesr replicates only zfspool storage; move it (${guest.type === 'qemu' ? 'qm disk move' : 'pct move-volume'} ${guest.vmid} ${v.key} <zfspool storage>) or mark it replicate=0`);
      continue;
    }
    if (!checkedStorage.has(v.storage)) {
      checkedStorage.set(
        v.storage,
        [storageOnNode(v.storage, guest.node, onNodes.source), storageOnNode(v.storage, target, onNodes.target)].filter((p): p is string => p !== undefined),
      );
    }
    const bad = checkedStorage.get(v.storage) ?? [];
    if (bad.length > 0) problems.push(`${v.key} (${v.volid}): ${bad.join('; ')}`);
    else volumes.push(v.volid);
  }
  for (const d of config.hostDrives) {
    if (d.cdrom || d.source === 'cdrom' || off(d.key)) continue;
    problems.push(`${d.key} is the host path ${d.source}: pvesr cannot replicate a local file or device; mark it replicate=0 or move it onto zfspool storage`);
  }
  for (const b of config.bindMounts) {
    if (off(b.key)) continue;
    problems.push(`${b.key} binds the host path ${b.source}: pvesr cannot replicate a bind mount; mark it replicate=0 (pct set ${guest.vmid} --${b.key} …,replicate=0)`);
  }
  if (problems.length === 0 && volumes.length === 0) problems.push('the guest has no disk to replicate (pvesr: No replicatable volumes found)');
  return { problems, volumes, notes };
}

/** Why the guest already has a job to the target, or undefined. */
export function existingJobProblem(vmid: number, target: string, jobs: readonly PvesrJob[]): string | undefined {
  const job = jobs.find((j) => j.vmid === vmid && j.target === target);
  return job ? `guest ${vmid} is replicated to ${target} already by job ${job.jobId} (pvx replication list shows it; pvx replication remove ${job.jobId} removes it)` : undefined;
}
