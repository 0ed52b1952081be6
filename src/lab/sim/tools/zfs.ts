/**
 * `zfs list` over the datasets of the node's zfspool storages: `-t filesystem|volume|snapshot|all`,
 * `-H` (no header, tab-separated), `-o` with name, used, refer, volsize, creation, guid, and an
 * optional dataset to start from (with `-r`, its children too). Nothing else of zfs is simulated.
 */
import type { SimContext, SimTool } from '../types.js';
import { simEnv } from '../core/env.js';
import { readStorages } from '../core/storage.js';
import { parseVolname, zfsPoolOf } from '../core/volumes.js';
import { listDatasets } from '../core/zfs.js';

interface Row {
  name: string;
  type: 'filesystem' | 'volume' | 'snapshot';
  used: number;
  refer: number;
  volsize: number;
  creation: number;
  guid: string;
}

const PROPS = ['name', 'used', 'avail', 'refer', 'mountpoint', 'volsize', 'creation', 'guid', 'type'];

function usage(ctx: SimContext, msg: string): number {
  ctx.err(`${msg}\nusage:\n\tlist [-Hp] [-r|-d max] [-o property[,...]] [-s property]...\n\t    [-S property]... [-t type[,...]] [filesystem|volume|snapshot] ...\n`);
  return 2;
}

function rows(ctx: SimContext): Row[] {
  const env = simEnv(ctx);
  const out: Row[] = [];
  const pools = new Set(readStorages(env.paths).filter((s) => s.type === 'zfspool').map((s) => zfsPoolOf(s)));
  for (const s of readStorages(env.paths).filter((x) => x.type === 'zfspool')) {
    const pool = zfsPoolOf(s);
    if (!pools.delete(pool)) continue;
    for (const ds of listDatasets(env.paths, env.nodename, pool)) {
      let kind: Row['type'] = 'volume';
      try {
        kind = parseVolname(s, ds.name).format === 'subvol' ? 'filesystem' : 'volume';
      } catch {
        kind = 'volume';
      }
      const used = 4096 * (ds.snapshots.length + 1);
      out.push({ name: `${pool}/${ds.name}`, type: kind, used, refer: 4096, volsize: ds.size, creation: ds.snapshots[0]?.creation ?? 0, guid: '' });
      for (const sn of ds.snapshots) out.push({ name: `${pool}/${ds.name}@${sn.name}`, type: 'snapshot', used: 0, refer: 4096, volsize: ds.size, creation: sn.creation, guid: sn.guid });
    }
  }
  return out;
}

function value(r: Row, prop: string, parsable: boolean): string {
  switch (prop) {
    case 'name':
      return r.name;
    case 'used':
      return parsable ? String(r.used) : r.used === 0 ? '0B' : `${(r.used / 1024).toFixed(0)}K`;
    case 'refer':
      return parsable ? String(r.refer) : `${(r.refer / 1024).toFixed(0)}K`;
    case 'avail':
      return r.type === 'snapshot' ? '-' : parsable ? String(100 * 1024 ** 3) : '100G';
    case 'mountpoint':
      return r.type === 'volume' || r.type === 'snapshot' ? '-' : `/${r.name}`;
    case 'volsize':
      return r.type === 'volume' ? (parsable ? String(r.volsize) : `${Math.round(r.volsize / 1024 ** 3)}G`) : '-';
    case 'creation':
      return parsable ? String(r.creation) : new Date(r.creation * 1000).toString().slice(0, 21);
    case 'guid':
      return r.guid || '-';
    default:
      return r.type;
  }
}

/** The zfs tool. */
export const zfs: SimTool = {
  name: 'zfs',
  async run(args, ctx) {
    if (args[0] !== 'list') {
      ctx.err(args[0] ? `unrecognized command '${args[0]}'\n` : 'missing command\n');
      return 2;
    }
    let header = true;
    let parsable = false;
    let recursive = false;
    let types = ['filesystem', 'volume'];
    let props = ['name', 'used', 'avail', 'refer', 'mountpoint'];
    const roots: string[] = [];
    for (let i = 1; i < args.length; i++) {
      const a = args[i] as string;
      if (a === '-H') header = false;
      else if (a === '-p') parsable = true;
      else if (a === '-Hp' || a === '-pH') {
        header = false;
        parsable = true;
      } else if (a === '-r') recursive = true;
      else if (a === '-t') types = (args[++i] ?? '').split(',').flatMap((t) => (t === 'all' ? ['filesystem', 'volume', 'snapshot'] : [t]));
      else if (a === '-o') props = (args[++i] ?? '').split(',');
      else if (a.startsWith('-')) return usage(ctx, `invalid option '${a.slice(1)}'`);
      else roots.push(a);
    }
    const bad = props.find((p) => !PROPS.includes(p));
    if (bad) return usage(ctx, `bad property list: invalid property '${bad}'`);
    const all = rows(ctx);
    for (const r of roots) {
      if (!all.some((x) => x.name === r)) {
        ctx.err(`cannot open '${r}': dataset does not exist\n`);
        return 1;
      }
    }
    // a dataset named with -t snapshot lists its snapshots, as zfs does
    const picked = all.filter(
      (r) => types.includes(r.type) && (roots.length === 0 || roots.some((root) => r.name === root || r.name.startsWith(`${root}@`) || (recursive && r.name.startsWith(`${root}/`)))),
    );
    const table = picked.map((r) => props.map((p) => value(r, p, parsable)));
    if (!header) {
      for (const t of table) ctx.out(`${t.join('\t')}\n`);
      return 0;
    }
    if (table.length === 0) {
      ctx.err('no datasets available\n');
      return 0;
    }
    const head = props.map((p) => p.toUpperCase());
    const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => (t[i] ?? '').length)));
    for (const t of [head, ...table]) ctx.out(`${t.map((c, i) => (i === t.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 2))).join('').trimEnd()}\n`);
    return 0;
  },
};
