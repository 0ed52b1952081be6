/** `pvesh get /cluster/status --output-format json` (reference §1.7). */
import { createRequire } from 'node:module';
import type { z as Zod } from 'zod';
import { clusterNameProblem, isIpAddress, nodeNameProblem } from '../names.js';
import { ParseError } from './errors.js';
import { entryType, jsonScalarsOf, parseJsonText, validate } from './json-text.js';

const TOOL = 'pvesh get /cluster/status';

/** The cluster entry; only present when the node is part of a cluster. */
export interface ClusterSummary {
  name: string;
  /** configured nodes, offline ones included */
  nodes: number;
  quorate: boolean;
  /** corosync.conf config_version */
  version: number;
}

/** One configured node as /cluster/status reports it. */
export interface ClusterStatusNode {
  name: string;
  /** 0 on a standalone node */
  nodeid: number;
  online: boolean;
  local: boolean;
  ip?: string;
  /** subscription level, '' when none or unknown */
  level: string;
}

/** Parsed /cluster/status; `cluster` is absent on a standalone node, which reports itself with nodeid 0. */
export interface ClusterStatus {
  cluster?: ClusterSummary;
  nodes: ClusterStatusNode[];
}

/** The zod schemas of a cluster entry and a node entry, built with the zod given. */
export function entrySchemasOf(z: typeof Zod) {
  const { zInt, zFlag } = jsonScalarsOf(z);
  return {
    // names become arguments and backup paths: only what PVE itself accepts is passed on
    cluster: z.object({
      name: z.string().refine((v) => clusterNameProblem(v) === undefined, 'is not a cluster name'),
      nodes: zInt,
      quorate: zFlag.optional(),
      version: zInt,
    }),
    // online/level may be missing for nodes pmxcfs has no statistics for (see API2/Cluster.pm)
    node: z.object({
      name: z.string().refine((v) => nodeNameProblem(v) === undefined, 'is not a node name'),
      nodeid: zInt,
      online: zFlag.optional(),
      local: zFlag.optional(),
      ip: z.string().refine(isIpAddress, 'is not an IP address').optional(),
      level: z.string().nullable().optional(),
    }),
  };
}

let schemas: ReturnType<typeof entrySchemasOf> | undefined;
/** The schemas, built on first need: required, not imported, as only an entry the quick check did not accept needs zod. */
function zodSchemas(): ReturnType<typeof entrySchemasOf> {
  schemas ??= entrySchemasOf((createRequire(import.meta.url)('zod') as { z: typeof Zod }).z);
  return schemas;
}

/** zInt of a well-formed value, else undefined. */
function quickInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  return typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

/** zFlag.optional() of a well-formed value (absent: undefined), else 'bad'. */
function quickFlag(v: unknown): boolean | undefined | 'bad' {
  if (v === undefined) return undefined;
  if (v === 1 || v === '1' || v === true) return true;
  if (v === 0 || v === '0' || v === false || v === null) return false;
  return 'bad';
}

/**
 * The cluster entry when it keeps every rule of its zod schema, else undefined (zod then judges
 * it and names what is wrong): zod's import costs more than a whole membership read's parsing.
 */
export function quickClusterEntry(e: Record<string, unknown>): ClusterSummary | undefined {
  const { name } = e;
  const nodes = quickInt(e['nodes']);
  const version = quickInt(e['version']);
  const quorate = quickFlag(e['quorate']);
  if (typeof name !== 'string' || clusterNameProblem(name) !== undefined || nodes === undefined || version === undefined || quorate === 'bad') return undefined;
  return { name, nodes, quorate: quorate ?? false, version };
}

/** The node entry when it keeps every rule of its zod schema, else undefined (as quickClusterEntry). */
export function quickNodeEntry(e: Record<string, unknown>): ClusterStatusNode | undefined {
  const { name, ip, level } = e;
  const nodeid = quickInt(e['nodeid']);
  const online = quickFlag(e['online']);
  const local = quickFlag(e['local']);
  if (typeof name !== 'string' || nodeNameProblem(name) !== undefined || nodeid === undefined || online === 'bad' || local === 'bad') return undefined;
  if (ip !== undefined && (typeof ip !== 'string' || !isIpAddress(ip))) return undefined;
  if (level !== undefined && level !== null && typeof level !== 'string') return undefined;
  const node: ClusterStatusNode = { name, nodeid, online: online ?? false, local: local ?? false, level: level ?? '' };
  if (ip !== undefined) node.ip = ip;
  return node;
}

/** Parse /cluster/status JSON; nodes come back sorted by nodeid, then name (the API order is random). */
export function parseClusterStatus(text: string): ClusterStatus {
  return clusterStatusFromJson(parseJsonText(TOOL, text));
}

/** Same as parseClusterStatus for an already decoded document. */
export function clusterStatusFromJson(doc: unknown): ClusterStatus {
  if (!Array.isArray(doc)) throw new ParseError(TOOL, 'expected a JSON array', JSON.stringify(doc) ?? String(doc));
  const out: ClusterStatus = { nodes: [] };
  doc.forEach((entry: unknown, i) => {
    const type = entryType(entry);
    if (type === 'cluster') {
      const quick = quickClusterEntry(entry as Record<string, unknown>);
      if (quick) {
        out.cluster = quick;
        return;
      }
      const c = validate(TOOL, zodSchemas().cluster, entry, `entry ${i} (cluster)`);
      out.cluster = { name: c.name, nodes: c.nodes, quorate: c.quorate ?? false, version: c.version };
    } else if (type === 'node') {
      const quick = quickNodeEntry(entry as Record<string, unknown>);
      if (quick) {
        out.nodes.push(quick);
        return;
      }
      const n = validate(TOOL, zodSchemas().node, entry, `entry ${i} (node)`);
      const node: ClusterStatusNode = {
        name: n.name,
        nodeid: n.nodeid,
        online: n.online ?? false,
        local: n.local ?? false,
        level: n.level ?? '',
      };
      if (n.ip !== undefined) node.ip = n.ip;
      out.nodes.push(node);
    } else if (type === undefined) {
      throw new ParseError(TOOL, `entry ${i} is not an object with a type`, JSON.stringify(entry) ?? String(entry));
    }
  });
  out.nodes.sort((a, b) => a.nodeid - b.nodeid || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}
