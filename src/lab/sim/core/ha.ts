/** HA configuration in /etc/pve/ha (resources.cfg, groups.cfg, rules.cfg, manager_status, crm_commands). */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { SimPaths } from './paths.js';
import { cfsLock, readText, writeAtomic } from './pvefs.js';
import { parseSectionConfig, writeSectionConfig, type Section } from './section-config.js';
import { Die } from './errors.js';

/** A resource of resources.cfg: sid `vm:100` from section `vm: 100`. */
export interface HaResource {
  sid: string;
  type: string;
  name: string;
  props: Record<string, string>;
}

function haFile(paths: SimPaths, name: string): string {
  return path.join(paths.etcPve, 'ha', name);
}

/** Every resource, in file order. */
export function readResources(paths: SimPaths): HaResource[] {
  return parseSectionConfig(readText(haFile(paths, 'resources.cfg')) ?? '').map((s) => ({ sid: `${s.type}:${s.id}`, type: s.type, name: s.id, props: s.props }));
}

/** Write resources.cfg. */
export function writeResources(paths: SimPaths, res: readonly HaResource[]): void {
  mkdirSync(path.join(paths.etcPve, 'ha'), { recursive: true });
  writeAtomic(paths, haFile(paths, 'resources.cfg'), writeSectionConfig(res.map((r) => ({ type: r.type, id: r.name, props: r.props }))));
}

/** Is a guest an HA resource (vm_is_ha_managed)? */
export function isHaManaged(paths: SimPaths, vmid: number | string): boolean {
  return readResources(paths).some((r) => r.name === String(vmid) && (r.type === 'vm' || r.type === 'ct'));
}

/** groups.cfg sections (PVE 8). */
export function readGroups(paths: SimPaths): Section[] {
  return parseSectionConfig(readText(haFile(paths, 'groups.cfg')) ?? '');
}

/** Write groups.cfg. */
export function writeGroups(paths: SimPaths, groups: readonly Section[]): void {
  mkdirSync(path.join(paths.etcPve, 'ha'), { recursive: true });
  writeAtomic(paths, haFile(paths, 'groups.cfg'), writeSectionConfig(groups, () => ['nodes']));
}

/** rules.cfg sections (PVE 9). */
export function readRules(paths: SimPaths): Section[] {
  return parseSectionConfig(readText(haFile(paths, 'rules.cfg')) ?? '');
}

/** Write rules.cfg. */
export function writeRules(paths: SimPaths, rules: readonly Section[]): void {
  mkdirSync(path.join(paths.etcPve, 'ha'), { recursive: true });
  writeAtomic(paths, haFile(paths, 'rules.cfg'), writeSectionConfig(rules, (t) => (t === 'node-affinity' ? ['nodes', 'resources'] : ['affinity', 'resources'])));
}

/** manager_status as the CRM writes it (absent until a CRM ran). */
export interface ManagerStatus {
  master_node?: string;
  timestamp?: number;
  node_status?: Record<string, string>;
  service_status?: Record<string, { node?: string; state?: string; running?: number; uid?: string; target?: string; maintenance_node?: string }>;
  node_request?: Record<string, { maintenance?: number }>;
  disarm?: { mode?: string; state?: string };
}

/** Read /etc/pve/ha/manager_status. */
export function readManagerStatus(paths: SimPaths): ManagerStatus {
  const t = readText(haFile(paths, 'manager_status'));
  if (!t) return {};
  try {
    return JSON.parse(t) as ManagerStatus;
  } catch {
    return {};
  }
}

/** What an LRM wrote to /etc/pve/nodes/<node>/lrm_status. */
export interface LrmStatusFile {
  state?: string;
  mode?: string;
  timestamp?: number;
  results?: Record<string, { sid: string; state: string; exit_code: number }>;
}

/** Read /etc/pve/nodes/<node>/lrm_status. */
export function readLrmStatus(paths: SimPaths, node: string): LrmStatusFile {
  const t = readText(path.join(paths.etcPve, 'nodes', node, 'lrm_status'));
  if (!t) return {};
  try {
    return JSON.parse(t) as LrmStatusFile;
  } catch {
    return {};
  }
}

/** Write /etc/pve/nodes/<node>/lrm_status (the LRM of that node). */
export function writeLrmStatus(paths: SimPaths, node: string, st: LrmStatusFile): void {
  mkdirSync(path.join(paths.etcPve, 'nodes', node), { recursive: true });
  writeAtomic(paths, path.join(paths.etcPve, 'nodes', node, 'lrm_status'), JSON.stringify(st));
}

/** Write /etc/pve/ha/manager_status (the CRM master). */
export function writeManagerStatus(paths: SimPaths, st: ManagerStatus): void {
  mkdirSync(path.join(paths.etcPve, 'ha'), { recursive: true });
  writeAtomic(paths, haFile(paths, 'manager_status'), JSON.stringify(st));
}

/** PVE2.pm any_pending_crm_command: crm_commands holds something. */
export function hasCrmCommands(paths: SimPaths): boolean {
  return (readText(haFile(paths, 'crm_commands')) ?? '') !== '';
}

/** Take the queued crm commands (the caller holds the domain-ha lock). */
export function takeCrmCommands(paths: SimPaths): string[] {
  const file = haFile(paths, 'crm_commands');
  const text = readText(file);
  if (!text) return [];
  writeAtomic(paths, file, '');
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** PVE::HA::Config::queue_crm_commands. */
export async function queueCrmCommand(paths: SimPaths, cmd: string, err: (t: string) => void): Promise<void> {
  await lockHaDomain(paths, err, async () => {
    const file = haFile(paths, 'crm_commands');
    writeAtomic(paths, file, `${readText(file) ?? ''}${cmd}\n`);
  });
}

/** PVE::HA::Config::lock_ha_domain (errors prefixed with `errmsg: ` when given). */
export async function lockHaDomain<T>(paths: SimPaths, err: (t: string) => void, fn: () => Promise<T>, errmsg?: string): Promise<T> {
  try {
    return await cfsLock(paths, 'domain-ha', fn, err);
  } catch (e) {
    if (errmsg) throw new Die(`${errmsg}: ${e instanceof Error ? e.message : String(e)}`);
    throw e;
  }
}

/** Have HA groups been migrated to rules (PVE 9 with no groups.cfg groups left)? */
export function groupsMigrated(paths: SimPaths, major: number): boolean {
  if (major < 9) return false;
  return !existsSync(haFile(paths, 'groups.cfg')) || readGroups(paths).length === 0;
}
