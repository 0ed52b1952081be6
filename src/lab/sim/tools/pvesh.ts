/**
 * `pvesh get|create|ls` for the API paths pvx reads (reference §0.4, §1.7, §4.6, §5.5). Paths of
 * another node are proxied over ssh to that node's pvesh, as the real pvesh does.
 */
import type { SimContext, SimTool } from '../types.js';
import { addnode, configNodes, delnode, joinInfo, totemConfig } from '../api/cluster-config.js';
import { clusterResources, clusterStatus, nodeStorage, nodesIndex, versionInfo } from '../api/cluster-status.js';
import { guestRecords } from '../api/guests.js';
import { rulesIndex } from '../api/ha-rules.js';
import { checkRpcEnv } from '../core/cfs.js';
import { remoteNodeIp } from '../core/cluster.js';
import { parseCommand, reportError, runCli, type CommandSpec } from '../core/cli.js';
import { simEnv, type SimEnv } from '../core/env.js';
import { Die } from '../core/errors.js';
import { ssh } from '../core/exec.js';
import { readGroups, readManagerStatus, readResources, readLrmStatus } from '../core/ha.js';
import { cfsQuorate } from '../core/cfs.js';
import { corosyncLinkParams, fmtIp, fmtNode, type Param, type Values } from '../core/schema.js';
import { apiResult, terminalOf, type OutputOptions, type PropSchema, type ResultSchema } from '../render/api-result.js';
import { haStatus } from './ha-manager.js';

interface Route {
  method: 'get' | 'create' | 'delete';
  re: RegExp;
  params: Record<string, Param>;
  schema: ResultSchema;
  /** index of the `{node}` capture when the call runs on that node (proxyto) */
  proxyto?: boolean;
  handler(env: SimEnv, v: Values, m: RegExpExecArray): Promise<unknown>;
}

const S = (optional = false): PropSchema => ({ type: 'string', optional });
const I = (optional = true): PropSchema => ({ type: 'integer', optional });
const B: PropSchema = { type: 'boolean', optional: true };
const BYTES: PropSchema = { type: 'integer', optional: true, renderer: 'bytes' };
const FRACTION: PropSchema = { type: 'number', optional: true, renderer: 'fraction_as_percentage' };
const DURATION: PropSchema = { type: 'integer', optional: true, renderer: 'duration' };

const GUEST_PROPS: Record<string, PropSchema> = {
  vmid: I(false),
  status: S(),
  name: S(true),
  cpus: { type: 'number', optional: true },
  cpu: FRACTION,
  maxmem: BYTES,
  mem: BYTES,
  maxdisk: BYTES,
  disk: BYTES,
  uptime: DURATION,
  pid: I(),
  lock: S(true),
  tags: S(true),
};

function localNode(env: SimEnv, node: string): boolean {
  return node === env.nodename || node === 'localhost';
}

