/** The VMIDs a lab's nodes hold, read from the nodes' pmxcfs databases on the host: no node is entered. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { labPaths } from './layout.js';
import { loadRows } from './sim/cfs/config-db.js';
import { DT_DIR, MemDb } from './sim/cfs/memdb.js';

/** Directory entries of `dir`, none when it does not exist. */
async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Names in directory `p` of a database, none when it is missing. */
function names(db: MemDb, p: string): string[] {
  try {
    return db.list(p).map((e) => (e.type === DT_DIR ? `${e.name}/` : e.name));
  } catch {
    return [];
  }
}

/**
 * VMIDs of every guest configuration (`nodes/<node>/qemu-server|lxc/<vmid>.conf`) in each node's
 * config.db of lab `name` (read-only, with sqlite3). Sorted, each once.
 */
export async function labGuestIds(name: string, env: NodeJS.ProcessEnv = process.env): Promise<number[]> {
  const p = labPaths(name, env);
  const nodes = await entries(path.join(p.root, 'nodes'));
  const ids = new Set<number>();
  await Promise.all(
    nodes.map(async (n) => {
      let db: MemDb;
      try {
        db = MemDb.fromRows(await loadRows(p.nodeConfigDb(n)));
      } catch {
        return;
      }
      for (const dir of names(db, 'nodes')) {
        if (!dir.endsWith('/')) continue;
        for (const kind of ['qemu-server', 'lxc']) {
          for (const f of names(db, `nodes/${dir}${kind}`)) {
            const m = /^([1-9]\d*)\.conf$/.exec(f);
            if (m) ids.add(Number(m[1]));
          }
        }
      }
    }),
  );
  return [...ids].sort((a, b) => a - b);
}
