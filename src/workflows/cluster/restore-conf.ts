/**
 * The corosync.conf a restored node gets. When members of the cluster still run, theirs is the
 * truth: nodes removed since the backup are added back from their backup's node block, with a
 * higher config_version, so corosync and pmxcfs on every node take it. With no member left, the
 * newest backup configuration is used as it is.
 */
import { ParseError } from '../../pve/parse/errors.js';
import { parseCorosyncConf, serializeCorosyncConf, summarizeCorosyncConf, type CorosyncNode, type CorosyncQdevice } from '../../pve/parse/corosync-conf.js';

/** The configuration to restore. */
export interface RestoreConf {
  text: string;
  configVersion: number;
  nodes: string[];
  /** nodes were added back to the running configuration */
  membersChange: boolean;
  source: 'cluster' | 'backup';
  /** the QDevice the configuration has: its daemon must run on every restored node */
  qdevice?: CorosyncQdevice;
}

/** Why no configuration can be chosen. */
export class RestoreConfError extends Error {}

function nodeName(n: CorosyncNode): string {
  return n.name ?? n.ring0_addr ?? '';
}

function parse(what: string, text: string) {
  try {
    const conf = parseCorosyncConf(text);
    return { conf, summary: summarizeCorosyncConf(conf) };
  } catch (e) {
    if (e instanceof ParseError) throw new RestoreConfError(`${what} is not a readable corosync.conf: ${e.message}`);
    throw e;
  }
}

/**
 * Choose the configuration for `restoring` nodes from the live one (a member's
 * /etc/corosync/corosync.conf, if any) and each node's backup corosync.conf.
 */
export function chooseRestoreConf(cluster: string, live: string | undefined, backups: ReadonlyMap<string, string>, restoring: readonly string[]): RestoreConf {
  const parsedBackups = new Map([...backups].map(([node, text]) => [node, { text, ...parse(`the backup of ${node}`, text) }]));
  for (const [node, b] of parsedBackups) {
    if (b.summary.clusterName !== cluster) throw new RestoreConfError(`the backup of ${node} is of cluster '${b.summary.clusterName}', not '${cluster}'`);
  }
  if (live === undefined) {
    const newest = [...parsedBackups.values()].sort((a, b) => b.summary.configVersion - a.summary.configVersion)[0];
    if (!newest) throw new RestoreConfError('no backup holds a corosync.conf');
    const names = newest.summary.nodes.map((n) => n.name);
    const absent = restoring.filter((n) => !names.includes(n));
    if (absent.length > 0) throw new RestoreConfError(`the newest backup configuration does not list ${absent.join(', ')}`);
    return { text: newest.text, configVersion: newest.summary.configVersion, nodes: names, membersChange: false, source: 'backup', ...qdeviceField(newest.summary.qdevice) };
  }
  const cur = parse('the running cluster configuration', live);
  if (cur.summary.clusterName !== cluster) throw new RestoreConfError(`the running members are in cluster '${cur.summary.clusterName}', not '${cluster}'`);
  const listed = new Set(cur.conf.nodelist.map(nodeName));
  const added: CorosyncNode[] = [];
  for (const node of restoring) {
    if (listed.has(node)) continue;
    const b = parsedBackups.get(node);
    const block = b?.conf.nodelist.find((n) => nodeName(n) === node);
    if (!block) throw new RestoreConfError(`${node} is not in the running configuration and its backup has no node block for it`);
    const clash = cur.conf.nodelist.find((n) => n.nodeid === block.nodeid || (block.ring0_addr !== undefined && n.ring0_addr === block.ring0_addr));
    if (clash) throw new RestoreConfError(`${node} cannot be added back: node ${nodeName(clash)} now has its nodeid ${block.nodeid ?? '?'} or address ${block.ring0_addr ?? '?'}`);
    added.push({ ...block });
  }
  if (added.length === 0) {
    return { text: live, configVersion: cur.summary.configVersion, nodes: [...listed].sort(), membersChange: false, source: 'cluster', ...qdeviceField(cur.summary.qdevice) };
  }
  const version = Math.max(cur.summary.configVersion, ...[...parsedBackups.values()].map((b) => b.summary.configVersion)) + 1;
  const conf = { ...cur.conf, totem: { ...cur.conf.totem, config_version: String(version) }, nodelist: [...cur.conf.nodelist, ...added] };
  return { text: serializeCorosyncConf(conf), configVersion: version, nodes: conf.nodelist.map(nodeName).sort(), membersChange: true, source: 'cluster', ...qdeviceField(cur.summary.qdevice) };
}

function qdeviceField(q: CorosyncQdevice | undefined): { qdevice?: CorosyncQdevice } {
  return q ? { qdevice: q } : {};
}

/** The votes each node of a configuration has (corosync's default is 1). */
export function votesOf(text: string): Map<string, number> {
  const { summary } = parse('the configuration', text);
  return new Map(summary.nodes.map((n) => [n.name, n.quorumVotes]));
}
