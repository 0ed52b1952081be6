/** `ha-manager` (reference §5): configuration and requests; a CRM acting on requests is not part of it. */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { SimTool } from '../types.js';
import { cfsQuorate, checkCfsQuorum, checkRpcEnv } from '../core/cfs.js';
import { checkNodeExists, clusterNodeNames, vmlist } from '../core/cluster.js';
import { runCli, type CommandTree } from '../core/cli.js';
import { simEnv, type SimEnv } from '../core/env.js';
import { Die } from '../core/errors.js';
import {
  groupsMigrated,
  lockHaDomain,
  queueCrmCommand,
  readGroups,
  readLrmStatus,
  readManagerStatus,
  readResources,
  readRules,
  writeGroups,
  writeResources,
  writeRules,
  type HaResource,
} from '../core/ha.js';
import { readText } from '../core/pvefs.js';
import { fmtNode, type Param, type Values } from '../core/schema.js';
import { haHasFencing, haRemovePurgesRules } from '../core/versions.js';
import { haStatusEntries, renderHaStatus, type HaEntry, type HaServiceConf } from '../render/ha-status.js';
import { perlJsonPretty } from '../render/json.js';

const CLI = 'PVE::CLI::ha_manager';
const RES = 'PVE::API2::HA::Resources';
const GROUPS = 'PVE::API2::HA::Groups';
const RULES = 'PVE::API2::HA::Rules';
const STATUS = 'PVE::API2::HA::Status';

/** parse_sid: `vm:100`, `ct:101`, or a bare VMID looked up in the vmlist. */
export function parseSid(env: SimEnv, raw: string): { sid: string; type: string; name: string } {
  if (/^\d+$/.test(raw)) {
    const e = vmlist(env.paths).get(Number(raw));
    if (!e) throw new Die(`unable to detect SID from VMID - VM/CT ${raw} does not exist\n`);
    const type = e.type === 'qemu' ? 'vm' : 'ct';
    return { sid: `${type}:${raw}`, type, name: raw };
  }
  const m = /^(\S+):(\S+)$/.exec(raw);
  if (!m) throw new Die(`unable to parse service id '${raw}'\n`);
  return { sid: raw, type: m[1] ?? '', name: m[2] ?? '' };
}

/** read_and_check_resources_config: defaults filled in, node from the guest's location. */
export function servicesConfig(env: SimEnv): Record<string, HaServiceConf> {
  const vms = vmlist(env.paths);
  const out: Record<string, HaServiceConf> = {};
  for (const r of readResources(env.paths)) {
    if (r.type !== 'vm' && r.type !== 'ct') continue;
    let state = r.props['state'] ?? 'started';
    if (state === 'enabled') state = 'started';
    const c: HaServiceConf = {
      state,
      max_restart: Number(r.props['max_restart'] ?? 1),
      max_relocate: Number(r.props['max_relocate'] ?? 1),
      failback: Number(r.props['failback'] ?? 1),
    };
    if (r.props['group'] !== undefined) c.group = r.props['group'];
    if (r.props['comment'] !== undefined) c.comment = r.props['comment'];
    const e = vms.get(Number(r.name));
    if (e) c.node = e.node;
    out[r.sid] = c;
  }
  return out;
}

/** The status entries of this node's view (GET /cluster/ha/status/current). */
export function haStatus(env: SimEnv): HaEntry[] {
  const manager = readManagerStatus(env.paths);
  const lrm: Record<string, { state?: string; mode?: string; timestamp?: number }> = {};
  for (const n of Object.keys(manager.node_status ?? {})) lrm[n] = readLrmStatus(env.paths, n);
  const dc = readText(path.join(env.paths.etcPve, 'datacenter.cfg')) ?? '';
  const crs = /^crs:\s*(?:ha=)?([a-z]+)/m.exec(dc)?.[1];
  return haStatusEntries({
    nodename: env.nodename,
    quorate: cfsQuorate(env.paths),
    fencing: haHasFencing(env.rel),
    failback: env.rel.major >= 9,
    now: Math.floor(Date.now() / 1000),
    manager,
    services: servicesConfig(env),
    lrm,
    ...(crs ? { crsHa: crs } : {}),
  });
}

