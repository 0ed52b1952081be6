/** Guests: their config files in /etc/pve and their running state on the shared lab root. */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseGuestConfig, parsePropList, sizeToBytes, writeGuestConfig, type GuestConfig } from './guest-config.js';
import type { SimPaths } from './paths.js';
import { readText, writeAtomic } from './pvefs.js';

/** qemu (VM) or lxc (CT). */
export type GuestType = 'qemu' | 'lxc';

/** Config sub-directory of a guest type. */
export function confSubdir(type: GuestType): string {
  return type === 'qemu' ? 'qemu-server' : 'lxc';
}

/** `nodes/<node>/qemu-server/<vmid>.conf`, as PVE names it in messages. */
export function cfsConfigPath(type: GuestType, node: string, vmid: number | string): string {
  return `nodes/${node}/${confSubdir(type)}/${vmid}.conf`;
}

/** Absolute path of a guest config. */
export function confFile(paths: SimPaths, type: GuestType, node: string, vmid: number | string): string {
  return path.join(paths.etcPve, cfsConfigPath(type, node, vmid));
}

/** Load a guest config, or undefined when the file does not exist. */
export function loadGuest(paths: SimPaths, type: GuestType, node: string, vmid: number | string): GuestConfig | undefined {
  const text = readText(confFile(paths, type, node, vmid));
  return text === undefined ? undefined : parseGuestConfig(text);
}

/** Write a guest config atomically. */
export function saveGuest(paths: SimPaths, type: GuestType, node: string, vmid: number | string, g: GuestConfig): void {
  writeAtomic(paths, confFile(paths, type, node, vmid), writeGuestConfig(g), 0o640);
}

/** Running state of a guest, kept beside the node's lab directory. */
export interface RunState {
  type: GuestType;
  /** epoch seconds */
  startedAt: number;
  pid: number;
}

function runFile(paths: SimPaths, node: string, vmid: number | string): string {
  return path.join(paths.guestState(node), `${vmid}.json`);
}

/** The running state of a guest on `node`, undefined when stopped. */
export function runState(paths: SimPaths, node: string, vmid: number | string): RunState | undefined {
  try {
    return JSON.parse(readFileSync(runFile(paths, node, vmid), 'utf8')) as RunState;
  } catch {
    return undefined;
  }
}

/** Mark a guest running on `node`. */
export function setRunning(paths: SimPaths, node: string, vmid: number, type: GuestType): RunState {
  mkdirSync(paths.guestState(node), { recursive: true });
  const st: RunState = { type, startedAt: Math.floor(Date.now() / 1000), pid: 10000 + ((vmid * 7919) % 50000) };
  writeFileSync(runFile(paths, node, vmid), `${JSON.stringify(st)}\n`);
  return st;
}

/** Mark a guest stopped. */
export function setStopped(paths: SimPaths, node: string, vmid: number): void {
  rmSync(runFile(paths, node, vmid), { force: true });
}

/** Move a running guest's state from one node to another (end of a live migration). */
export function moveRunState(paths: SimPaths, from: string, to: string, vmid: number): void {
  const st = runState(paths, from, vmid);
  if (!st) return;
  mkdirSync(paths.guestState(to), { recursive: true });
  renameSync(runFile(paths, from, vmid), runFile(paths, to, vmid));
}

/** A volume referenced by a guest config. */
export interface GuestVolume {
  key: string;
  volid: string;
  storage: string;
  size: number;
  cdrom: boolean;
  /** attached (in use), or an unusedN entry */
  ref: 'attached' | 'unused';
}

const QEMU_DISK = /^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$|^unused\d+$/;
const LXC_DISK = /^rootfs$|^mp\d+$|^unused\d+$/;

/** Volumes of a guest config (drives, root filesystem, mount points, unused disks). */
export function guestVolumes(type: GuestType, conf: Record<string, string>): GuestVolume[] {
  const out: GuestVolume[] = [];
  const re = type === 'qemu' ? QEMU_DISK : LXC_DISK;
  for (const key of Object.keys(conf).sort()) {
    if (!re.test(key)) continue;
    const p = parsePropList(conf[key] ?? '', type === 'qemu' ? 'file' : 'volume');
    const volid = p['file'] ?? p['volume'] ?? '';
    const cdrom = p['media'] === 'cdrom';
    if (volid === 'none' || volid === '' || volid.startsWith('/')) continue;
    const storage = volid.includes(':') ? volid.slice(0, volid.indexOf(':')) : '';
    out.push({ key, volid, storage, size: sizeToBytes(p['size'] ?? '0'), cdrom, ref: key.startsWith('unused') ? 'unused' : 'attached' });
  }
  return out;
}

/** Size of the boot disk of a VM (`maxdisk`), or of a CT's root filesystem. */
export function bootDiskSize(type: GuestType, conf: Record<string, string>): number {
  const vols = guestVolumes(type, conf).filter((v) => !v.cdrom && v.ref === 'attached');
  if (type === 'lxc') return vols.find((v) => v.key === 'rootfs')?.size ?? 0;
  const order = /order=([^,]+)/.exec(conf['boot'] ?? '')?.[1]?.split(';') ?? [];
  for (const dev of order) {
    const v = vols.find((x) => x.key === dev);
    if (v) return v.size;
  }
  const first = vols.filter((v) => /^(ide|sata|scsi|virtio)\d+$/.test(v.key));
  return first[0]?.size ?? 0;
}

/** Configured memory in bytes (PVE's defaults: 512 MiB for both guest types). */
export function memBytes(conf: Record<string, string>): number {
  const m = /^(?:current=)?(\d+)/.exec(conf['memory'] ?? '512');
  return Number(m?.[1] ?? 512) * 1024 * 1024;
}

/** Number of vCPUs (sockets × cores for VMs, cores for CTs). */
export function cpuCount(type: GuestType, conf: Record<string, string>, hostCpus: number): number {
  if (type === 'qemu') return Number(conf['sockets'] ?? 1) * Number(conf['cores'] ?? 1);
  return conf['cores'] ? Number(conf['cores']) : hostCpus;
}
