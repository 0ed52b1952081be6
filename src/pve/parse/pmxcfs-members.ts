/**
 * `/etc/pve/.members`: pmxcfs's cluster information (pve-cluster src/pmxcfs/status.c
 * cfs_create_memberlist_msg). It is the very document `pvesh get /cluster/status` is built from
 * (PVE::Cluster::get_members asks pmxcfs for it over IPC, CFS_IPC_GET_CLUSTER_INFO), read as a file.
 */
import { ParseError } from './errors.js';
import { parseJsonText } from './json-text.js';
import { clusterStatusFromJson, type ClusterStatus } from './pvesh-cluster-status.js';

const TOOL = '/etc/pve/.members';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The /cluster/status view of `.members`, entry by entry as PVE::API2::Cluster status builds it:
 * the cluster entry, then one node entry per nodelist member, `local` when it is pmxcfs's own
 * node name. A document without a nodelist (pmxcfs knows no cluster) gives no cluster and no nodes.
 */
export function parsePmxcfsMembers(text: string): ClusterStatus {
  const doc = parseJsonText(TOOL, text);
  if (!isObject(doc)) throw new ParseError(TOOL, 'expected a JSON object', text);
  const nodename = doc['nodename'];
  if (typeof nodename !== 'string') throw new ParseError(TOOL, "no 'nodename'", text);
  const nodelist = doc['nodelist'];
  if (nodelist === undefined) return { nodes: [] };
  if (!isObject(nodelist)) throw new ParseError(TOOL, "'nodelist' is not an object", text);
  const entries: unknown[] = [];
  const cluster = doc['cluster'];
  if (isObject(cluster)) entries.push({ ...cluster, type: 'cluster' });
  for (const [name, v] of Object.entries(nodelist)) {
    if (!isObject(v)) throw new ParseError(TOOL, `nodelist entry '${name}' is not an object`, text);
    const entry: Record<string, unknown> = { type: 'node', name, nodeid: v['id'], online: v['online'], local: name === nodename ? 1 : 0 };
    if (v['ip'] !== undefined) entry['ip'] = v['ip'];
    entries.push(entry);
  }
  try {
    return clusterStatusFromJson(entries);
  } catch (e) {
    if (e instanceof ParseError) throw new ParseError(TOOL, e.message.slice(e.tool.length + 2), text);
    throw e;
  }
}
