/** /cluster/status, /cluster/resources, /nodes, /nodes/<node>/storage (PVE::API2::Cluster, ::Nodes, ::Storage::Status). */
import { cpus, totalmem, uptime } from 'node:os';
import { cfsQuorate } from '../core/cfs.js';
import { clusterMembers, ipFromHostname, remoteNodeIp, vmlist, type Members } from '../core/cluster.js';
import type { SimEnv } from '../core/env.js';
import { runState, type GuestType } from '../core/guests.js';
import { readManagerStatus, readResources } from '../core/ha.js';
import { readStorages, storageOnNode, storageUsage } from '../core/storage.js';
import { guestRecord } from './guests.js';
import { nodeFingerprint } from './cluster-config.js';

/** A cluster node and whether this node sees it online. */
export interface NodeView {
  name: string;
  nodeid: number;
  online: boolean;
  ip?: string;
}

/**
 * The members as pmxcfs reports them (corosync's nodelist, online from its membership), or undefined
 * standalone. `ip` is pmxcfs's `nodeip` of the node (status.c cfs_create_memberlist_msg): the address
 * each node resolves its own name to (pmxcfs.c lookup_node_ip) and broadcasts; pmxcfs keeps it after
 * the node goes offline, so offline nodes have one too. A node this pmxcfs has never heard from would
 * have none; the lab's nodes all come up together, so every node's name is resolved here instead.
 */
export async function members(env: SimEnv): Promise<NodeView[] | undefined> {
  const ms = await clusterMembers(env.ctx, env.paths);
  return ms ? nodeViews(env, ms) : undefined;
}

async function nodeViews(env: SimEnv, ms: Members): Promise<NodeView[]> {
  const out: NodeView[] = [];
  for (const n of ms.nodes) {
    const v: NodeView = { name: n.name, nodeid: n.nodeid, online: n.online };
    const ip = await ipFromHostname(env.paths, n.name, true);
    if (ip) v.ip = ip;
    out.push(v);
  }
  return out;
}

/** GET /cluster/status (pve-manager PVE/API2/Cluster.pm get_status). */
export async function clusterStatus(env: SimEnv): Promise<Array<Record<string, unknown>>> {
  const ms = await clusterMembers(env.ctx, env.paths);
  if (!ms) {
    return [{ type: 'node', id: `node/${env.nodename}`, name: env.nodename, ip: (await remoteNodeIp(env.paths, env.nodename, true)) ?? '', local: 1, nodeid: 0, online: 1, level: '' }];
  }
  const res: Array<Record<string, unknown>> = [
    { type: 'cluster', id: 'cluster', nodes: ms.nodes.length, version: ms.configVersion, name: ms.clusterName, quorate: cfsQuorate(env.paths) ? 1 : 0 },
  ];
  for (const n of await nodeViews(env, ms)) {
    const e: Record<string, unknown> = { type: 'node', id: `node/${n.name}`, name: n.name, nodeid: n.nodeid, local: n.name === env.nodename ? 1 : 0, online: n.online ? 1 : 0 };
    if (n.ip) e['ip'] = n.ip;
    if (n.online) e['level'] = '';
    res.push(e);
  }
  return res;
}

const GiB = 1024 ** 3;

function nodeStats(env: SimEnv, node: string): Record<string, unknown> {
  let guestMem = 0;
  for (const e of vmlist(env.paths).values()) {
    if (e.node !== node || !runState(env.paths, node, e.vmid)) continue;
    const rec = guestRecord(env, e.type, node, e.vmid);
    guestMem += Number(rec?.['mem'] ?? 0);
  }
  return nodeFigures(guestMem);
}

/** The lab's figures of a node whose running guests use `guestMem` bytes of memory. */
export function nodeFigures(guestMem: number): { cpu: number; maxcpu: number; mem: number; maxmem: number; disk: number; maxdisk: number; uptime: number } {
  const maxmem = Math.max(totalmem(), 8 * GiB);
  return {
    cpu: 0.0213,
    maxcpu: cpus().length || 1,
    mem: Math.min(maxmem, Math.floor(1.6 * GiB) + guestMem),
    maxmem,
    disk: 6 * GiB,
    maxdisk: 100 * GiB,
    uptime: Math.floor(uptime()),
  };
}

function nodeList(env: SimEnv, ms: NodeView[] | undefined): NodeView[] {
  return ms ?? [{ name: env.nodename, nodeid: 0, online: true }];
}

