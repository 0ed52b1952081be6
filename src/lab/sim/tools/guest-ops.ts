/** Power, create and destroy of VMs and CTs (PVE::API2::Qemu, PVE::API2::LXC handlers the CLIs call). */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { checkCfsQuorum } from '../core/cfs.js';
import { vmlist } from '../core/cluster.js';
import type { SimEnv } from '../core/env.js';
import { Die } from '../core/errors.js';
import { parsePropList, type GuestConfig } from '../core/guest-config.js';
import { cfsConfigPath, confFile, guestVolumes, loadGuest, runState, saveGuest, setRunning, setStopped, type GuestType } from '../core/guests.js';
import { isHaManaged, readResources, writeResources } from '../core/ha.js';
import { mkdirPve } from '../core/pvefs.js';
import type { Values } from '../core/schema.js';
import { lockReplicationConfig, readReplicationConfig, writeReplicationConfig } from '../core/replication.js';
import { readStorages } from '../core/storage.js';
import { allocZfsVolume, freeVolume } from '../core/volumes.js';
import { runTask, type TaskResult } from '../core/task.js';
import { qemuVersion } from '../core/versions.js';
import path from 'node:path';

/** `VM` or `CT`, as PVE names guests in messages. */
export function guestWord(type: GuestType): 'VM' | 'CT' {
  return type === 'qemu' ? 'VM' : 'CT';
}

function taskType(type: GuestType, op: 'start' | 'stop' | 'create' | 'destroy'): string {
  return `${type === 'qemu' ? 'qm' : 'vz'}${op}`;
}

/** Exit code of a qm/pct command that started a task (upid_exit). */
export function upidExit(ok: boolean): number {
  return ok ? 0 : 255;
}

/** load_config: the guest's config on this node or the PVE error. */
export function loadConfig(env: SimEnv, type: GuestType, vmid: number): GuestConfig {
  const g = loadGuest(env.paths, type, env.nodename, vmid);
  if (!g) throw new Die(`Configuration file '${cfsConfigPath(type, env.nodename, vmid)}' does not exist\n`);
  return g;
}

/** check_lock. */
export function checkLock(type: GuestType, g: GuestConfig): void {
  const lock = g.conf['lock'];
  if (lock) throw new Die(`${guestWord(type)} is locked (${lock})\n`);
}

/** An HA resource's requested state is changed by the ha-manager handlers. */
async function haSetState(env: SimEnv, sid: string, state: string): Promise<void> {
  const { haSet } = await import('./ha-manager.js');
  await haSet(env, sid, { state });
}

/** `qm start` / `pct start`. */
export async function startGuest(env: SimEnv, type: GuestType, vmid: number): Promise<number> {
  const word = guestWord(type);
  if (type === 'lxc' && runState(env.paths, env.nodename, vmid)) throw new Die(`CT ${vmid} already running\n`);
  checkCfsQuorum(env.paths);
  if (isHaManaged(env.paths, vmid)) {
    const r = await runTask(env.ctx, env.paths.taskDir, 'hastart', String(vmid), async (task) => {
      task.print(`Requesting HA start for ${word} ${vmid}\n`);
      await haSetState(env, `${type === 'qemu' ? 'vm' : 'ct'}:${vmid}`, 'started');
    });
    return upidExit(r.ok);
  }
  return upidExit((await startGuestTask(env, type, vmid)).ok);
}

/** The start task itself, without asking HA (also what the HA resource agent runs). */
export async function startGuestTask(env: SimEnv, type: GuestType, vmid: number, opts: { haStarted?: boolean } = {}): Promise<TaskResult> {
  return runTask(
    env.ctx,
    env.paths.taskDir,
    taskType(type, 'start'),
    String(vmid),
    async () => {
      const g = loadConfig(env, type, vmid);
      if (g.conf['template'] === '1') throw new Die(type === 'qemu' ? "you can't start a vm if it's a template\n" : "you can't start a CT if it's a template\n");
      checkLock(type, g);
      if (type === 'qemu' && runState(env.paths, env.nodename, vmid)) throw new Die(`VM ${vmid} already running\n`);
      setRunning(env.paths, env.nodename, vmid, type);
    },
    opts,
  );
}

