/** `lab up --guests N`: VM and CT configs spread over the nodes, created with the nodes' own qm/pct. */
import { execInNode, type RunningNode } from './exec.js';

/** One guest to seed. */
export interface GuestSpec {
  vmid: number;
  node: string;
  kind: 'qemu' | 'lxc';
  name: string;
  memoryMiB: number;
  /** local-lvm (local to the node) or labshare (shared nfs storage of the simulator's storage.cfg) */
  storage: 'local-lvm' | 'labshare';
  diskGiB: number;
  running: boolean;
}

/** The container template every seeded CT is created from. */
export const CT_TEMPLATE = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/**
 * Spread `count` guests from VMID 100 over `nodes` round-robin: VMs and CTs alternate, and the
 * storage and running patterns differ from the node rotation, so every node gets a mix.
 */
export function planGuests(count: number, nodes: readonly string[]): GuestSpec[] {
  const out: GuestSpec[] = [];
  for (let i = 0; i < count && nodes.length > 0; i++) {
    const vmid = 100 + i;
    const kind = i % 2 === 0 ? 'qemu' : 'lxc';
    out.push({
      vmid,
      node: nodes[i % nodes.length] as string,
      kind,
      name: `${kind === 'qemu' ? 'vm' : 'ct'}${vmid}`,
      memoryMiB: kind === 'qemu' ? 1024 : 512,
      storage: i % 4 === 1 || i % 4 === 2 ? 'labshare' : 'local-lvm',
      diskGiB: kind === 'qemu' ? 8 : 4,
      running: i % 3 !== 1,
    });
  }
  return out;
}

/** The argv that creates a guest on its node. */
export function createArgv(g: GuestSpec): string[] {
  const id = String(g.vmid);
  return g.kind === 'qemu'
    ? ['qm', 'create', id, '--name', g.name, '--memory', String(g.memoryMiB), '--scsi0', `${g.storage}:${g.diskGiB}`]
    : ['pct', 'create', id, CT_TEMPLATE, '--hostname', g.name, '--memory', String(g.memoryMiB), '--rootfs', `${g.storage}:${g.diskGiB}`];
}

/** VMIDs listed by `qm list` / `pct list` output (first column of every row after the header). */
export function parseVmids(listOutput: string): number[] {
  return listOutput
    .split('\n')
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((n) => Number.isInteger(n) && n > 0);
}

async function run(n: RunningNode, argv: string[]): Promise<string> {
  const r = await execInNode(n, argv, { cwd: '/root', timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(`${n.name}: ${argv.join(' ')} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Create (and start) the planned guests that do not exist yet on their node. Returns how many were created. */
export async function seedGuests(plans: readonly GuestSpec[], nodes: ReadonlyMap<string, RunningNode>, log: (line: string) => void): Promise<number> {
  let created = 0;
  const byNode = new Map<string, GuestSpec[]>();
  for (const g of plans) byNode.set(g.node, [...(byNode.get(g.node) ?? []), g]);
  await Promise.all(
    [...byNode].map(async ([node, guests]) => {
      const n = nodes.get(node);
      if (!n) throw new Error(`guest seeding: node ${node} is not running`);
      const have = new Set([...parseVmids(await run(n, ['qm', 'list'])), ...parseVmids(await run(n, ['pct', 'list']))]);
      for (const g of guests) {
        if (have.has(g.vmid)) continue;
        await run(n, createArgv(g));
        if (g.running) await run(n, [g.kind === 'qemu' ? 'qm' : 'pct', 'start', String(g.vmid)]);
        created++;
      }
      const made = guests.filter((g) => !have.has(g.vmid));
      if (made.length) log(`${node}: created ${made.map((g) => `${g.kind === 'qemu' ? 'VM' : 'CT'} ${g.vmid}`).join(', ')}`);
    }),
  );
  return created;
}
