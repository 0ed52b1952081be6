/** `pveversion [--verbose]`: the one-line and the package-list forms (reference §3). */
import type { SimContext, SimTool } from '../types.js';
import { pveRelease } from '../core/versions.js';

/** The text `pveversion` prints for `version`. */
export function renderPveversion(version: string, verbose: boolean): string {
  const rel = pveRelease(version);
  if (!verbose) return `pve-manager/${rel.version}/${rel.repoid} (running kernel: ${rel.kernel})\n`;
  let out = `proxmox-ve: ${rel.proxmoxVe} (running kernel: ${rel.kernel})\n`;
  out += `pve-manager: ${rel.version} (running version: ${rel.version}/${rel.repoid})\n`;
  for (const [p, v] of rel.packages) out += `${p}: ${v}\n`;
  return out;
}

function usage(ctx: SimContext): number {
  ctx.err('USAGE: pveversion [--verbose]\n');
  return 255;
}

/** The pveversion tool. */
export const pveversion: SimTool = {
  name: 'pveversion',
  async run(args, ctx) {
    let verbose = false;
    for (const a of args) {
      const m = /^--?([^=]+)$/.exec(a);
      if (m && m[1] && 'verbose'.startsWith(m[1].toLowerCase())) {
        verbose = true;
        continue;
      }
      if (m) ctx.err(`Unknown option: ${m[1]}\n`);
      return usage(ctx);
    }
    ctx.out(renderPveversion(ctx.node.pveVersion, verbose));
    return 0;
  },
};
