/** The `qm` and `pct` command trees (the subset the lab needs: list, config, status, start, stop, create, migrate, set, unlock, destroy). */
import type { SimTool } from '../types.js';
import { guestRecords } from '../api/guests.js';
import { checkRpcEnv } from '../core/cfs.js';
import { runCli, type CommandTree } from '../core/cli.js';
import { simEnv, type SimEnv } from '../core/env.js';
import { saveGuest, runState, type GuestType } from '../core/guests.js';
import { fmtCidr, fmtNode, fmtVmid, type Param } from '../core/schema.js';
import { renderPctList, renderQmList } from '../render/guest-list.js';
import { checkLock, createGuest, destroyGuest, loadConfig, startGuest, stopGuest } from './guest-ops.js';
import { migrateGuest } from './migrate.js';

const vmidParam: Param = { type: 'integer', format: fmtVmid, minimum: 100, maximum: 999999999 };
const str: Param = { type: 'string', optional: true };
const int: Param = { type: 'integer', optional: true };
const bool: Param = { type: 'boolean', optional: true };

function indexed(prefix: string, count: number, p: Param): Record<string, Param> {
  const out: Record<string, Param> = {};
  for (let i = 0; i < count; i++) out[`${prefix}${i}`] = p;
  return out;
}

function vmOptions(): Record<string, Param> {
  return {
    name: str,
    memory: str,
    balloon: int,
    cores: { type: 'integer', minimum: 1, optional: true },
    sockets: { type: 'integer', minimum: 1, optional: true },
    cpu: str,
    numa: bool,
    ostype: str,
    scsihw: str,
    boot: str,
    bios: str,
    machine: str,
    agent: str,
    onboot: bool,
    protection: bool,
    template: bool,
    description: str,
    tags: str,
    efidisk0: str,
    ...indexed('net', 4, str),
    ...indexed('scsi', 4, str),
    ...indexed('virtio', 4, str),
    ...indexed('sata', 4, str),
    ...indexed('ide', 3, str),
    ...indexed('serial', 2, str),
  };
}

function ctOptions(): Record<string, Param> {
  return {
    hostname: str,
    memory: { type: 'integer', minimum: 16, optional: true },
    swap: { type: 'integer', minimum: 0, optional: true },
    cores: { type: 'integer', minimum: 1, optional: true },
    rootfs: str,
    ostype: str,
    arch: str,
    unprivileged: bool,
    onboot: bool,
    protection: bool,
    template: bool,
    description: str,
    tags: str,
    features: str,
    nameserver: str,
    searchdomain: str,
    ...indexed('net', 4, str),
    ...indexed('mp', 4, str),
  };
}

function printConfig(env: SimEnv, type: GuestType, vmid: number): number {
  const g = loadConfig(env, type, vmid);
  const keys = Object.keys(g.conf).sort();
  for (const k of keys) {
    if (k === 'digest' || (type === 'lxc' && k.startsWith('lxc.'))) continue;
    env.ctx.out(`${k}: ${g.conf[k]}\n`);
  }
  if (type === 'lxc') for (const k of keys.filter((x) => x.startsWith('lxc.'))) env.ctx.out(`${k}: ${g.conf[k]}\n`);
  return 0;
}

async function setOptions(env: SimEnv, type: GuestType, vmid: number, values: Record<string, unknown>, allowed: Record<string, Param>): Promise<number> {
  const g = loadConfig(env, type, vmid);
  if (!values['skiplock'] && values['lock'] === undefined) checkLock(type, g);
  for (const [k, val] of Object.entries(values)) {
    if (val === undefined || k === 'vmid' || k === 'delete' || k === 'skiplock' || k === 'digest') continue;
    if (allowed[k] || k === 'lock') g.conf[k] = String(val);
  }
  const del = values['delete'];
  if (typeof del === 'string') for (const k of del.split(/[,; ]+/).filter(Boolean)) delete g.conf[k];
  saveGuest(env.paths, type, env.nodename, vmid, g);
  return 0;
}