/** `qm stop` / `pct stop`. */
export async function stopGuest(env: SimEnv, type: GuestType, vmid: number): Promise<number> {
  const word = guestWord(type);
  if (type === 'lxc' && !runState(env.paths, env.nodename, vmid)) throw new Die(`CT ${vmid} not running\n`);
  if (isHaManaged(env.paths, vmid)) {
    const r = await runTask(env.ctx, env.paths.taskDir, 'hastop', String(vmid), async (task) => {
      task.print(`Requesting HA stop for ${word} ${vmid}\n`);
      const { queueCrmCommand } = await import('../core/ha.js');
      await queueCrmCommand(env.paths, `stop ${type === 'qemu' ? 'vm' : 'ct'}:${vmid} 0`, env.ctx.err);
    });
    return upidExit(r.ok);
  }
  return upidExit((await stopGuestTask(env, type, vmid)).ok);
}

/** The stop task itself, without asking HA (also what the HA resource agent runs). */
export async function stopGuestTask(env: SimEnv, type: GuestType, vmid: number, opts: { haStarted?: boolean } = {}): Promise<TaskResult> {
  const word = guestWord(type);
  return runTask(
    env.ctx,
    env.paths.taskDir,
    taskType(type, 'stop'),
    String(vmid),
    async () => {
      if (!existsSync(confFile(env.paths, type, env.nodename, vmid))) {
        throw new Die(`unable to find configuration file for ${word} ${vmid} on node '${env.nodename}'\n`);
      }
      if (!runState(env.paths, env.nodename, vmid)) return;
      checkLock(type, loadConfig(env, type, vmid));
      setStopped(env.paths, env.nodename, vmid);
    },
    opts,
  );
}

function macAddress(): string {
  const b = randomBytes(3);
  return `BC:24:11:${[...b].map((x) => x.toString(16).toUpperCase().padStart(2, '0')).join(':')}`;
}

/** Allocate a volume `<storage>:<size in GiB>` like vdisk_alloc; returns the volid and the lines the storage tools print. */
function allocVolume(env: SimEnv, vmid: number, spec: string, taken: Set<string>, kind: 'vm' | 'ct'): { volid: string; size: string; lines: string[] } {
  const m = /^([^:]+):(\d+(?:\.\d+)?)$/.exec(spec);
  if (!m) return { volid: spec, size: '', lines: [] };
  const sid = m[1] ?? '';
  const gib = m[2] ?? '1';
  const s = readStorages(env.paths).find((x) => x.id === sid);
  if (!s) throw new Die(`storage '${sid}' does not exist\n`);
  const bytes = Math.round(Number(gib) * 1024 ** 3);
  if (s.type === 'zfspool') {
    // a dataset on this node; zfs create prints nothing
    return { volid: allocZfsVolume(env.paths, s, env.nodename, vmid, kind, bytes, taken), size: `${gib}G`, lines: [] };
  }
  let n = 0;
  const name = (): string => `${kind === 'ct' && s.type !== 'lvmthin' ? 'subvol' : 'vm'}-${vmid}-disk-${n}`;
  while (taken.has(name())) n++;
  taken.add(name());
  if (s.type === 'lvmthin' || s.type === 'lvm') {
    return { volid: `${sid}:${name()}`, size: `${gib}G`, lines: [`  Logical volume "${name()}" created.\n`] };
  }
  const file = `${name().replace(/^subvol/, 'vm')}.raw`;
  const dir = s.props['path'] ?? `/mnt/pve/${sid}`;
  return {
    volid: `${sid}:${vmid}/${file}`,
    size: `${gib}G`,
    lines: [`Formatting '${dir}/images/${vmid}/${file}', fmt=raw size=${bytes}\n`],
  };
}

