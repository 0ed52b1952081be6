/**
 * Where the guests of a node in maintenance went: `<state dir>/maintenance/<node>.json`, written
 * after each guest that moves, so `pvx node maintenance disable --return` brings back what pvx
 * moved even after an interrupted run.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { stateDir } from '../../config/paths.js';

/** One guest that left the node. */
export interface MovedGuest {
  vmid: number;
  type: 'qemu' | 'lxc';
  /** the node it went to */
  to: string;
  /** moved by the HA stack (it brings the guest back itself); false: moved by pvx */
  ha: boolean;
}

/** The record of one node's maintenance. */
export interface MaintenanceRecord {
  node: string;
  /** ISO time the maintenance was first enabled by pvx */
  since: string;
  guests: MovedGuest[];
}

const recordSchema = z.strictObject({
  version: z.literal(1),
  node: z.string(),
  since: z.string(),
  guests: z.array(z.strictObject({ vmid: z.int(), type: z.enum(['qemu', 'lxc']), to: z.string(), ha: z.boolean() })),
});

/** The file of a node's record. */
export function maintenanceFile(node: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(env), 'maintenance', `${node}.json`);
}

/** The record, or undefined when there is none; a file that is not a record throws with its path. */
export function readMaintenance(node: string, env: NodeJS.ProcessEnv = process.env): MaintenanceRecord | undefined {
  const file = maintenanceFile(node, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const parsed = recordSchema.safeParse(JSON.parse(text));
  if (!parsed.success || parsed.data.node !== node) throw new Error(`${file} is not a maintenance record of ${node}`);
  const { version: _v, ...rec } = parsed.data;
  return rec;
}

/** Write the record atomically (a new file renamed over the old one). */
export function writeMaintenance(rec: MaintenanceRecord, env: NodeJS.ProcessEnv = process.env): string {
  const file = maintenanceFile(rec.node, env);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, ...rec }, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}

/** Remove the record. */
export function removeMaintenance(node: string, env: NodeJS.ProcessEnv = process.env): void {
  rmSync(maintenanceFile(node, env), { force: true });
}

/** The record with `g` added (replacing an older entry of the same guest). */
export function withMoved(rec: MaintenanceRecord, g: MovedGuest): MaintenanceRecord {
  return { ...rec, guests: [...rec.guests.filter((x) => x.vmid !== g.vmid), g] };
}
