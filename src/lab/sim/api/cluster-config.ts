/** /cluster/config API handlers shared by pvecm and pvesh (PVE::API2::ClusterConfig). */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { checkCfsQuorum } from '../core/cfs.js';
import { pveClusterConf, remoteNodeIp } from '../core/cluster.js';
import { nodelist, scalar, setNodelist, totem, writeConf, type ConfSection, type PveCorosyncConf } from '../core/corosync-conf.js';
import type { SimEnv } from '../core/env.js';
import { Die, PveException } from '../core/errors.js';
import { BIN, run } from '../core/exec.js';
import { genLocalDirs, pemFingerprint } from '../core/pvedb.js';
import { cfsLock, readText, writeAtomic } from '../core/pvefs.js';
import { parseCorosyncLink } from '../core/schema.js';
import type { Values } from '../core/schema.js';

/** Links given as link0..link7 parameters (extract_corosync_link_args). */
export function linkArgs(v: Values): Map<number, { address: string; priority?: number }> {
  const out = new Map<number, { address: string; priority?: number }>();
  for (let i = 0; i <= 7; i++) {
    const s = v[`link${i}`];
    if (typeof s === 'string' && s !== '') out.set(i, parseCorosyncLink(s));
  }
  return out;
}

/** PVE::Corosync::atomic_write_conf: config_version + 1, written as corosync.conf.new, renamed over. */
export function atomicWriteConf(env: SimEnv, conf: PveCorosyncConf, increase = true): string {
  if (increase) {
    const t = totem(conf);
    const v = scalar(t, 'config_version');
    if (v === undefined) throw new Die('invalid corosync config: unable to read config version\n');
    t['config_version'] = String(Number(v) + 1);
  }
  const text = writeConf(conf);
  const fresh = path.join(env.paths.etcPve, 'corosync.conf.new');
  writeAtomic(env.paths, fresh, text);
  renameSync(fresh, path.join(env.paths.etcPve, 'corosync.conf'));
  return text;
}

/** The cluster-wide corosync.conf lock (cfs_lock_file 'corosync.conf'). */
export async function withCorosyncLock<T>(env: SimEnv, fn: () => Promise<T>): Promise<T> {
  return cfsLock(env.paths, 'file-corosync_conf', fn, (t) => env.ctx.err(t));
}

/** verify_conf: errors and warnings of a cluster configuration. */
export function verifyConf(conf: PveCorosyncConf): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (Object.keys(nodelist(conf)).length === 0) errors.push('no nodes found');
  const secauth = scalar(totem(conf), 'secauth');
  const cipher = scalar(totem(conf), 'crypto_cipher');
  if ((secauth === undefined || secauth !== 'on') && (cipher === undefined || cipher === 'none')) {
    warnings.push('warning: authentication/encryption is not explicitly enabled (secauth / crypto_cipher / crypto_hash)');
  }
  return { errors, warnings };
}

/** Result of addnode: what the joining node needs. */
export interface AddnodeResult {
  /** the authkey as Perl hands it over: its bytes as a latin1 string */
  corosync_authkey: string;
  corosync_conf: string;
  warnings: string[];
}

