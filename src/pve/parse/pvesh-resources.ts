/** `pvesh get /cluster/resources --output-format json` (reference §1.7). */
import { z } from 'zod';
import { isStorageId, nodeNameProblem } from '../names.js';
import { ParseError } from './errors.js';
import { entryType, parseJsonText, validate, zFlag, zInt, zNum } from './json.js';

const TOOL = 'pvesh get /cluster/resources';

/**
 * A VM or container. Statistics (name, sizes, template) are absent when the owning node has not
 * reported any, e.g. while it is offline; status is then `unknown`.
 */
export interface GuestResource {
  type: 'qemu' | 'lxc';
  vmid: number;
  name?: string;
  node: string;
  status: string;
  template: boolean;
  lock?: string;
  /** HA state for HA-managed guests, e.g. `started` */
  hastate?: string;
  maxmem?: number;
  mem?: number;
  maxdisk?: number;
  tags?: string;
  pool?: string;
}

/** A cluster node; sizes are absent while it is offline. */
export interface NodeResource {
  node: string;
  /** online | offline | unknown */
  status: string;
  online: boolean;
  maxcpu?: number;
  maxmem?: number;
  mem?: number;
  uptime?: number;
  level?: string;
  hastate?: string;
}

/** A storage as seen from one node (one entry per node that has it). */
export interface StorageResource {
  storage: string;
  node: string;
  /** available | unknown */
  status: string;
  plugintype: string;
  shared: boolean;
  content: string[];
  disk?: number;
  maxdisk?: number;
}

/** The entries of /cluster/resources that pvx uses; other types (pool, sdn, network) are dropped. */
export interface ClusterResources {
  guests: GuestResource[];
  nodes: NodeResource[];
  storages: StorageResource[];
}

// node names, storage IDs and VMIDs become command arguments: only what PVE itself accepts is passed on
const nodeName = z.string().refine((v) => nodeNameProblem(v) === undefined, 'is not a node name');
// PVE's pve-storage-id and pve-vmid formats
const storageId = z.string().refine(isStorageId, 'is not a storage ID');
const vmid = zInt.refine((v) => Number.isInteger(v) && v >= 100 && v <= 999_999_999, 'is not a VMID');

const guestSchema = z.object({
  type: z.enum(['qemu', 'lxc']),
  vmid,
  node: nodeName,
  name: z.string().optional(),
  status: z.string().optional(),
  template: zFlag.optional(),
  lock: z.string().optional(),
  hastate: z.string().optional(),
  maxmem: zNum.optional(),
  mem: zNum.optional(),
  maxdisk: zNum.optional(),
  tags: z.string().optional(),
  pool: z.string().optional(),
});

const nodeSchema = z.object({
  node: nodeName,
  status: z.string().optional(),
  maxcpu: zNum.optional(),
  maxmem: zNum.optional(),
  mem: zNum.optional(),
  uptime: zNum.optional(),
  level: z.string().nullable().optional(),
  hastate: z.string().optional(),
});

const storageSchema = z.object({
  storage: storageId,
  node: nodeName,
  status: z.string().optional(),
  plugintype: z.string().optional(),
  shared: zFlag.optional(),
  content: z.string().optional(),
  disk: zNum.optional(),
  maxdisk: zNum.optional(),
});

/** Copy the defined optional fields only, so results compare cleanly and carry no `undefined` keys. */
function withOptional<T extends object>(base: T, extra: Partial<T>): T {
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined && v !== null && v !== '') (base as Record<string, unknown>)[k] = v;
  }
  return base;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parse /cluster/resources; unknown entry types are ignored, malformed known ones are errors. */
export function parseClusterResources(text: string): ClusterResources {
  return clusterResourcesFromJson(parseJsonText(TOOL, text));
}

/** Same as parseClusterResources for an already decoded document. */
export function clusterResourcesFromJson(doc: unknown): ClusterResources {
  if (!Array.isArray(doc)) throw new ParseError(TOOL, 'expected a JSON array', JSON.stringify(doc) ?? String(doc));
  const out: ClusterResources = { guests: [], nodes: [], storages: [] };
  doc.forEach((entry: unknown, i) => {
    const type = entryType(entry);
    if (type === 'qemu' || type === 'lxc') {
      const g = validate(TOOL, guestSchema, entry, `entry ${i} (${type})`);
      out.guests.push(
        withOptional<GuestResource>(
          { type: g.type, vmid: g.vmid, node: g.node, status: g.status ?? 'unknown', template: g.template ?? false },
          { name: g.name, lock: g.lock, hastate: g.hastate, maxmem: g.maxmem, mem: g.mem, maxdisk: g.maxdisk, tags: g.tags, pool: g.pool },
        ),
      );
    } else if (type === 'node') {
      const n = validate(TOOL, nodeSchema, entry, `entry ${i} (node)`);
      const status = n.status ?? 'unknown';
      out.nodes.push(
        withOptional<NodeResource>(
          { node: n.node, status, online: status === 'online' },
          { maxcpu: n.maxcpu, maxmem: n.maxmem, mem: n.mem, uptime: n.uptime, level: n.level ?? undefined, hastate: n.hastate },
        ),
      );
    } else if (type === 'storage') {
      const s = validate(TOOL, storageSchema, entry, `entry ${i} (storage)`);
      out.storages.push(
        withOptional<StorageResource>(
          {
            storage: s.storage,
            node: s.node,
            status: s.status ?? 'unknown',
            plugintype: s.plugintype ?? '',
            shared: s.shared ?? false,
            content: (s.content ?? '').split(',').filter((c) => c.length > 0),
          },
          { disk: s.disk, maxdisk: s.maxdisk },
        ),
      );
    } else if (type === undefined) {
      throw new ParseError(TOOL, `entry ${i} is not an object with a type`, JSON.stringify(entry) ?? String(entry));
    }
  });
  // API order follows Perl hash order; sort so callers and snapshots see a stable order
  out.guests.sort((a, b) => a.vmid - b.vmid);
  out.nodes.sort((a, b) => cmp(a.node, b.node));
  out.storages.sort((a, b) => cmp(a.node, b.node) || cmp(a.storage, b.storage));
  return out;
}
