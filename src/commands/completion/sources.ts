/**
 * Where completion values come from: fixed lists, the inventory file, the lab state folders and the
 * backup folder. Only local files are read: completing never opens a connection to a node.
 */
import { readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readPvxEnv } from '../../config/env-vars.js';
import { findInventory } from '../../config/inventory-path.js';
import { backupsDir } from '../../config/paths.js';

/** A word the shell may offer, with a description for shells that show one. */
export interface Candidate {
  value: string;
  description?: string;
}

/** What the shell completes besides the candidates: nothing, file names, or directories. */
export type Fallback = 'none' | 'files' | 'dirs';

/** The answer to one completion request. */
export interface Completion {
  candidates: Candidate[];
  fallback: Fallback;
}

/** What a source knows of the command line being completed. */
export interface Query {
  /** the word under the cursor (for an option value: the value alone) */
  cur: string;
  /** the command path, e.g. `lab fault` */
  path: string;
  /** operands given to the command so far */
  positionals: string[];
  /** values of the options given so far, by attribute name (`inventory`, `name`, …) */
  options: ReadonlyMap<string, string>;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Produces the values of one option or argument. */
export type Source = (q: Query) => Promise<Completion>;

/** No candidates, and no file names either. */
export const nothing: Source = async () => ({ candidates: [], fallback: 'none' });

/** File names (the shell lists them). */
export const files: Source = async () => ({ candidates: [], fallback: 'files' });

/** Directory names (the shell lists them). */
export const dirs: Source = async () => ({ candidates: [], fallback: 'dirs' });

/** A fixed list, possibly loaded on first use (so its module is read only when that value is completed). */
export function fixed(values: () => Promise<readonly string[]> | readonly string[]): Source {
  return async () => ({ candidates: (await values()).map((value) => ({ value })), fallback: 'none' });
}

/**
 * A comma-separated list of what `inner` offers: the words before the last comma are kept as typed;
 * with `once`, the ones already there are not offered again (`pve1:2,pve2` counts pve1 as given).
 */
export function commaList(inner: Source, { once = true }: { once?: boolean } = {}): Source {
  return async (q) => {
    const cut = q.cur.lastIndexOf(',') + 1;
    const head = q.cur.slice(0, cut);
    const given = new Set(once ? head.split(',').map((w) => w.split(':')[0]) : []);
    const r = await inner({ ...q, cur: q.cur.slice(cut) });
    return { ...r, candidates: r.candidates.filter((c) => !given.has(c.value)).map((c) => ({ ...c, value: head + c.value })) };
  };
}

/** Several sources answered together; the widest fallback wins. */
export function both(...sources: Source[]): Source {
  return async (q) => {
    const all = await Promise.all(sources.map((s) => s(q)));
    const fallback = all.find((r) => r.fallback === 'files')?.fallback ?? all.find((r) => r.fallback === 'dirs')?.fallback ?? 'none';
    return { candidates: all.flatMap((r) => r.candidates), fallback };
  };
}

/** The inventory file the command would use (-i, PVX_INVENTORY, ./pvx.yaml, the config dir), if any. */
export function inventoryFile(q: Query): string | undefined {
  try {
    return findInventory(q.options.get('inventory'), readPvxEnv(q.env).inventory, q.env, q.cwd);
  } catch {
    return undefined;
  }
}

/** Node names of the inventory, unvalidated: a broken file offers what it can and never fails. */
async function inventoryNames(q: Query): Promise<string[]> {
  const file = inventoryFile(q);
  if (!file) return [];
  try {
    const { parse } = await import('yaml');
    const doc = parse(readFileSync(file, 'utf8')) as { nodes?: Array<{ name?: unknown }> } | null;
    return (Array.isArray(doc?.nodes) ? doc.nodes : []).map((n) => n?.name).filter((n): n is string => typeof n === 'string');
  } catch {
    return [];
  }
}

/** Node names of the inventory in use. */
export const inventoryNodes: Source = async (q) => ({
  candidates: (await inventoryNames(q)).map((value) => ({ value, description: 'inventory node' })),
  fallback: 'none',
});

/** `all@<node>` for every inventory node. */
export const allOnNodes: Source = async (q) => ({
  candidates: (await inventoryNames(q)).map((n) => ({ value: `all@${n}`, description: `every guest on ${n}` })),
  fallback: 'none',
});

/** Backup sets `cluster teardown` made in the default folder, newest first; any other directory too. */
export const backups: Source = async (q) => {
  const root = backupsDir(readPvxEnv(q.env).stateDir, q.env);
  const sets = (await readdir(root, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name);
  return {
    candidates: sets.sort().reverse().map((s) => ({ value: path.join(root, s), description: 'teardown backup' })),
    fallback: 'dirs',
  };
};