/** POST /cluster/config/nodes/{node}: add a node to corosync.conf (config_version + 1). */
export async function addnode(env: SimEnv, v: Values): Promise<AddnodeResult> {
  checkCfsQuorum(env.paths);
  const name = String(v['node']);
  const apiversion = Number(v['apiversion'] ?? 0);
  let vcErrors: string[] = [];
  let vcWarnings: string[] = [];
  await withCorosyncLock(env, async () => {
    const cc = pveClusterConf(env.paths);
    if (!cc) throw new Die(`Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n`);
    const conf = cc.conf;
    const nodes = nodelist(conf);
    ({ errors: vcErrors, warnings: vcWarnings } = verifyConf(conf));
    if (vcErrors.length) throw new Die('invalid corosync.conf\n');
    const links = linkArgs(v);
    for (const link of links.values()) {
      for (const [k, n] of Object.entries(nodes)) {
        if (k === name) continue;
        for (let i = 0; i <= 7; i++) {
          const id = `ring${i}_addr`;
          if (n[id] !== undefined && n[id] === link.address) {
            throw new Die(`corosync: address '${link.address}' already used on link ${id} by node '${k}'\n`);
          }
        }
      }
    }
    // (values %$nodelist)[0]: any node; all carry the same links once verify_conf passed
    const first = Object.values(nodes)[0] ?? {};
    const clusterLinks = new Map<number, string>();
    for (const [k, val] of Object.entries(first)) {
      const m = /^(ring|link)(\d+)_addr$/.exec(k);
      if (m && typeof val === 'string') clusterLinks.set(Number(m[2]), val);
    }
    let newIp = typeof v['new_node_ip'] === 'string' ? v['new_node_ip'] : undefined;
    let legacy = false;
    if (!newIp && links.size === 1 && apiversion === 0) {
      const [only] = [...links.entries()];
      if (only) {
        links.delete(only[0]);
        newIp = only[1].address;
        legacy = true;
      }
    }
    if (links.size > 0) {
      for (let i = 0; i <= 7; i++) {
        if (clusterLinks.has(i) && !links.has(i)) throw new Die(`corosync: link ${i} exists in cluster config but wasn't specified for new node\n`);
        if (!clusterLinks.has(i) && links.has(i)) throw new Die(`corosync: link ${i} specified for new node doesn't exist in cluster config\n`);
      }
    } else {
      if (!newIp) throw new Die('no links and no fallback ip (new_node_ip) given, cannot join cluster\n');
      if (clusterLinks.size === 1) {
        links.set([...clusterLinks.keys()][0] ?? 0, { address: newIp });
      } else {
        if (legacy) throw new Die(`cluster has ${clusterLinks.size} links, but only 1 given`);
        throw new Die('no links given but multiple links found on other nodes, fallback only supported on single-link clusters\n');
      }
      for (const link of links.values()) {
        for (const [k, n] of Object.entries(nodes)) {
          if (k === name) continue;
          for (let i = 0; i <= 7; i++) {
            const id = `ring${i}_addr`;
            if (n[id] !== undefined && n[id] === link.address) {
              throw new Die(`corosync: address '${link.address}' already used on link ${id} by node '${k}'\n`);
            }
          }
        }
      }
    }
    let nodeid = v['nodeid'] !== undefined ? Number(v['nodeid']) : undefined;
    let votes = v['votes'] !== undefined ? Number(v['votes']) : undefined;
    const existing = nodes[name];
    if (existing) {
      nodeid ??= Number(scalar(existing, 'nodeid'));
      votes ??= Number(scalar(existing, 'quorum_votes') ?? 1);
      if (Number(scalar(existing, 'quorum_votes') ?? 1) === votes && Number(scalar(existing, 'nodeid')) === nodeid && v['force']) {
        env.ctx.out(`forcing overwrite of configured node '${name}'\n`);
      } else {
        throw new Die(`can't add existing node '${name}'\n`);
      }
    } else if (!nodeid) {
      let id = 1;
      while (Object.values(nodes).some((n) => Number(scalar(n, 'nodeid')) === id)) id++;
      nodeid = id;
    }
    votes ??= 1;
    genLocalDirs(env.paths.etcPve, name);
    const node: ConfSection = { name, nodeid: String(nodeid) };
    if (votes) node['quorum_votes'] = String(votes);
    for (const [i, l] of links) node[`ring${i}_addr`] = l.address;
    nodes[name] = node;
    setNodelist(conf, nodes);
    atomicWriteConf(env, conf);
  }).catch((e: unknown) => {
    if (vcErrors.length) {
      const errors: Record<string, string> = {};
      vcWarnings.forEach((w, i) => (errors[`warning${i}`] = w));
      vcErrors.forEach((w, i) => (errors[`error${i}`] = w));
      throw new PveException('invalid corosync.conf\n', { errors });
    }
    throw e;
  });
  return {
    corosync_authkey: readFileSync(env.paths.authkey).toString('latin1'),
    corosync_conf: readText(path.join(env.paths.etcPve, 'corosync.conf')) ?? '',
    warnings: vcWarnings,
  };
}