/** GET /cluster/resources [--type vm|storage|node|sdn]. */
export async function clusterResources(env: SimEnv, type?: string): Promise<Array<Record<string, unknown>>> {
  const ms = await members(env);
  const nodes = nodeList(env, ms);
  const online = new Map(nodes.map((n) => [n.name, n.online]));
  const res: Array<Record<string, unknown>> = [];
  const manager = readManagerStatus(env.paths);
  const haRes = readResources(env.paths);
  if (!type || type === 'vm') {
    for (const e of [...vmlist(env.paths).values()].sort((a, b) => a.vmid - b.vmid)) {
      const t: GuestType = e.type;
      const entry: Record<string, unknown> = { id: `${t}/${e.vmid}`, vmid: e.vmid, node: e.node, type: t, status: 'unknown' };
      if (online.get(e.node)) {
        const r = guestRecord(env, t, e.node, e.vmid);
        if (r) {
          Object.assign(entry, {
            uptime: r['uptime'],
            name: r['name'],
            status: r['status'],
            template: r['template'] ?? 0,
            maxcpu: r['cpus'],
            cpu: r['cpu'],
            maxmem: r['maxmem'],
            mem: r['mem'],
            maxdisk: r['maxdisk'],
            disk: r['disk'],
            netin: r['netin'],
            netout: r['netout'],
            diskread: r['diskread'],
            diskwrite: r['diskwrite'],
          });
          if (t === 'qemu' && env.rel.major >= 9) entry['memhost'] = r['mem'];
          if (r['lock']) entry['lock'] = r['lock'];
          if (r['tags']) entry['tags'] = r['tags'];
        }
      }
      const sid = `${t === 'qemu' ? 'vm' : 'ct'}:${e.vmid}`;
      const ss = manager.service_status?.[sid];
      const hr = haRes.find((x) => x.sid === sid);
      if (ss?.state) entry['hastate'] = ss.state;
      else if (hr?.props['state']) entry['hastate'] = hr.props['state'];
      res.push(entry);
    }
  }
  if (!type || type === 'node') {
    for (const n of nodes) {
      const entry: Record<string, unknown> = { id: `node/${n.name}`, node: n.name, type: 'node', status: n.online ? 'online' : 'offline' };
      if (n.online) Object.assign(entry, nodeStats(env, n.name), { level: '', 'cgroup-mode': 2 });
      const hs = manager.node_status?.[n.name];
      if (hs) entry['hastate'] = hs;
      res.push(entry);
    }
  }
  if (!type || type === 'storage') {
    const storages = readStorages(env.paths);
    for (const n of nodes) {
      for (const s of storages) {
        if (!storageOnNode(s, n.name)) continue;
        const entry: Record<string, unknown> = {
          id: `storage/${n.name}/${s.id}`,
          storage: s.id,
          node: n.name,
          type: 'storage',
          plugintype: s.type,
          status: 'unknown',
          shared: s.shared ? 1 : 0,
          content: s.content.join(','),
        };
        if (n.online && s.enabled) {
          const u = storageUsage(env.paths, s, n.name);
          Object.assign(entry, { maxdisk: u.total, disk: u.used, status: 'available' });
        }
        res.push(entry);
      }
    }
  }
  return res;
}

/** GET /nodes. */
export async function nodesIndex(env: SimEnv): Promise<Array<Record<string, unknown>>> {
  const ms = await members(env);
  return nodeList(env, ms).map((n) => {
    const e: Record<string, unknown> = { node: n.name, id: `node/${n.name}`, type: 'node', status: n.online ? 'online' : 'offline' };
    if (n.online) Object.assign(e, nodeStats(env, n.name), { level: '' });
    const fp = nodeFingerprint(env, n.name);
    if (fp) e['ssl_fingerprint'] = fp;
    return e;
  });
}

/** GET /nodes/<node>/storage (this node's view). */
export function nodeStorage(env: SimEnv, opts: { storage?: string; content?: string; enabled?: boolean }): Array<Record<string, unknown>> {
  return readStorages(env.paths)
    .filter((s) => storageOnNode(s, env.nodename))
    .filter((s) => !opts.storage || s.id === opts.storage)
    .filter((s) => !opts.content || opts.content.split(',').some((c) => s.content.includes(c)))
    .filter((s) => !opts.enabled || s.enabled)
    .map((s) => {
      const e: Record<string, unknown> = {
        storage: s.id,
        type: s.type,
        content: s.content.join(','),
        active: s.enabled ? 1 : 0,
        enabled: s.enabled ? 1 : 0,
        shared: s.shared ? 1 : 0,
      };
      if (s.enabled) {
        const u = storageUsage(env.paths, s, env.nodename);
        Object.assign(e, { total: u.total, used: u.used, avail: u.avail, used_fraction: u.total ? u.used / u.total : 0 });
      }
      return e;
    });
}

/** GET /nodes/<node>/version and /version. */
export function versionInfo(env: SimEnv): Record<string, unknown> {
  return { release: `${env.rel.major}.${env.rel.minor}`, repoid: env.rel.repoid, version: env.rel.version };
}

