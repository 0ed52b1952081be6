/**
 * What pvestatd broadcasts about its node every 10 s (pve-manager PVE/Service/pvestatd.pm
 * update_node_status, update_qemu_status, update_lxc_status, update_storage_status), with the lab's
 * own figures. Keys and columns follow the release: PVE 9 sends `pve-node-9.0/`, `pve-vm-9.0/`,
 * `pve-storage-9.0/` with the longer rows, PVE 8 `pve2-node/`, `pve2.3-vm/`, `pve2-storage/`.
 * Reads the daemon's own memdb, never /etc/pve through the file system (the daemon serves it).
 */
import { loadavg, uptime } from 'node:os';
import { nodeFigures } from '../api/cluster-status.js';
import { guestRecordOf } from '../api/guests.js';
import { parseGuestConfig } from '../core/guest-config.js';
import { runState, type GuestType } from '../core/guests.js';
import type { SimPaths } from '../core/paths.js';
import { storageOnNode, storagesFromText, storageUsageOf, type StorageGuest } from '../core/storage.js';
import { DT_DIR, type MemDb } from './memdb.js';

/** The RRD update interval of pvestatd ($updatetime). */
export const RRD_INTERVAL_S = 10;

/** One broadcast_rrd call: key and data string. */
export interface RrdUpdate {
  key: string;
  data: string;
}

/** $generate_rrd_string: fields joined by ':', an undefined one as 'U'. */
export function rrdString(fields: ReadonlyArray<string | number | undefined>): string {
  return fields.map((f) => (f === undefined ? 'U' : String(f))).join(':');
}

/** A node's figures as update_node_status sends them. */
export interface NodeRrdFigures {
  uptime: number;
  /** subscription level, '' without one */
  sublevel: string;
  ctime: number;
  /** 1-minute load average as /proc/loadavg prints it */
  avg1: string;
  maxcpu: number;
  cpu: number;
  wait: number;
  memtotal: number;
  memused: number;
  swaptotal: number;
  swapused: number;
  roottotal: number;
  rootused: number;
  netin: number;
  netout: number;
}

/** update_node_status's key and data string. */
export function nodeRrd(major: number, node: string, f: NodeRrdFigures): RrdUpdate {
  const base = [f.uptime, f.sublevel, f.ctime, f.avg1, f.maxcpu, f.cpu, f.wait, f.memtotal, f.memused, f.swaptotal, f.swapused, f.roottotal, f.rootused, f.netin, f.netout];
  if (major < 9) return { key: `pve2-node/${node}`, data: rrdString(base) };
  // memavailable, arcsize, then the cpu some, io some/full and memory some/full pressure (avg10)
  return { key: `pve-node-9.0/${node}`, data: rrdString([...base, f.memtotal - f.memused, 0, '0.00', '0.00', '0.00', '0.00', '0.00']) };
}

/** update_qemu_status / update_lxc_status for one guest record (guestRecordOf's fields). */
export function guestRrd(major: number, type: GuestType, vmid: number, r: Record<string, unknown>, ctime: number): RrdUpdate {
  const n = (k: string): number | undefined => (typeof r[k] === 'number' ? (r[k] as number) : undefined);
  const name = String(r['name'] ?? '');
  const status = String(r['status'] ?? 'stopped');
  const template = r['template'] ? String(r['template']) : '0';
  const running = r['pid'] !== undefined;
  const head = [running ? n('uptime') : 0, name, status, template, ctime, n('cpus')];
  const base = running
    ? [...head, n('cpu'), n('maxmem'), n('mem'), n('maxdisk'), n('disk'), n('netin'), n('netout'), n('diskread'), n('diskwrite')]
    : [...head, undefined, n('maxmem'), undefined, n('maxdisk'), n('disk'), undefined, undefined, undefined, undefined];
  if (major < 9) return { key: `pve2.3-vm/${vmid}`, data: rrdString(base) };
  // memhost (a VM's only), then six pressure columns
  const extra = running ? [type === 'qemu' ? n('mem') : undefined, 0, 0, 0, 0, 0, 0] : [undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  return { key: `pve-vm-9.0/${vmid}`, data: rrdString([...base, ...extra]) };
}

/** update_storage_status for one active storage. */
export function storageRrd(major: number, node: string, storeid: string, ctime: number, total: number, used: number): RrdUpdate {
  return { key: major < 9 ? `pve2-storage/${node}/${storeid}` : `pve-storage-9.0/${node}/${storeid}`, data: rrdString([ctime, total, used]) };
}

function text(memdb: MemDb, p: string): string | undefined {
  const te = memdb.lookup(p);
  return te && te.type !== DT_DIR ? (te.data?.toString('utf8') ?? '') : undefined;
}

function guestsOf(memdb: MemDb, node: string): Array<StorageGuest & { vmid: number }> {
  const out: Array<StorageGuest & { vmid: number }> = [];
  for (const [dir, type] of [['qemu-server', 'qemu'], ['lxc', 'lxc']] as const) {
    let files: string[] = [];
    try {
      files = memdb.list(`nodes/${node}/${dir}`).map((e) => e.name);
    } catch {
      files = [];
    }
    for (const f of files) {
      const m = /^([1-9]\d*)\.conf$/.exec(f);
      const t = m ? text(memdb, `nodes/${node}/${dir}/${f}`) : undefined;
      if (m && t !== undefined) out.push({ vmid: Number(m[1]), type, node, conf: parseGuestConfig(t).conf });
    }
  }
  return out.sort((a, b) => a.vmid - b.vmid);
}

function allGuests(memdb: MemDb): StorageGuest[] {
  let nodes: string[] = [];
  try {
    nodes = memdb.list('nodes').filter((e) => e.type === DT_DIR).map((e) => e.name);
  } catch {
    nodes = [];
  }
  return nodes.flatMap((n) => guestsOf(memdb, n));
}

/** Everything this node's pvestatd would broadcast now: the node, its guests, its active storages. */
export function localRrdUpdates(memdb: MemDb, paths: SimPaths, node: string, major: number, ctime: number): RrdUpdate[] {
  const out: RrdUpdate[] = [];
  let guestMem = 0;
  const guests: RrdUpdate[] = [];
  for (const g of guestsOf(memdb, node)) {
    const r = guestRecordOf(major, g.type, g.vmid, g.conf, runState(paths, node, g.vmid));
    if (r['pid'] !== undefined) guestMem += Number(r['mem'] ?? 0);
    guests.push(guestRrd(major, g.type, g.vmid, r, ctime));
  }
  const f = nodeFigures(guestMem);
  out.push(
    nodeRrd(major, node, {
      uptime: Math.floor(uptime()),
      sublevel: '',
      ctime,
      avg1: (loadavg()[0] ?? 0).toFixed(2),
      maxcpu: f.maxcpu,
      cpu: f.cpu,
      wait: 0,
      memtotal: f.maxmem,
      memused: f.mem,
      swaptotal: 0,
      swapused: 0,
      roottotal: f.maxdisk,
      rootused: f.disk,
      netin: 0,
      netout: 0,
    }),
  );
  out.push(...guests);
  const everyGuest = allGuests(memdb);
  for (const s of storagesFromText(text(memdb, 'storage.cfg') ?? '')) {
    if (!storageOnNode(s, node) || !s.enabled) continue;
    const u = storageUsageOf(paths, s, node, everyGuest);
    out.push(storageRrd(major, node, s.id, ctime, u.total, u.used));
  }
  return out;
}