function checkServiceState(env: SimEnv, sid: string, req?: string): void {
  const managed = readResources(env.paths).some((r) => r.sid === sid);
  const state = readManagerStatus(env.paths).service_status?.[sid]?.state;
  if (managed && state === 'error') {
    if (req === 'disabled') return;
    throw new Die(`service '${sid}' in error state, must be disabled and fixed first\n`);
  }
}

const RES_KEYS = ['state', 'max_restart', 'max_relocate', 'comment', 'group', 'failback'] as const;

function resourceParams(env: SimEnv, create: boolean): Record<string, Param> {
  const p: Record<string, Param> = {
    sid: { type: 'string' },
    state: { type: 'string', enum: ['started', 'stopped', 'enabled', 'disabled', 'ignored'], optional: true },
    max_restart: { type: 'integer', minimum: 0, optional: true },
    max_relocate: { type: 'integer', minimum: 0, optional: true },
    comment: { type: 'string', maxLength: 4096, optional: true },
    group: { type: 'string', optional: true },
    type: { type: 'string', enum: ['ct', 'vm'], optional: true },
  };
  if (env.rel.major >= 9) p['failback'] = { type: 'boolean', optional: true };
  if (!create) {
    p['delete'] = { type: 'string', optional: true };
    p['digest'] = { type: 'string', optional: true };
  }
  return p;
}

async function haAdd(env: SimEnv, v: Values): Promise<void> {
  checkCfsQuorum(env.paths);
  mkdirSync(path.join(env.paths.etcPve, 'ha'), { recursive: true });
  const { sid, type, name } = parseSid(env, String(v['sid']));
  if (v['type'] !== undefined && v['type'] !== type) throw new Die('types does not match\n');
  if (v['group'] !== undefined && groupsMigrated(env.paths, env.rel.major)) throw new Die("invalid parameter 'group': ha groups have been migrated to rules\n");
  if (!/^[1-9][0-9]+$/.test(name)) throw new Die('invalid VMID\n');
  const e = vmlist(env.paths).get(Number(name));
  if (!e) throw new Die(`resource '${sid}' does not exist in cluster\n`);
  if (type === 'vm' && e.type !== 'qemu') throw new Die(`resource '${sid}' - guest with ID ${name} is not a VM\n`);
  if (type === 'ct' && e.type !== 'lxc') throw new Die(`resource '${sid}' - guest with ID ${name} is not a container\n`);
  const props: Record<string, string> = {};
  for (const k of RES_KEYS) if (v[k] !== undefined) props[k] = String(v[k]);
  await lockHaDomain(
    env.paths,
    env.ctx.err,
    async () => {
      const res = readResources(env.paths);
      if (res.some((r) => r.sid === sid)) throw new Die(`resource ID '${sid}' already defined\n`);
      writeResources(env.paths, [...res, { sid, type, name, props }]);
    },
    'create resource failed',
  );
}

/** PUT /cluster/ha/resources/{sid} (also used by `qm start` of an HA guest). */
export async function haSet(env: SimEnv, rawSid: string, v: Values): Promise<void> {
  const { sid } = parseSid(env, rawSid);
  if (v['group'] !== undefined) {
    if (groupsMigrated(env.paths, env.rel.major)) throw new Die("invalid parameter 'group': ha groups have been migrated to rules\n");
    if (!readGroups(env.paths).some((g) => g.id === v['group'])) throw new Die(`HA group '${String(v['group'])}' does not exist\n`);
  }
  checkServiceState(env, sid, typeof v['state'] === 'string' ? v['state'] : undefined);
  await lockHaDomain(env.paths, env.ctx.err, async () => {
    const res = readResources(env.paths);
    const r = res.find((x) => x.sid === sid);
    if (!r) throw new Die(`no such resource '${sid}'\n`);
    for (const k of RES_KEYS) if (v[k] !== undefined) r.props[k] = String(v[k]);
    const del = v['delete'];
    if (typeof del === 'string') for (const k of del.split(/[,; ]+/).filter(Boolean)) delete r.props[k];
    writeResources(env.paths, res);
  });
}