function tree(env: SimEnv, type: GuestType): CommandTree {
  const isVm = type === 'qemu';
  const api = isVm ? 'PVE::API2::Qemu' : 'PVE::API2::LXC';
  const cfgGroup = isVm ? 'PVE::API2::Qemu' : 'PVE::API2::LXC::Config';
  const statusGroup = isVm ? 'PVE::API2::Qemu' : 'PVE::API2::LXC::Status';
  const cliGroup = isVm ? 'PVE::CLI::qm' : 'PVE::CLI::pct';
  const opts = isVm ? vmOptions() : ctOptions();
  const vmid = (v: Record<string, unknown>): number => Number(v['vmid']);
  const migrateParams: Record<string, Param> = isVm
    ? {
        vmid: vmidParam,
        target: { type: 'string', format: fmtNode },
        online: bool,
        force: bool,
        migration_type: { type: 'string', enum: ['secure', 'insecure'], optional: true },
        migration_network: { type: 'string', format: fmtCidr, optional: true },
        'with-local-disks': bool,
        targetstorage: str,
        bwlimit: { type: 'integer', minimum: 0, optional: true },
      }
    : {
        vmid: vmidParam,
        target: { type: 'string', format: fmtNode },
        online: bool,
        restart: bool,
        timeout: { type: 'integer', optional: true },
        'target-storage': str,
        bwlimit: { type: 'number', minimum: 0, optional: true },
      };
  if (isVm && env.rel.major >= 9) migrateParams['with-conntrack-state'] = bool;
  return {
    list: {
      group: api,
      params: isVm ? { full: bool } : {},
      run: async (v) => {
        const recs = guestRecords(env, type, env.nodename);
        if (isVm && v['full']) for (const r of recs) if (r['status'] === 'running') r['qmpstatus'] = 'running';
        env.ctx.out(isVm ? renderQmList(recs) : renderPctList(recs));
        return 0;
      },
    },
    config: {
      group: cfgGroup,
      params: { vmid: vmidParam, current: bool, snapshot: str },
      args: ['vmid'],
      run: async (v) => printConfig(env, type, vmid(v)),
    },
    status: {
      group: cliGroup,
      params: { vmid: vmidParam, verbose: bool },
      args: ['vmid'],
      run: async (v) => {
        loadConfig(env, type, vmid(v));
        env.ctx.out(`status: ${runState(env.paths, env.nodename, vmid(v)) ? 'running' : 'stopped'}\n`);
        return 0;
      },
    },
    start: {
      group: statusGroup,
      params: { vmid: vmidParam, skiplock: bool, timeout: int },
      args: ['vmid'],
      run: async (v) => startGuest(env, type, vmid(v)),
    },
    stop: {
      group: statusGroup,
      params: { vmid: vmidParam, skiplock: bool, timeout: int, keepActive: bool, 'overrule-shutdown': bool },
      args: ['vmid'],
      run: async (v) => stopGuest(env, type, vmid(v)),
    },
    shutdown: {
      group: statusGroup,
      params: { vmid: vmidParam, timeout: int, forceStop: bool, keepActive: bool },
      args: ['vmid'],
      run: async (v) => stopGuest(env, type, vmid(v)),
    },
    create: {
      group: api,
      params: isVm
        ? { vmid: vmidParam, ...opts, start: bool, pool: str, storage: str }
        : { vmid: vmidParam, ostemplate: { type: 'string' }, ...opts, start: bool, pool: str, storage: str, password: str, 'ssh-public-keys': str },
      args: isVm ? ['vmid'] : ['vmid', 'ostemplate'],
      run: async (v) => createGuest(env, type, vmid(v), v),
    },
    migrate: {
      group: api,
      params: migrateParams,
      args: ['vmid', 'target'],
      run: async (v) => migrateGuest(env, type, v),
    },
    set: {
      group: cfgGroup,
      params: { vmid: vmidParam, ...opts, lock: str, delete: str, skiplock: bool, digest: str },
      args: ['vmid'],
      run: async (v) => setOptions(env, type, vmid(v), v, opts),
    },
    unlock: {
      group: cliGroup,
      params: { vmid: vmidParam },
      args: ['vmid'],
      run: async (v) => {
        const g = loadConfig(env, type, vmid(v));
        delete g.conf['lock'];
        saveGuest(env.paths, type, env.nodename, vmid(v), g);
        return 0;
      },
    },
    destroy: {
      group: api,
      params: isVm ? { vmid: vmidParam, purge: bool, skiplock: bool, 'destroy-unreferenced-disks': bool } : { vmid: vmidParam, purge: bool, force: bool, 'destroy-unreferenced-disks': bool },
      args: ['vmid'],
      run: async (v) => destroyGuest(env, type, vmid(v), v),
    },
  };
}

function guestTool(name: 'qm' | 'pct', type: GuestType): SimTool {
  return {
    name,
    async run(args, ctx) {
      const env = simEnv(ctx);
      return runCli(name, tree(env, type), args, ctx, { prepare: async () => checkRpcEnv(env.paths) });
    },
  };
}

/** The qm tool. */
export const qm = guestTool('qm', 'qemu');
/** The pct tool. */
export const pct = guestTool('pct', 'lxc');