const ROUTES: Route[] = [
  {
    method: 'get',
    re: /^\/cluster\/status$/,
    params: {},
    schema: {
      type: 'array',
      props: { type: S(), id: S(), name: S(), nodes: I(), version: I(), quorate: B, nodeid: I(), ip: S(true), local: B, online: B, level: S(true) },
    },
    handler: (env) => clusterStatus(env),
  },
  {
    method: 'get',
    re: /^\/cluster\/resources$/,
    params: { type: { type: 'string', enum: ['vm', 'storage', 'node', 'sdn'], optional: true } },
    schema: {
      type: 'array',
      props: {
        id: S(),
        type: S(),
        content: S(true),
        cpu: FRACTION,
        disk: BYTES,
        hastate: S(true),
        level: S(true),
        maxcpu: { type: 'number', optional: true },
        maxdisk: BYTES,
        maxmem: BYTES,
        mem: BYTES,
        name: S(true),
        node: S(true),
        plugintype: S(true),
        pool: S(true),
        status: S(true),
        storage: S(true),
        uptime: DURATION,
        vmid: I(),
      },
    },
    handler: (env, v) => clusterResources(env, typeof v['type'] === 'string' ? v['type'] : undefined),
  },
  {
    method: 'get',
    re: /^\/cluster\/config\/join$/,
    params: { node: { type: 'string', format: fmtNode, optional: true } },
    schema: { type: 'object', props: { nodelist: { type: 'array' }, preferred_node: S(), totem: { type: 'object' }, config_digest: S() } },
    handler: (env, v) => joinInfo(env, typeof v['node'] === 'string' ? v['node'] : undefined),
  },
  {
    method: 'get',
    re: /^\/cluster\/config\/nodes$/,
    params: {},
    schema: { type: 'array', props: { node: S() } },
    handler: async (env) => configNodes(env),
  },
  {
    method: 'get',
    re: /^\/cluster\/config\/totem$/,
    params: {},
    schema: { type: 'object', props: {} },
    handler: async (env) => totemConfig(env),
  },
  {
    method: 'get',
    re: /^\/cluster\/config\/apiversion$/,
    params: {},
    schema: { type: 'integer' },
    handler: async () => 1,
  },
  {
    method: 'create',
    re: /^\/cluster\/config\/nodes\/([^/]+)$/,
    params: {
      nodeid: { type: 'integer', minimum: 1, optional: true },
      votes: { type: 'integer', minimum: 0, optional: true },
      force: { type: 'boolean', optional: true },
      new_node_ip: { type: 'string', format: fmtIp, optional: true },
      apiversion: { type: 'integer', optional: true },
      ...corosyncLinkParams(),
    },
    schema: { type: 'object', props: { corosync_authkey: S(), corosync_conf: S(), warnings: { type: 'array' } } },
    handler: async (env, v, m) => {
      fmtNode(m[1] ?? '');
      return addnode(env, { ...v, node: m[1] ?? '' });
    },
  },
  {
    method: 'delete',
    re: /^\/cluster\/config\/nodes\/([^/]+)$/,
    params: {},
    schema: { type: 'null' },
    handler: async (env, _v, m) => delnode(env, m[1] ?? ''),
  },
  {
    method: 'get',
    re: /^\/nodes$/,
    params: {},
    schema: {
      type: 'array',
      props: { node: S(), status: S(), cpu: FRACTION, level: S(true), maxcpu: I(), maxmem: BYTES, mem: BYTES, ssl_fingerprint: S(true), uptime: DURATION },
    },
    handler: (env) => nodesIndex(env),
  },
  {
    method: 'get',
    re: /^\/nodes\/([^/]+)\/qemu$/,
    params: { full: { type: 'boolean', optional: true } },
    schema: { type: 'array', props: GUEST_PROPS },
    proxyto: true,
    handler: async (env) => guestRecords(env, 'qemu', env.nodename),
  },
  {
    method: 'get',
    re: /^\/nodes\/([^/]+)\/lxc$/,
    params: {},
    schema: { type: 'array', props: GUEST_PROPS },
    proxyto: true,
    handler: async (env) => guestRecords(env, 'lxc', env.nodename),
  },
  {
    method: 'get',
    re: /^\/nodes\/([^/]+)\/storage$/,
    params: {
      storage: { type: 'string', optional: true },
      content: { type: 'string', optional: true },
      enabled: { type: 'boolean', optional: true },
      target: { type: 'string', optional: true },
      format: { type: 'boolean', optional: true },
    },
    schema: {
      type: 'array',
      props: { storage: S(), type: S(), content: S(true), active: B, enabled: B, shared: B, total: BYTES, used: BYTES, avail: BYTES, used_fraction: FRACTION },
    },
    proxyto: true,
    handler: async (env, v) => {
      const o: { storage?: string; content?: string; enabled?: boolean } = {};
      if (typeof v['storage'] === 'string') o.storage = v['storage'];
      if (typeof v['content'] === 'string') o.content = v['content'];
      if (v['enabled']) o.enabled = true;
      return nodeStorage(env, o);
    },
  },
  {
    method: 'get',
    re: /^\/nodes\/([^/]+)\/version$/,
    params: {},
    schema: { type: 'object', props: { release: S(), repoid: S(), version: S() } },
    proxyto: true,
    handler: async (env) => versionInfo(env),
  },
  {
    method: 'get',
    re: /^\/version$/,
    params: {},
    schema: { type: 'object', props: { release: S(), repoid: S(), version: S() } },
    handler: async (env) => versionInfo(env),
  },
  {
    method: 'get',
    re: /^\/nodes\/([^/]+)\/replication$/,
    params: { guest: { type: 'integer', optional: true } },
    schema: { type: 'array', props: { id: S() } },
    proxyto: true,
    handler: async (env, v) => (await import('./pvesr.js')).replicationStatus(env, v['guest'] !== undefined ? Number(v['guest']) : undefined),
  },
  {
    method: 'get',
    re: /^\/cluster\/replication$/,
    params: {},
    schema: { type: 'array', props: { id: S() } },
    handler: async (env) => (await import('./pvesr.js')).replicationIndex(env),
  },
  {
    method: 'get',
    re: /^\/cluster\/ha\/status\/current$/,
    params: {},
    schema: { type: 'array', props: { id: S(), node: S(), status: S(), type: S() } },
    handler: async (env) => haStatus(env),
  },
  {
    method: 'get',
    re: /^\/cluster\/ha\/status\/manager_status$/,
    params: {},
    schema: { type: 'object', props: {} },
    handler: async (env) => {
      const manager = readManagerStatus(env.paths);
      const data: Record<string, unknown> = { manager_status: manager, quorum: { node: env.nodename, quorate: cfsQuorate(env.paths) ? 1 : 0 } };
      const nodes = Object.keys(manager.node_status ?? {}).sort();
      if (nodes.length) data['lrm_status'] = Object.fromEntries(nodes.map((n) => [n, readLrmStatus(env.paths, n)]));
      return data;
    },
  },
  {
    method: 'get',
    re: /^\/cluster\/ha\/resources$/,
    params: { type: { type: 'string', enum: ['ct', 'vm'], optional: true } },
    schema: { type: 'array', props: { sid: S() } },
    handler: async (env, v) =>
      readResources(env.paths)
        .filter((r) => !v['type'] || r.type === v['type'])
        .map((r) => ({ sid: r.sid, type: r.type, digest: '', ...Object.fromEntries(Object.entries(r.props).map(([k, x]) => [k, /^(max_restart|max_relocate|failback)$/.test(k) ? Number(x) : x])) })),
  },
  {
    method: 'get',
    re: /^\/cluster\/ha\/groups$/,
    params: {},
    schema: { type: 'array', props: { group: S() } },
    handler: async (env) => {
      if (env.rel.major >= 9 && readGroups(env.paths).length === 0) throw new Die('cannot index groups: ha groups have been migrated to rules\n');
      return readGroups(env.paths).map((g) => ({ group: g.id, type: 'group', digest: '', ...g.props }));
    },
  },
  {
    method: 'get',
    re: /^\/cluster\/ha\/rules$/,
    params: { type: { type: 'string', optional: true }, resource: { type: 'string', optional: true } },
    schema: { type: 'array', props: { rule: S() } },
    handler: async (env, v) => rulesIndex(env, v),
  },
];