function printConfig(env: SimEnv, type?: string): void {
  const rows: HaResource[] = readResources(env.paths)
    .filter((r) => !type || r.type === type)
    .sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
  const groups = new Set(readGroups(env.paths).map((g) => g.id));
  const migrated = groupsMigrated(env.paths, env.rel.major);
  for (const r of rows) {
    env.ctx.out(`${r.type}:${r.name}\n`);
    for (const k of Object.keys(r.props).sort()) {
      if (k === 'group' && migrated) continue;
      env.ctx.out(`\t${k} ${r.props[k]}\n`);
    }
    if (r.props['group'] && !migrated && !groups.has(r.props['group'])) env.ctx.err(`error: property 'group' - group '${r.props['group']}' does not exist\n`);
    env.ctx.out('\n');
  }
}

function motion(env: SimEnv, cmd: 'migrate' | 'relocate'): CommandTree[string] {
  return {
    group: RES,
    params: { sid: { type: 'string' }, node: { type: 'string', format: fmtNode } },
    args: ['sid', 'node'],
    run: async (v) => {
      const { sid } = parseSid(env, String(v['sid']));
      if (!readResources(env.paths).some((r) => r.sid === sid)) throw new Die(`resource '${sid}' is not HA managed\n`);
      checkServiceState(env, sid);
      await queueCrmCommand(env.paths, `${cmd} ${sid} ${String(v['node'])}`, env.ctx.err);
      return 0;
    },
  };
}

function groupTree(env: SimEnv): CommandTree {
  const refused = (what: string): never => {
    throw new Die(`cannot ${what}: ha groups have been migrated to rules\n`);
  };
  const groupParams: Record<string, Param> = {
    group: { type: 'string' },
    nodes: { type: 'string', optional: true },
    restricted: { type: 'boolean', optional: true },
    nofailback: { type: 'boolean', optional: true },
    comment: { type: 'string', optional: true },
    type: { type: 'string', enum: ['group'], optional: true },
  };
  return {
    groupconfig: {
      group: GROUPS,
      params: {},
      run: async () => {
        if (groupsMigrated(env.paths, env.rel.major)) refused('index groups');
        for (const g of [...readGroups(env.paths)].sort((a, b) => (a.id < b.id ? -1 : 1))) {
          env.ctx.out(`group: ${g.id}\n`);
          for (const k of Object.keys(g.props).sort()) env.ctx.out(`\t${k} ${g.props[k]}\n`);
          env.ctx.out('\n');
        }
        return 0;
      },
    },
    groupadd: {
      group: GROUPS,
      params: { ...groupParams, nodes: { type: 'string' } },
      args: ['group'],
      run: async (v) => {
        if (groupsMigrated(env.paths, env.rel.major)) refused('create group');
        checkCfsQuorum(env.paths);
        if (v['type'] !== undefined && v['type'] !== 'group') throw new Die('types does not match\n');
        const props: Record<string, string> = {};
        for (const k of ['nodes', 'restricted', 'nofailback', 'comment']) if (v[k] !== undefined) props[k] = String(v[k]);
        await lockHaDomain(
          env.paths,
          env.ctx.err,
          async () => {
            const gs = readGroups(env.paths);
            if (gs.some((g) => g.id === String(v['group']))) throw new Die(`ha group ID '${String(v['group'])}' already defined\n`);
            writeGroups(env.paths, [...gs, { type: 'group', id: String(v['group']), props }]);
          },
          'create ha group failed',
        );
        return 0;
      },
    },
    groupremove: {
      group: GROUPS,
      params: { group: { type: 'string' } },
      args: ['group'],
      run: async (v) => {
        if (groupsMigrated(env.paths, env.rel.major)) refused('delete group');
        await lockHaDomain(env.paths, env.ctx.err, async () => {
          const gs = readGroups(env.paths);
          const name = String(v['group']);
          if (!gs.some((g) => g.id === name)) throw new Die(`no such ha group '${name}'\n`);
          const user = readResources(env.paths).find((r) => r.props['group'] === name);
          if (user) throw new Die(`ha group is used by service '${user.sid}'\n`);
          writeGroups(env.paths, gs.filter((g) => g.id !== name));
        });
        return 0;
      },
    },
    groupset: {
      group: GROUPS,
      params: { ...groupParams, delete: { type: 'string', optional: true }, digest: { type: 'string', optional: true } },
      args: ['group'],
      run: async (v) => {
        if (groupsMigrated(env.paths, env.rel.major)) refused('update group');
        await lockHaDomain(env.paths, env.ctx.err, async () => {
          const gs = readGroups(env.paths);
          const g = gs.find((x) => x.id === String(v['group']));
          if (!g) throw new Die(`no such ha group '${String(v['group'])}'\n`);
          for (const k of ['nodes', 'restricted', 'nofailback', 'comment']) if (v[k] !== undefined) g.props[k] = String(v[k]);
          writeGroups(env.paths, gs);
        });
        return 0;
      },
    },
  };
}

