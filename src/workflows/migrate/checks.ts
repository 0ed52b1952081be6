/**
 * The checks each guest passes before it moves, and the native command it moves with. Pure: the
 * facts come from one /cluster/resources read, the target's quorum, CPU vendors and each guest's
 * configuration. A guest that fails a check is skipped with every reason; the others go on.
 */
import { guestMigrate, haManager, haSid } from '../../pve/argv.js';
import type { GuestConfigFacts } from '../../pve/parse/guest-config.js';
import type { GuestResource, StorageResource } from '../../pve/parse/pvesh-resources.js';
import { guestLabel } from '../../pve/names.js';

/** What the user asked for (validated). */
export interface MigrateRequest {
  target: string;
  online: boolean;
  restart: boolean;
  withLocalDisks: boolean;
  targetStorage?: string;
  bwlimitKiB?: number;
}

/** What was learned before any guest moves. */
export interface MigrateFacts {
  /** why nothing can move to the target (unreachable, offline, not quorate), if anything */
  targetProblem?: string;
  /** nodes pvx can run commands on (the inventory) */
  inventory: ReadonlySet<string>;
  /** node -> online | offline | unknown, from the resources */
  nodeStatus: ReadonlyMap<string, string>;
  /** node -> CPU vendor, where known */
  cpuVendor: ReadonlyMap<string, string>;
  storages: readonly StorageResource[];
}

/**
 * Guests with the HA state the HA stack reports for them: /cluster/resources shows `hastate` only
 * once the CRM has seen a service, but a resource that is configured and still queued is HA-managed
 * already (qm/pct would only queue a request for it).
 */
export function withHaStates(guests: readonly GuestResource[], services: ReadonlyArray<{ sid: string; state: string; crmState?: string }>): GuestResource[] {
  const bySid = new Map(services.map((s) => [s.sid, s]));
  return guests.map((g) => {
    if (g.hastate !== undefined) return g;
    const s = bySid.get(haSid(g.type, g.vmid));
    return s ? { ...g, hastate: s.crmState ?? s.state } : g;
  });
}

/** How a guest moves. */
export type MoveMode = 'live' | 'restart' | 'offline' | 'ha';

/** A guest that goes, with its exact command. */
export interface Move {
  guest: GuestResource;
  /** the node the command runs on (the guest's own) */
  node: string;
  argv: string[];
  title: string;
  mode: MoveMode;
  warnings: string[];
}

/** The verdict on one guest. */
export type Decision = { kind: 'move'; move: Move } | { kind: 'skip'; guest: GuestResource; reason: string; alreadyThere: boolean };

/** HA states in which a new request cannot (or should not) be queued. */
const HA_BUSY: Record<string, string> = {
  migrate: 'the HA stack is already moving it',
  relocate: 'the HA stack is already moving it',
  error: "it is in the HA error state: fix it, then ha-manager set <sid> --state disabled and back to started",
  fence: 'its node is being fenced',
  recovery: 'the HA stack is recovering it',
  freeze: 'HA has frozen it (its node is shutting down or in maintenance)',
};

function tool(g: GuestResource): 'qm' | 'pct' {
  return g.type === 'qemu' ? 'qm' : 'pct';
}

function isRunning(g: GuestResource): boolean {
  return g.status === 'running';
}

/**
 * `ha-manager migrate` takes no target storage (the HA stack moves a guest's disks to storage of the
 * same ID), so --target-storage cannot apply to an HA-managed guest that would move. Each such guest
 * with the reason; the caller refuses the whole run before anything moves.
 */
export function haTargetStorageConflicts(guests: readonly GuestResource[], req: MigrateRequest): Array<{ guest: GuestResource; reason: string }> {
  if (req.targetStorage === undefined) return [];
  return guests
    .filter((g) => g.hastate !== undefined && g.node !== req.target)
    .map((g) => ({
      guest: g,
      reason: `HA-managed (${haSid(g.type, g.vmid)}): ha-manager migrate cannot take --target-storage ${req.targetStorage}; the HA stack keeps its disks on storage with the same ID`,
    }));
}