const VM_DISK = /^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$/;

/** `qm create` / `pct create` for seeding the lab: real config syntax, disks allocated on the named storage. */
export async function createGuest(env: SimEnv, type: GuestType, vmid: number, v: Values): Promise<number> {
  const word = guestWord(type);
  checkCfsQuorum(env.paths);
  const existing = vmlist(env.paths).get(vmid);
  if (existing) {
    const t = existing.type === 'qemu' ? 'VM' : 'CT';
    throw new Die(`unable to create ${word} ${vmid} - ${t} ${vmid} already exists on node '${existing.node}'\n`);
  }
  const conf: Record<string, string> = {};
  const skip = new Set(['vmid', 'node', 'ostemplate', 'start', 'storage', 'password', 'ssh-public-keys', 'force', 'unique', 'pool', 'restore', 'output-format']);
  for (const [k, val] of Object.entries(v)) if (!skip.has(k) && val !== undefined && !Array.isArray(val)) conf[k] = String(val);
  mkdirPve(env.paths, path.join(env.paths.etcPve, 'nodes', env.nodename, type === 'qemu' ? 'qemu-server' : 'lxc'));
  // reserve the id the way create_and_lock_config does: an empty config file
  saveGuest(env.paths, type, env.nodename, vmid, { conf: { lock: 'create' }, tail: '' });
  const r = await runTask(env.ctx, env.paths.taskDir, taskType(type, 'create'), String(vmid), async (task) => {
    const taken = new Set<string>();
    for (const key of Object.keys(conf).sort()) {
      const isDisk = type === 'qemu' ? VM_DISK.test(key) : key === 'rootfs' || /^mp\d+$/.test(key);
      if (!isDisk) continue;
      const p = parsePropList(conf[key] ?? '', type === 'qemu' ? 'file' : 'volume');
      const spec = p['file'] ?? p['volume'] ?? '';
      if (p['media'] === 'cdrom') continue;
      const a = allocVolume(env, vmid, spec, taken, type === 'qemu' ? 'vm' : 'ct');
      for (const l of a.lines) task.print(l);
      const rest = (conf[key] ?? '').split(',').slice(1).filter((x) => !x.startsWith('size='));
      conf[key] = [a.volid, ...rest, ...(a.size ? [`size=${a.size}`] : [])].join(',');
    }
    for (const key of Object.keys(conf)) {
      if (!/^net\d+$/.test(key)) continue;
      const p = parsePropList(conf[key] ?? '', type === 'qemu' ? 'model' : 'name');
      if (type === 'qemu') {
        const model = p['model'] ?? 'virtio';
        const mac = /^[0-9A-F:]{17}$/i.test(p[model] ?? '') ? p[model] : macAddress();
        const rest = (conf[key] ?? '').split(',').slice(1).filter((x) => !x.startsWith(`${model}=`));
        conf[key] = [`${model}=${mac}`, ...rest].join(',');
      } else if (!p['hwaddr']) {
        const parts = (conf[key] ?? '').split(',');
        parts.splice(parts.findIndex((x) => x.startsWith('bridge=')) + 1 || parts.length, 0, `hwaddr=${macAddress()}`);
        conf[key] = [...parts, ...(p['type'] ? [] : ['type=veth'])].join(',');
      }
    }
    if (type === 'qemu') {
      conf['meta'] = `creation-qemu=${qemuVersion(env.rel)},ctime=${Math.floor(Date.now() / 1000)}`;
      if (!conf['boot']) {
        const disks = Object.keys(conf).filter((k) => /^(ide|sata|scsi|virtio)\d+$/.test(k)).sort();
        const net = Object.keys(conf).filter((k) => /^net\d+$/.test(k)).sort();
        const order = [...disks.slice(0, 1), ...net.slice(0, 1)];
        conf['boot'] = `order=${order.join(';')}`;
      }
      conf['smbios1'] ??= `uuid=${randomUUID()}`;
      if (!conf['vmgenid'] || conf['vmgenid'] === '1') conf['vmgenid'] = randomUUID();
    } else {
      const tmpl = String(v['ostemplate'] ?? '');
      const file = tmpl.replace(/^[^:]+:(vztmpl\/)?/, '');
      task.print(`extracting archive '/var/lib/vz/template/cache/${file}'\n`);
      task.print('Detected container architecture: amd64\n');
      conf['arch'] ??= 'amd64';
      conf['ostype'] ??= /^(debian|ubuntu|centos|fedora|alpine|archlinux|opensuse|rockylinux|almalinux)/.exec(file)?.[1] ?? 'unmanaged';
      conf['memory'] ??= '512';
      conf['swap'] ??= '512';
      conf['hostname'] ??= `CT${vmid}`;
    }
    saveGuest(env.paths, type, env.nodename, vmid, { conf, tail: '' });
  });
  if (!r.ok) rmSync(confFile(env.paths, type, env.nodename, vmid), { force: true });
  else if (v['start']) return startGuest(env, type, vmid);
  return upidExit(r.ok);
}

