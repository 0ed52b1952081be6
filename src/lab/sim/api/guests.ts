/** Guest list records of /nodes/<node>/qemu and /nodes/<node>/lxc (the data behind qm list and pct list). */
import { cpus } from 'node:os';
import path from 'node:path';
import type { SimEnv } from '../core/env.js';
import { bootDiskSize, confSubdir, cpuCount, guestVolumes, loadGuest, memBytes, runState, type GuestType, type RunState } from '../core/guests.js';
import { listDir } from '../core/pvefs.js';

/** VMIDs with a config of `type` on `node`. */
export function guestIds(env: SimEnv, type: GuestType, node: string): number[] {
  return listDir(path.join(env.paths.etcPve, 'nodes', node, confSubdir(type)))
    .map((f) => /^(\d+)\.conf$/.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** One record of the vmlist API of a guest type. */
export function guestRecord(env: SimEnv, type: GuestType, node: string, vmid: number): Record<string, unknown> | undefined {
  const g = loadGuest(env.paths, type, node, vmid);
  if (!g) return undefined;
  return guestRecordOf(env.rel.major, type, vmid, g.conf, runState(env.paths, node, vmid));
}

/** The record of a guest from its config and running state (the lab's own figures for a running one). */
export function guestRecordOf(major: number, type: GuestType, vmid: number, c: Record<string, string>, st: RunState | undefined): Record<string, unknown> {
  const running = st !== undefined;
  const maxmem = memBytes(c);
  const uptime = st ? Math.max(0, Math.floor(Date.now() / 1000) - st.startedAt) : 0;
  const rec: Record<string, unknown> = {
    vmid,
    name: type === 'qemu' ? (c['name'] ?? `VM ${vmid}`) : (c['hostname'] ?? `CT${vmid}`),
    status: running ? 'running' : 'stopped',
    cpus: cpuCount(type, c, cpus().length || 1),
    cpu: running ? 0.0123 : 0,
    maxmem,
    mem: running ? Math.floor(maxmem * 0.37) : 0,
    maxdisk: bootDiskSize(type, c),
    disk: type === 'lxc' && running ? Math.floor(bootDiskSize(type, c) * 0.21) : 0,
    netin: running ? uptime * 1187 : 0,
    netout: running ? uptime * 731 : 0,
    diskread: running ? uptime * 40960 : 0,
    diskwrite: running ? uptime * 20480 : 0,
    uptime,
  };
  if (st) rec['pid'] = st.pid;
  if (c['template'] === '1') rec['template'] = 1;
  if (c['lock']) rec['lock'] = c['lock'];
  if (c['tags']) rec['tags'] = c['tags'];
  if (type === 'lxc') {
    rec['type'] = 'lxc';
    const swap = Number(c['swap'] ?? 512) * 1024 * 1024;
    rec['maxswap'] = swap;
    rec['swap'] = 0;
  } else {
    rec['serial'] = Object.keys(c).some((k) => /^serial\d$/.test(k)) ? 1 : undefined;
    if (rec['serial'] === undefined) delete rec['serial'];
    if (major >= 9) rec['memhost'] = rec['mem'];
  }
  return rec;
}

/** Records of every guest of `type` on `node`. */
export function guestRecords(env: SimEnv, type: GuestType, node: string): Array<Record<string, unknown>> {
  return guestIds(env, type, node)
    .map((id) => guestRecord(env, type, node, id))
    .filter((r): r is Record<string, unknown> => r !== undefined);
}

/** Volumes of a guest on storages that are not shared. */
export function localVolumes(env: SimEnv, type: GuestType, conf: Record<string, string>, shared: (sid: string) => boolean): string[] {
  return guestVolumes(type, conf)
    .filter((v) => !v.cdrom && v.storage && !shared(v.storage))
    .map((v) => v.volid);
}
