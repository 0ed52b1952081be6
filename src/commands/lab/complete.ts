/** Completion values the lab knows: lab names, a lab's nodes and guests, its faults and PVE versions. The lab is loaded only when asked. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fixed, inventoryFile, type Source } from '../completion/sources.js';

/** The lab whose inventory is `file`, if it is one. */
async function labOfInventory(file: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const { labPaths } = await import('../../lab/layout.js');
  const name = path.basename(path.dirname(file));
  return labPaths(name, env).inventory === file ? name : undefined;
}

/** VMIDs where a local source knows them: a lab's own files, when the inventory is a lab's (a real cluster's are only on its nodes). */
export const vmids: Source = async (q) => {
  const file = inventoryFile(q);
  const lab = file ? await labOfInventory(file, q.env) : undefined;
  if (!lab) return { candidates: [], fallback: 'none' };
  const { labGuestIds } = await import('../../lab/guest-ids.js');
  return { candidates: (await labGuestIds(lab, q.env)).map((id) => ({ value: String(id), description: `guest in lab ${lab}` })), fallback: 'none' };
};

/** Names of the labs on this machine (folders with a lab.json). */
export const labNames: Source = async (q) => {
  const [{ labsRoot }, { readLabState }] = await Promise.all([import('../../lab/layout.js'), import('../../lab/state.js')]);
  const names: string[] = [];
  for (const name of await readdir(labsRoot(q.env)).catch(() => [] as string[])) {
    if (await readLabState(name, q.env).catch(() => undefined)) names.push(name);
  }
  return { candidates: names.sort().map((value) => ({ value, description: 'lab' })), fallback: 'none' };
};

/** Nodes of the lab named by --name (default pvx), from its lab.json. */
export const labNodes: Source = async (q) => {
  const [{ DEFAULT_LAB }, { readLabState }] = await Promise.all([import('../../lab/layout.js'), import('../../lab/state.js')]);
  const name = q.options.get('name') ?? DEFAULT_LAB;
  const state = await readLabState(name, q.env).catch(() => undefined);
  return {
    candidates: (state?.nodes ?? []).map((n) => ({ value: n.name, description: `${n.address}, PVE ${n.pveVersion}` })),
    fallback: 'none',
  };
};

/** The PVE versions the lab simulates. */
export const labPveVersions: Source = fixed(async () => (await import('../../lab/sim/core/versions.js')).KNOWN_PVE_RELEASES);

/** The faults `pvx lab fault` knows. */
export const labFaults: Source = fixed(async () => (await import('../../lab/fault-names.js')).LAB_FAULTS);