function outputOptions(v: Values): OutputOptions {
  const o: OutputOptions = {};
  if (typeof v['output-format'] === 'string') o['output-format'] = v['output-format'];
  for (const k of ['noborder', 'noheader', 'quiet', 'human-readable'] as const) if (v[k] !== undefined) o[k] = Number(v[k]);
  return o;
}

async function call(env: SimEnv, method: 'get' | 'create' | 'delete', args: string[], noproxy: boolean): Promise<number> {
  const [apiPath, ...rest] = args;
  if (apiPath === undefined) throw new Die('400 not enough arguments\n');
  const norm = `/${apiPath.replace(/^\/+|\/+$/g, '')}`;
  const route = ROUTES.find((r) => r.method === method && r.re.test(norm));
  if (!route) throw new Die(`no '${method}' handler for '${apiPath}'\n`);
  const m = route.re.exec(norm) as RegExpExecArray;
  const spec: CommandSpec = { group: 'PVE::CLI::pvesh', params: route.params, formatOptions: true, run: async () => 0 };
  const v = parseCommand(`pvesh ${method} ${apiPath}`, spec, rest, env.ctx);
  const node = m[1];
  let data: unknown;
  if (route.proxyto && node !== undefined && !localNode(env, node)) {
    if (noproxy) throw new Die('proxy loop detected - aborting\n');
    const ip = (await remoteNodeIp(env.paths, node)) ?? node;
    const pass: string[] = [];
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined || k === 'output-format' || k === 'quiet' || k in { noborder: 1, noheader: 1, 'human-readable': 1 }) continue;
      pass.push(`--${k}`, String(x));
    }
    const r = await ssh(ip, ['/etc/pvx-lab/bin/pvesh', '--noproxy', method, norm, '--output-format', 'json', ...pass], { timeoutMs: 60_000 });
    if (r.exitCode !== 0) {
      env.ctx.err(r.stderr);
      throw new Die(`proxy handler failed: command '/usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias=${node} root@${ip} -- pvesh --noproxy ${method} ${norm} --output-format json' failed: exit code ${r.exitCode}\n`);
    }
    try {
      data = JSON.parse(r.stdout);
    } catch {
      throw new Die(`failed to decode JSON from proxy handler: ${r.stdout}\n`);
    }
  } else {
    data = await route.handler(env, v, m);
  }
  env.ctx.out(apiResult(data, route.schema, outputOptions(v), terminalOf(env.ctx.env)));
  return 0;
}