/** DELETE /cluster/config/nodes/{node} (pvecm delnode). */
export async function delnode(env: SimEnv, target: string): Promise<void> {
  if (target === env.nodename) throw new Die('Cannot delete myself from cluster!\n');
  checkCfsQuorum(env.paths);
  await withCorosyncLock(env, async () => {
    const cc = pveClusterConf(env.paths);
    if (!cc) throw new Die(`Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n`);
    const conf = cc.conf;
    const nodes = nodelist(conf);
    const key = Object.keys(nodes).find((k) => k === target || nodes[k]?.['ring0_addr'] === target || nodes[k]?.['ring1_addr'] === target);
    const hit = key === undefined ? undefined : nodes[key];
    if (key === undefined || !hit) throw new Die(`Node/IP: ${target} is not a known host of the cluster.\n`);
    delete nodes[key];
    setNodelist(conf, nodes);
    const nodeid = scalar(hit, 'nodeid');
    if (nodeid !== undefined) {
      // allowed to fail when the node is already down
      const r = await run(BIN.cfgtool, ['-k', nodeid], { timeoutMs: 20_000 });
      env.ctx.out(r.stdout);
      env.ctx.err(r.stderr);
    }
    atomicWriteConf(env, conf);
  });
}

/** One entry of GET /cluster/config/nodes. */
export function configNodes(env: SimEnv): Array<Record<string, string>> {
  const cc = pveClusterConf(env.paths);
  if (!cc) throw new Die(`Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n`);
  return Object.entries(nodelist(cc.conf)).map(([name, n]) => {
    const o: Record<string, string> = {};
    for (const [k, val] of Object.entries(n)) if (typeof val === 'string') o[k] = val;
    o['node'] = name;
    return o;
  });
}

/** Fingerprint of a node's API certificate (pveproxy-ssl.pem when present). */
export function nodeFingerprint(env: SimEnv, node: string): string | undefined {
  const dir = path.join(env.paths.etcPve, 'nodes', node);
  const pem = readText(path.join(dir, 'pveproxy-ssl.pem')) ?? readText(path.join(dir, 'pve-ssl.pem'));
  return pem ? pemFingerprint(pem) : undefined;
}

/** GET /cluster/config/join. */
export async function joinInfo(env: SimEnv, node?: string): Promise<Record<string, unknown>> {
  const nodename = node ?? env.nodename;
  const cc = pveClusterConf(env.paths);
  if (!cc) {
    throw new PveException('node is not in a cluster, no join info available! at /usr/share/perl5/PVE/API2/ClusterConfig.pm line 585.\n', { code: 424 });
  }
  const nodes = nodelist(cc.conf);
  if (!nodes[nodename]) throw new Die(`unknown node '${nodename}'\n`);
  const list: Array<Record<string, unknown>> = [];
  for (const [name, n] of Object.entries(nodes)) {
    const o: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(n)) if (typeof val === 'string') o[k] = val;
    // PVE::Cluster::get_node_fingerprint: PVE::Certificate dies on a certificate it cannot read
    const fp = nodeFingerprint(env, name);
    if (fp === undefined) {
      const custom = path.join(env.paths.etcPve, 'nodes', name, 'pveproxy-ssl.pem');
      const shown = existsSync(custom) ? `/etc/pve/nodes/${name}/pveproxy-ssl.pem` : `/etc/pve/nodes/${name}/pve-ssl.pem`;
      throw new Die(`unable to read '${shown}' - No such file or directory\n`);
    }
    o['pve_fp'] = fp;
    o['pve_addr'] = (await remoteNodeIp(env.paths, name, true)) ?? null;
    list.push(o);
  }
  return {
    nodelist: list,
    preferred_node: nodename,
    // totem_config: interfaces keyed by link number, as parse_conf leaves them
    totem: structuredClone(totem(cc.conf)),
    config_digest: createHash('sha1').update(cc.text).digest('hex'),
  };
}

/** GET /cluster/config/totem. */
export function totemConfig(env: SimEnv): Record<string, unknown> {
  const cc = pveClusterConf(env.paths);
  return cc ? structuredClone(totem(cc.conf)) : {};
}
