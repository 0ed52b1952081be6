/**
 * Where each guest of a node being emptied goes. Pure: every fact is read before. A guest goes to
 * a target only when migrate's own checks pass for that target (storages, local disks, locks, host
 * paths), its configured memory fits the target's free memory (less what this plan already sends
 * there), its vCPUs fit the target's CPUs, and a running VM with CPU type `host` keeps its CPU
 * vendor. Among the targets that fit, the one with the most free memory left wins; a guest that
 * fits nowhere is skipped with each target's reason, never forced.
 */
import type { GuestConfigFacts } from '../../pve/parse/guest-config.js';
import type { GuestResource, StorageResource } from '../../pve/parse/pvesh-resources.js';
import { decideGuest, precheckGuest, type MigrateFacts, type MigrateRequest, type Move } from '../migrate/checks.js';

/** A node guests may go to, with what was read of it. */
export interface PlacementTarget {
  node: string;
  /** bytes of memory free now (maxmem - mem), when known */
  freeMem?: number;
  /** logical CPUs, when known */
  maxcpu?: number;
  /** CPU vendor (GenuineIntel, AuthenticAMD), when read */
  cpuVendor?: string;
  /** why nothing can go there (unreachable, not quorate, offline) */
  problem?: string;
}

/** A guest of the source node and its configuration (or why it could not be read). */
export interface PlacementGuest {
  guest: GuestResource;
  config?: GuestConfigFacts;
  problem?: string;
}

/** Everything placement needs. */
export interface PlacementInput {
  source: string;
  sourceVendor?: string;
  guests: readonly PlacementGuest[];
  targets: readonly PlacementTarget[];
  /** nodes pvx can run commands on */
  inventory: ReadonlySet<string>;
  /** node -> online | offline | unknown */
  nodeStatus: ReadonlyMap<string, string>;
  storages: readonly StorageResource[];
  /** copy disks on local storage (as `pvx migrate --with-local-disks`) */
  withLocalDisks: boolean;
  bwlimitKiB?: number;
}

/** The verdict on one guest. */
export type Placement =
  | { kind: 'move'; guest: GuestResource; target: string; move: Move }
  | { kind: 'skip'; guest: GuestResource; reason: string };

const MiB = 1024 * 1024;

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function request(target: string, input: PlacementInput): MigrateRequest {
  // a drain moves running VMs live and running containers with a restart, as migrate does when asked
  return { target, online: true, restart: true, withLocalDisks: input.withLocalDisks, ...(input.bwlimitKiB !== undefined ? { bwlimitKiB: input.bwlimitKiB } : {}) };
}

function facts(input: PlacementInput, target?: PlacementTarget): MigrateFacts {
  return {
    inventory: input.inventory,
    nodeStatus: input.nodeStatus,
    // the vendor check is placement's own (a refusal, not migrate's warning)
    cpuVendor: new Map(),
    storages: input.storages,
    ...(target?.problem !== undefined ? { targetProblem: target.problem } : {}),
  };
}

/** The memory a guest takes where it runs: its configured memory, from the resources or else its config. */
export function configuredMemory(g: GuestResource, config?: GuestConfigFacts): number | undefined {
  if (g.maxmem !== undefined && g.maxmem > 0) return g.maxmem;
  const m = Number(config?.entries.get('memory'));
  return Number.isFinite(m) && m > 0 ? m * MiB : undefined;
}

/** vCPUs a guest asks for: sockets × cores for a VM (qemu-server refuses more than the host has), cores for a container. */
export function guestCpus(g: GuestResource, config?: GuestConfigFacts): number | undefined {
  const n = (k: string) => {
    const v = Number(config?.entries.get(k));
    return Number.isInteger(v) && v > 0 ? v : undefined;
  };
  if (g.type === 'qemu') {
    const vcpus = n('vcpus');
    return vcpus ?? (n('sockets') ?? 1) * (n('cores') ?? 1);
  }
  return n('cores');
}

/** True when a VM's CPU type is `host` (config `cpu: host` or `cpu: cputype=host,…`): it needs the same CPU vendor to move live. */
export function usesHostCpu(config?: GuestConfigFacts): boolean {
  const v = config?.entries.get('cpu');
  if (v === undefined) return false;
  const first = v.split(',')[0] ?? '';
  const type = first.includes('=') ? v.split(',').find((p) => p.startsWith('cputype='))?.slice(8) : first;
  return type === 'host';
}

