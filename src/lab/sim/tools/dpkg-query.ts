/**
 * `dpkg-query`: a lab node has no package database of its own (it shares the host's), so the PVE
 * packages of the node's release are answered here, as dpkg-query(1) prints them for installed
 * packages; every other query goes to the host's dpkg-query unchanged.
 */
import type { SimContext, SimTool } from '../types.js';
import { run } from '../core/exec.js';
import { pveRelease } from '../core/versions.js';

const REAL = '/usr/bin/dpkg-query';
// dpkg-query's default --showformat
const DEFAULT_FORMAT = '${binary:Package}\\t${Version}\\n';

/** The node's PVE packages: the `pveversion -v` list, with proxmox-ve and pve-manager. */
function pvePackages(version: string): Map<string, string> {
  const rel = pveRelease(version);
  return new Map([['proxmox-ve', rel.proxmoxVe], ['pve-manager', rel.version], ...rel.packages]);
}

/** One package line: dpkg's field references and backslash escapes, for an installed package. */
export function renderShowFormat(format: string, pkg: string, version: string): string {
  const fields: Record<string, string> = {
    Package: pkg,
    'binary:Package': pkg,
    Version: version,
    Status: 'install ok installed',
    'db:Status-Abbrev': 'ii ',
    'db:Status-Want': 'install',
    'db:Status-Eflag': 'ok',
    'db:Status-Status': 'installed',
  };
  return format
    .replace(/\$\{([^}]+)\}/g, (_, f: string) => fields[f] ?? '')
    .replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

async function passThrough(args: readonly string[], ctx: SimContext): Promise<number> {
  const r = await run(REAL, args, { timeoutMs: 30_000 });
  ctx.out(r.stdout);
  ctx.err(r.stderr);
  return r.exitCode;
}

/** The dpkg-query tool. */
export const dpkgQuery: SimTool = {
  name: 'dpkg-query',
  async run(args, ctx) {
    let show = false;
    let format = DEFAULT_FORMAT;
    const names: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i] ?? '';
      if (a === '-W' || a === '--show') show = true;
      else if (a === '-f' || a === '--showformat') format = args[++i] ?? '';
      else if (a.startsWith('--showformat=')) format = a.slice('--showformat='.length);
      else if (a.startsWith('-f') && a.length > 2) format = a.slice(2);
      else if (a.startsWith('-')) return passThrough(args, ctx);
      else names.push(a);
    }
    const known = pvePackages(ctx.node.pveVersion);
    if (!show || names.length === 0 || !names.every((n) => known.has(n))) return passThrough(args, ctx);
    ctx.out(names.map((n) => renderShowFormat(format, n, known.get(n) ?? '')).join(''));
    return 0;
  },
};
