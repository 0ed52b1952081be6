/** `pvesh get /cluster/status --output-format json` (reference §1.7). */
import { z } from 'zod';
import { clusterNameProblem, isIpAddress, nodeNameProblem } from '../names.js';
import { ParseError } from './errors.js';
import { entryType, parseJsonText, validate, zFlag, zInt } from './json.js';

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

// names become arguments and backup paths: only what PVE itself accepts is passed on
const clusterSchema = z.object({
  name: z.string().refine((v) => clusterNameProblem(v) === undefined, 'is not a cluster name'),
  nodes: zInt,
  quorate: zFlag.optional(),
  version: zInt,
});

// online/level may be missing for nodes pmxcfs has no statistics for (see API2/Cluster.pm)
const nodeSchema = z.object({
  name: z.string().refine((v) => nodeNameProblem(v) === undefined, 'is not a node name'),
  nodeid: zInt,
  online: zFlag.optional(),
  local: zFlag.optional(),
  ip: z.string().refine(isIpAddress, 'is not an IP address').optional(),
  level: z.string().nullable().optional(),
});

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
      const c = validate(TOOL, clusterSchema, entry, `entry ${i} (cluster)`);
      out.cluster = { name: c.name, nodes: c.nodes, quorate: c.quorate ?? false, version: c.version };
    } else if (type === 'node') {
      const n = validate(TOOL, nodeSchema, entry, `entry ${i} (node)`);
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