function rulesTree(env: SimEnv): CommandTree {
  const ruleParams: Record<string, Param> = {
    type: { type: 'string', enum: ['node-affinity', 'resource-affinity'] },
    rule: { type: 'string', pattern: '[A-Za-z][A-Za-z0-9_-]*' },
    resources: { type: 'string', optional: true },
    nodes: { type: 'string', optional: true },
    strict: { type: 'boolean', optional: true },
    affinity: { type: 'string', enum: ['positive', 'negative'], optional: true },
    disable: { type: 'boolean', optional: true },
    comment: { type: 'string', optional: true },
  };
  // PVE/API2/HA/Rules.pm $assert_valid_resources_param: every resource must be HA managed, named sorted
  const validResources = (value: unknown): string[] => {
    const resources = String(value ?? '').split(',').filter(Boolean);
    if (resources.length === 0) throw new Die('no resources were specified\n');
    const managed = new Set(readResources(env.paths).map((r) => r.sid));
    const unmanaged = [...new Set(resources.filter((r) => !managed.has(r)))].sort();
    if (unmanaged.length) throw new Die(`cannot use unmanaged resource(s) ${unmanaged.join(', ')}.\n`);
    return resources;
  };
  const validNodes = (value: unknown): string[] => {
    const nodes = String(value ?? '').split(',').filter(Boolean);
    if (nodes.length === 0) throw new Die('no nodes were specified\n');
    const known = new Set(clusterNodeNames(env.ctx, env.paths));
    const bad = nodes.map((n) => n.replace(/:\d+$/, '')).filter((n) => !known.has(n));
    if (bad.length) throw new Die(`cannot use non-existent node(s) ${bad.join(', ')}.\n`);
    return nodes;
  };
  const validate = (v: Values): Record<string, string> => {
    const props: Record<string, string> = {};
    props['resources'] = validResources(v['resources']).join(',');
    if (v['type'] === 'node-affinity') {
      props['nodes'] = validNodes(v['nodes']).join(',');
      if (v['strict'] !== undefined) props['strict'] = String(v['strict']);
    } else if (v['affinity'] !== undefined) {
      props['affinity'] = String(v['affinity']);
    }
    if (v['disable']) props['disable'] = '1';
    if (v['comment'] !== undefined) props['comment'] = String(v['comment']);
    return props;
  };
  return {
    add: {
      group: RULES,
      params: ruleParams,
      args: ['type', 'rule'],
      run: async (v) => {
        checkCfsQuorum(env.paths);
        mkdirSync(path.join(env.paths.etcPve, 'ha'), { recursive: true });
        if (!groupsMigrated(env.paths, env.rel.major)) throw new Die('cannot create ha rule: ha groups have not been migrated yet\n');
        const rule = String(v['rule']);
        await lockHaDomain(
          env.paths,
          env.ctx.err,
          async () => {
            const rules = readRules(env.paths);
            if (rules.some((r) => r.id === rule)) throw new Die(`HA rule '${rule}' already defined\n`);
            writeRules(env.paths, [...rules, { type: String(v['type']), id: rule, props: validate(v) }]);
          },
          'create ha rule failed',
        );
        return 0;
      },
    },
    remove: {
      group: RULES,
      params: { rule: { type: 'string' } },
      args: ['rule'],
      run: async (v) => {
        const rule = String(v['rule']);
        await lockHaDomain(env.paths, env.ctx.err, async () => {
          const rules = readRules(env.paths);
          if (!rules.some((r) => r.id === rule)) throw new Die(`HA rule '${rule}' does not exist\n`);
          writeRules(env.paths, rules.filter((r) => r.id !== rule));
        });
        return 0;
      },
    },
    set: {
      group: RULES,
      params: { ...ruleParams, delete: { type: 'string', optional: true }, digest: { type: 'string', optional: true } },
      args: ['type', 'rule'],
      run: async (v) => {
        const rule = String(v['rule']);
        if (!groupsMigrated(env.paths, env.rel.major)) throw new Die('cannot update ha rule: ha groups have not been migrated yet\n');
        await lockHaDomain(
          env.paths,
          env.ctx.err,
          async () => {
            const rules = readRules(env.paths);
            const r = rules.find((x) => x.id === rule);
            if (!r) throw new Die(`HA rule '${rule}' does not exist\n`);
            // update_rule checks only what is given
            if (v['resources'] !== undefined) validResources(v['resources']);
            if (v['nodes'] !== undefined) validNodes(v['nodes']);
            for (const k of ['resources', 'nodes', 'strict', 'affinity', 'comment']) if (v[k] !== undefined) r.props[k] = String(v[k]);
            if (v['disable'] !== undefined) r.props['disable'] = String(v['disable']);
            writeRules(env.paths, rules);
          },
          'update HA rules failed',
        );
        return 0;
      },
    },
    config: {
      group: RULES,
      params: { type: { type: 'string', optional: true }, resource: { type: 'string', optional: true } },
      formatOptions: true,
      run: async (v) => {
        const { printRules } = await import('../api/ha-rules.js');
        printRules(env, v, ['enabled', 'state', 'rule', 'type', 'resources', 'comment']);
        return 0;
      },
    },
    list: {
      group: RULES,
      params: { type: { type: 'string', optional: true }, resource: { type: 'string', optional: true } },
      formatOptions: true,
      run: async (v) => {
        const { printRules } = await import('../api/ha-rules.js');
        printRules(env, v, undefined);
        return 0;
      },
    },
  };
}