/** Checks that need no guest configuration; reasons it cannot go (empty: read its config next). */
export function precheckGuest(g: GuestResource, req: MigrateRequest, f: MigrateFacts): { reasons: string[]; alreadyThere: boolean } {
  if (g.node === req.target) return { reasons: [`already on ${req.target}`], alreadyThere: true };
  if (f.targetProblem) return { reasons: [f.targetProblem], alreadyThere: false };
  const reasons: string[] = [];
  const status = f.nodeStatus.get(g.node);
  if (status !== undefined && status !== 'online') reasons.push(`its node ${g.node} is ${status}`);
  else if (!f.inventory.has(g.node)) reasons.push(`its node ${g.node} is not in the inventory (the migration runs on the guest's node)`);
  if (g.lock) reasons.push(`locked (${g.lock}); once nothing works on it: ${tool(g)} unlock ${g.vmid}`);
  if (g.hastate !== undefined) {
    const busy = HA_BUSY[g.hastate];
    if (busy) reasons.push(`HA state '${g.hastate}': ${busy.replace('<sid>', haSid(g.type, g.vmid))}`);
    return { reasons, alreadyThere: false };
  }
  if (g.type === 'lxc' && isRunning(g) && !req.restart) {
    reasons.push(
      req.online
        ? 'a running container cannot move live (--online); use --restart: it is shut down, moved and started on the target'
        : 'running container: needs --restart (shut down, moved, started on the target)',
    );
  }
  if (g.type === 'qemu' && isRunning(g) && !req.online) {
    reasons.push(req.restart ? 'running VM: qm has no restart migration; use --online (live migration)' : 'running VM: needs --online (live migration)');
  }
  return { reasons, alreadyThere: false };
}

function storageOn(f: MigrateFacts, node: string, storage: string): StorageResource | undefined {
  return f.storages.find((s) => s.node === node && s.storage === storage);
}

function available(s: StorageResource | undefined): boolean {
  return s !== undefined && s.status === 'available';
}

/**
 * Volumes qemu-server's migration marks `generated` (a cloud-init drive, a VM's TPM state): copied to
 * the target's storage like local disks, but live migration does not ask for --with-local-disks.
 */
function isGenerated(g: GuestResource, v: GuestConfigFacts['volumes'][number]): boolean {
  return g.type === 'qemu' && (v.cloudinit || v.key === 'tpmstate0');
}

/**
 * A VM drive given as a host path stays behind: qemu-server refuses it ("can't migrate local disk
 * '<path>': local file/device") unless the drive is marked shared=1, and always refuses the host's
 * CD drive ("can't migrate local cdrom drive"); --with-local-disks does not change either.
 */
function hostDriveReasons(g: Pick<GuestResource, 'vmid'>, config: GuestConfigFacts): string[] {
  return config.hostDrives
    .filter((d) => d.source === 'cdrom' || !d.shared)
    .map((d) => {
      const eject = `eject it first (qm set ${g.vmid} --${d.key} none,media=cdrom)`;
      if (d.source === 'cdrom') return `${d.key} passes the host's CD drive through, which PVE cannot migrate: ${eject}`;
      const what = `${d.key} is the host ${d.cdrom ? 'CD-ROM' : 'disk'} ${d.source}, which PVE cannot migrate ("local file/device")`;
      if (d.cdrom) return `${what}: ${eject}`;
      return `${what}: copy it onto a storage (qm disk import ${g.vmid} ${d.source} <storage>, then use that volume as ${d.key}), or, if ${d.source} is the same shared device on every node, add shared=1 to ${d.key}`;
    });
}