/** Usage entry of a verb (the real work starts once the path, and so the options, are known). */
function verbSpec(): CommandSpec {
  return {
    group: 'PVE::CLI::pvesh',
    params: { api_path: { type: 'string' } },
    args: ['api_path'],
    formatOptions: true,
    run: async () => 0,
  };
}

/** The pvesh tool: options depend on the API path, so parsing happens once the path is known. */
export const pvesh: SimTool = {
  name: 'pvesh',
  async run(args, ctx: SimContext) {
    const env = simEnv(ctx);
    let rest = [...args];
    let noproxy = false;
    if (rest[0] === '--noproxy') {
      noproxy = true;
      rest = rest.slice(1);
    }
    const verb = rest[0];
    const methods = ['get', 'create', 'delete', 'set', 'ls', 'usage'] as const;
    const hits = methods.filter((mm) => verb !== undefined && mm.startsWith(verb));
    const method = verb !== undefined && (methods as readonly string[]).includes(verb) ? verb : hits.length === 1 ? hits[0] : undefined;
    if (method === 'get' || method === 'create' || method === 'delete') {
      try {
        checkRpcEnv(env.paths);
        return await call(env, method, rest.slice(1), noproxy);
      } catch (e) {
        return reportError(ctx, e);
      }
    }
    const tree = { get: verbSpec(), create: verbSpec(), delete: verbSpec(), set: verbSpec(), ls: verbSpec(), usage: verbSpec() };
    if (method === 'set' || method === 'ls' || method === 'usage') {
      return reportError(ctx, new Die(`no '${method}' handler for '${rest[1] ?? ''}'\n`));
    }
    return runCli('pvesh', tree, rest, ctx, { prepare: async () => checkRpcEnv(env.paths) });
  },
};