function tree(env: SimEnv): CommandTree {
  const crm: CommandTree = {
    migrate: motion(env, 'migrate'),
    relocate: motion(env, 'relocate'),
    stop: {
      group: CLI,
      params: { sid: { type: 'string' }, timeout: { type: 'integer', minimum: 0 } },
      args: ['sid', 'timeout'],
      run: async (v) => {
        const { sid } = parseSid(env, String(v['sid']));
        if (!readResources(env.paths).some((r) => r.sid === sid)) throw new Die(`resource '${sid}' is not HA managed\n`);
        checkServiceState(env, sid);
        await queueCrmCommand(env.paths, `stop ${sid} ${String(v['timeout'])}`, env.ctx.err);
        return 0;
      },
    },
    'node-maintenance': {
      enable: {
        group: CLI,
        params: { node: { type: 'string', format: fmtNode } },
        args: ['node'],
        fixed: { disable: '0' },
        run: async (v) => {
          checkNodeExists(env.ctx, env.paths, String(v['node']));
          await queueCrmCommand(env.paths, `enable-node-maintenance ${String(v['node'])}`, env.ctx.err);
          return 0;
        },
      },
      disable: {
        group: CLI,
        params: { node: { type: 'string', format: fmtNode } },
        args: ['node'],
        fixed: { disable: '1' },
        run: async (v) => {
          checkNodeExists(env.ctx, env.paths, String(v['node']));
          await queueCrmCommand(env.paths, `disable-node-maintenance ${String(v['node'])}`, env.ctx.err);
          return 0;
        },
      },
    },
  };
  if (haHasFencing(env.rel)) {
    crm['disarm-ha'] = {
      group: STATUS,
      params: { 'resource-mode': { type: 'string', enum: ['freeze', 'ignore'] } },
      args: ['resource-mode'],
      run: async (v) => {
        await queueCrmCommand(env.paths, `disarm-ha ${String(v['resource-mode'])}`, env.ctx.err);
        return 0;
      },
    };
    crm['arm-ha'] = {
      group: STATUS,
      params: {},
      run: async () => {
        await queueCrmCommand(env.paths, 'arm-ha', env.ctx.err);
        return 0;
      },
    };
  }
  const t: CommandTree = {
    status: {
      group: CLI,
      params: { verbose: { type: 'boolean', optional: true } },
      run: async (v) => {
        env.ctx.out(renderHaStatus(haStatus(env)));
        if (v['verbose']) {
          env.ctx.out('full cluster state:\n');
          const manager = readManagerStatus(env.paths);
          const data: Record<string, unknown> = { manager_status: manager, quorum: { node: env.nodename, quorate: cfsQuorate(env.paths) ? 1 : 0 } };
          const nodes = Object.keys(manager.node_status ?? {}).sort();
          if (nodes.length) data['lrm_status'] = Object.fromEntries(nodes.map((n) => [n, readLrmStatus(env.paths, n)]));
          env.ctx.out(perlJsonPretty(data));
        }
        return 0;
      },
    },
    config: {
      group: RES,
      params: { type: { type: 'string', enum: ['ct', 'vm'], optional: true } },
      run: async (v) => {
        printConfig(env, typeof v['type'] === 'string' ? v['type'] : undefined);
        return 0;
      },
    },
    add: {
      group: RES,
      params: resourceParams(env, true),
      args: ['sid'],
      run: async (v) => {
        await haAdd(env, v);
        return 0;
      },
    },
    remove: {
      group: RES,
      params: { sid: { type: 'string' }, ...(haRemovePurgesRules(env.rel) ? { purge: { type: 'boolean', optional: true } as Param } : {}) },
      args: ['sid'],
      run: async (v) => {
        const { sid } = parseSid(env, String(v['sid']));
        if (!readResources(env.paths).some((r) => r.sid === sid)) throw new Die(`cannot delete service '${sid}', not HA managed!\n`);
        await lockHaDomain(env.paths, env.ctx.err, async () => {
          writeResources(env.paths, readResources(env.paths).filter((r) => r.sid !== sid));
          // before pve-ha-manager 5.0.7 the resource stays in the rules that name it
          if (haRemovePurgesRules(env.rel) && v['purge'] !== 0 && existsSync(path.join(env.paths.etcPve, 'ha', 'rules.cfg'))) {
            const rules = readRules(env.paths)
              .map((r) => ({ ...r, props: { ...r.props, resources: (r.props['resources'] ?? '').split(',').filter((x) => x !== sid).join(',') } }))
              .filter((r) => r.props.resources !== '');
            writeRules(env.paths, rules);
          }
        });
        return 0;
      },
    },
    set: {
      group: RES,
      params: resourceParams(env, false),
      args: ['sid'],
      run: async (v) => {
        await haSet(env, String(v['sid']), v);
        return 0;
      },
    },
    migrate: { alias: 'crm-command migrate' },
    relocate: { alias: 'crm-command relocate' },
    'crm-command': crm,
    ...groupTree(env),
  };
  if (env.rel.major >= 9) t['rules'] = rulesTree(env);
  return t;
}

/** The ha-manager tool. */
export const haManager: SimTool = {
  name: 'ha-manager',
  async run(args, ctx) {
    const env = simEnv(ctx);
    return runCli('ha-manager', tree(env), args, ctx, { prepare: async () => checkRpcEnv(env.paths) });
  },
};