/** Reasons the guest cannot go to `t` given what the plan already sends there (`used` bytes). */
function targetReasons(p: PlacementGuest, t: PlacementTarget, used: number, input: PlacementInput): { reasons: string[]; move?: Move } {
  const g = p.guest;
  const config = p.config as GuestConfigFacts;
  const d = decideGuest(g, config, request(t.node, input), facts(input, t));
  if (t.problem !== undefined) return { reasons: [t.problem] };
  const reasons = d.kind === 'skip' ? d.reason.split('; ') : [];
  const running = g.status === 'running';
  if (running) {
    const need = configuredMemory(g, config);
    if (t.freeMem === undefined) reasons.push(`the free memory of ${t.node} is not known`);
    else if (need === undefined) reasons.push('its configured memory is not known');
    else if (need > t.freeMem - used) {
      reasons.push(`needs ${gib(need)} of memory, ${t.node} has ${gib(Math.max(0, t.freeMem - used))} free${used > 0 ? ' after the guests planned there' : ''}`);
    }
  }
  const cpus = guestCpus(g, config);
  if (cpus !== undefined && t.maxcpu !== undefined && cpus > t.maxcpu) reasons.push(`needs ${cpus} CPUs, ${t.node} has ${t.maxcpu}`);
  if (g.type === 'qemu' && running && usesHostCpu(config)) {
    if (input.sourceVendor === undefined || t.cpuVendor === undefined) reasons.push(`CPU type 'host' moving live: the CPU vendor of ${input.sourceVendor === undefined ? input.source : t.node} is not known`);
    else if (input.sourceVendor !== t.cpuVendor) reasons.push(`CPU type 'host' moving live from a ${input.sourceVendor} CPU to a ${t.cpuVendor} CPU (${t.node})`);
  }
  return d.kind === 'move' && reasons.length === 0 ? { reasons, move: d.move } : { reasons: [...new Set(reasons)] };
}

/**
 * Place every guest. Running guests are placed first, largest memory first (they are what fills a
 * node); the result keeps the order of `input.guests`.
 */
export function placeGuests(input: PlacementInput): Placement[] {
  const used = new Map<string, number>(input.targets.map((t) => [t.node, 0]));
  const out = new Map<PlacementGuest, Placement>();
  const order = [...input.guests].sort((a, b) => {
    const ra = a.guest.status === 'running' ? 1 : 0;
    const rb = b.guest.status === 'running' ? 1 : 0;
    if (ra !== rb) return rb - ra;
    const ma = configuredMemory(a.guest, a.config) ?? 0;
    const mb = configuredMemory(b.guest, b.config) ?? 0;
    return mb - ma || a.guest.vmid - b.guest.vmid;
  });
  for (const p of order) {
    const g = p.guest;
    if (p.config === undefined) {
      out.set(p, { kind: 'skip', guest: g, reason: p.problem ?? 'its configuration was not read' });
      continue;
    }
    if (input.targets.length === 0) {
      out.set(p, { kind: 'skip', guest: g, reason: 'no target node to move it to' });
      continue;
    }
    // reasons that hold whatever the target (locked, HA busy, its node offline)
    const pre = precheckGuest(g, request(input.targets[0]?.node ?? '', input), facts(input));
    if (pre.reasons.length > 0) {
      out.set(p, { kind: 'skip', guest: g, reason: pre.reasons.join('; ') });
      continue;
    }
    const verdicts = input.targets.map((t) => ({ t, ...targetReasons(p, t, used.get(t.node) ?? 0, input) }));
    const fits = verdicts.filter((v) => v.move !== undefined);
    if (fits.length === 0) {
      out.set(p, { kind: 'skip', guest: g, reason: nowhere(verdicts.map((v) => ({ node: v.t.node, reasons: v.reasons }))) });
      continue;
    }
    const room = (t: PlacementTarget) => (t.freeMem ?? 0) - (used.get(t.node) ?? 0);
    const best = fits.reduce((a, b) => (room(b.t) > room(a.t) ? b : a));
    if (g.status === 'running') used.set(best.t.node, (used.get(best.t.node) ?? 0) + (configuredMemory(g, p.config) ?? 0));
    out.set(p, { kind: 'move', guest: g, target: best.t.node, move: best.move as Move });
  }
  return input.guests.map((p) => out.get(p) as Placement);
}

/** One reason line for a guest that fits on no target: shared reasons once, else each target's. */
function nowhere(per: ReadonlyArray<{ node: string; reasons: string[] }>): string {
  const first = per[0]?.reasons.join('; ') ?? '';
  if (per.every((p) => p.reasons.join('; ') === first)) return `fits on no target (${per.map((p) => p.node).join(', ')}): ${first}`;
  return `fits on no target: ${per.map((p) => `${p.node}: ${p.reasons.join('; ')}`).join(' | ')}`;
}