/** `qm destroy` / `pct destroy`. */
export async function destroyGuest(env: SimEnv, type: GuestType, vmid: number, v: Values): Promise<number> {
  const word = guestWord(type);
  const sid = `${type === 'qemu' ? 'vm' : 'ct'}:${vmid}`;
  const early = (): boolean => {
    const g = loadConfig(env, type, vmid);
    if (g.conf['protection'] === '1') throw new Die(`can't remove ${word} ${vmid} - protection mode enabled\n`);
    if (type === 'lxc') checkLock(type, g);
    const ha = isHaManaged(env.paths, vmid);
    if (!v['purge'] && ha) throw new Die(`unable to remove ${word} ${vmid} - used in HA resources and purge parameter not set.\n`);
    // destroy without purge refuses a guest with replication jobs (check_for_existing_jobs)
    if (!v['purge']) {
      const job = Object.values(readReplicationConfig(env.paths).ids).find((j) => j.guest === vmid);
      if (job) throw new Die(`There is a replication job '${job.id}' for guest '${vmid}' - Please remove that first.\n`);
    }
    if (runState(env.paths, env.nodename, vmid)) {
      throw new Die(type === 'qemu' ? `VM ${vmid} is running - destroy failed\n` : `unable to destroy CT ${vmid} - container is running\n`);
    }
    return ha;
  };
  early();
  const r = await runTask(env.ctx, env.paths.taskDir, taskType(type, 'destroy'), String(vmid), async (task) => {
    const ha = early();
    const g = loadConfig(env, type, vmid);
    for (const vol of guestVolumes(type, g.conf)) {
      const s = readStorages(env.paths).find((x) => x.id === vol.storage);
      if (s && (s.type === 'lvmthin' || s.type === 'lvm')) task.print(`  Logical volume "${vol.volid.replace(/^[^:]+:/, '')}" successfully removed.\n`);
      if (s?.type === 'zfspool') freeVolume(env.paths, vol.volid, env.nodename);
    }
    if (v['purge']) {
      task.print(`purging ${word} ${vmid} from related configurations..\n`);
      if (ha) {
        writeResources(env.paths, readResources(env.paths).filter((x) => x.sid !== sid));
        task.print(`NOTE: removed ${word} ${vmid} from HA resource configuration.\n`);
      }
      await lockReplicationConfig(
        env.paths,
        async () => {
          const cfg = readReplicationConfig(env.paths);
          const ids = Object.keys(cfg.ids).filter((id) => cfg.ids[id]?.guest === vmid);
          for (const id of ids) delete cfg.ids[id];
          if (ids.length) writeReplicationConfig(env.paths, cfg);
        },
        env.ctx.err,
      );
    }
    rmSync(confFile(env.paths, type, env.nodename, vmid), { force: true });
  });
  return upidExit(r.ok);
}
