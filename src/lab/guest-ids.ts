/** The VMIDs a lab's nodes hold, read from the lab's pmxcfs databases on the host: no node is entered, nothing runs. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { labPaths } from './layout.js';

/** Directory entries of `dir`, none when it does not exist. */
async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/**
 * VMIDs of every guest configuration (`nodes/<node>/qemu-server|lxc/<vmid>.conf`) in the databases of
 * lab `name`: each cluster's shared one and each node's own. Sorted, each once.
 */
export async function labGuestIds(name: string, env: NodeJS.ProcessEnv = process.env): Promise<number[]> {
  const p = labPaths(name, env);
  const clusters = await entries(path.join(p.root, 'clusters'));
  const nodes = await entries(path.join(p.root, 'nodes'));
  const dbs = [...clusters.map((c) => p.clusterDir(c)), ...nodes.map((n) => p.nodeLocalDb(n))];
  const ids = new Set<number>();
  await Promise.all(
    dbs.map(async (db) => {
      for (const node of await entries(path.join(db, 'nodes'))) {
        for (const kind of ['qemu-server', 'lxc']) {
          for (const f of await entries(path.join(db, 'nodes', node, kind))) {
            const m = /^([1-9]\d*)\.conf$/.exec(f);
            if (m) ids.add(Number(m[1]));
          }
        }
      }
    }),
  );
  return [...ids].sort((a, b) => a - b);
}