/** The full verdict on a guest that passed precheckGuest, from its configuration. */
export function decideGuest(g: GuestResource, config: GuestConfigFacts, req: MigrateRequest, f: MigrateFacts): Decision {
  const reasons: string[] = [];
  const label = guestLabel(g);
  for (const b of config.bindMounts) reasons.push(`mount point ${b.key} is a host path ('${b.source}'), which cannot be migrated`);
  reasons.push(...hostDriveReasons(g, config));
  if (config.hostDevices.length > 0) reasons.push(`uses host devices (${config.hostDevices.join(', ')}), which tie it to ${g.node}`);

  // local: disks the user must agree to copy; copied: every volume that moves to the target's storage
  const local: string[] = [];
  let copied = 0;
  for (const v of config.volumes) {
    const src = storageOn(f, g.node, v.storage);
    const shared = src?.shared ?? false;
    if (v.cdrom && !v.cloudinit) {
      if (!shared) reasons.push(`local CD-ROM image '${v.volid}' (${v.key}): eject it first (qm set ${g.vmid} --${v.key} none,media=cdrom)`);
      else if (!available(storageOn(f, req.target, v.storage))) reasons.push(`storage '${v.storage}' (CD-ROM ${v.key}) is not available on ${req.target}`);
      continue;
    }
    if (shared) {
      if (!available(storageOn(f, req.target, v.storage))) reasons.push(`storage '${v.storage}' (${v.volid}) is not available on ${req.target}`);
      continue;
    }
    copied++;
    const generated = isGenerated(g, v);
    if (!generated) local.push(v.volid);
    const dest = req.targetStorage ?? v.storage;
    if (!available(storageOn(f, req.target, dest))) {
      const what = generated ? `${v.key === 'tpmstate0' ? 'TPM state' : 'cloud-init drive'} ${v.volid}, copied with the guest` : `local disk ${v.volid}`;
      reasons.push(
        req.targetStorage
          ? `target storage '${dest}' does not exist on ${req.target}`
          : `storage '${dest}' (${what}) does not exist on ${req.target}; name one that does with --target-storage`,
      );
    }
  }
  if (local.length > 0 && !req.withLocalDisks) {
    reasons.push(`disks on local storage (${local.join(', ')}): needs --with-local-disks (they are copied to ${req.target})`);
  }
  if (reasons.length > 0) return { kind: 'skip', guest: g, reason: [...new Set(reasons)].join('; '), alreadyThere: false };

  const running = isRunning(g);
  const ha = g.hastate !== undefined;
  const warnings: string[] = [];
  if (g.type === 'qemu' && running) {
    const from = f.cpuVendor.get(g.node);
    const to = f.cpuVendor.get(req.target);
    if (from && to && from !== to) {
      warnings.push(
        `${label} moves live from a ${from} CPU (${g.node}) to a ${to} CPU (${req.target}): with CPU type 'host' it may crash; a common model (x86-64-v2-AES) is safe`,
      );
    }
  }
  const named = g.name ? ` (${g.name})` : '';
  const common = {
    ...(copied > 0 && req.targetStorage !== undefined ? { targetStorage: req.targetStorage } : {}),
    ...(req.bwlimitKiB !== undefined ? { bwlimitKiB: req.bwlimitKiB } : {}),
  };
  let move: Move;
  if (ha) {
    const sid = haSid(g.type, g.vmid);
    move = {
      guest: g,
      node: g.node,
      argv: haManager.migrate(sid, req.target),
      title: `request the HA migration of ${label}${named} to ${req.target}, then wait until it runs there`,
      mode: 'ha',
      warnings,
    };
  } else if (g.type === 'qemu') {
    move = {
      guest: g,
      node: g.node,
      argv: guestMigrate.qm(g.vmid, req.target, { online: running, withLocalDisks: local.length > 0, ...common }),
      title: `migrate ${label}${named} ${running ? 'live' : 'offline'} to ${req.target}`,
      mode: running ? 'live' : 'offline',
      warnings,
    };
  } else {
    move = {
      guest: g,
      node: g.node,
      argv: guestMigrate.pct(g.vmid, req.target, { restart: running, ...common }),
      title: `migrate ${label}${named} ${running ? 'with a restart' : 'offline'} to ${req.target}`,
      mode: running ? 'restart' : 'offline',
      warnings,
    };
  }
  return { kind: 'move', move };
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** A warning when the running guests moving to the target use more memory than it has free. */
export function memoryWarning(moves: readonly Move[], target: string, free: number | undefined): string | undefined {
  if (free === undefined) return undefined;
  const need = moves.filter((m) => m.guest.status === 'running').reduce((sum, m) => sum + (m.guest.maxmem ?? 0), 0);
  if (need <= free) return undefined;
  return `${target} has ${gib(free)} of memory free; the running guests moving there may use up to ${gib(need)}`;
}
