/** `pve-version`: pve-manager major.minor must match across nodes; other package differences warn. */
import type { PveVersion } from '../pve/parse/pveversion.js';
import { eachNode, finding } from './finding.js';
import type { Check, CheckContext, Finding } from './types.js';

const ID = 'pve-version';
const SHOWN_DIFFERENCES = 6;

const release = (v: PveVersion) => `${v.manager.major}.${v.manager.minor}`;

// kernels differ legitimately (a node not rebooted yet) and would drown the list
const isKernelPackage = (name: string) => /^(proxmox|pve)-kernel-/.test(name);

/** The release every node must run: the member's when joining, else the most common (first seen wins a tie). */
function referenceNode(ctx: CheckContext, versions: Map<string, PveVersion>): string | undefined {
  const member = ctx.roles.member;
  if (member && versions.has(member)) return member;
  const counts = new Map<string, number>();
  for (const v of versions.values()) counts.set(release(v), (counts.get(release(v)) ?? 0) + 1);
  let best: string | undefined;
  for (const [n, v] of versions) {
    if (best === undefined || (counts.get(release(v)) ?? 0) > (counts.get(release(versions.get(best) as PveVersion)) ?? 0)) best = n;
  }
  return best;
}

/** Package differences against the reference node, as "name version (ref: version)". */
export function packageDifferences(v: PveVersion, ref: PveVersion, refName: string): string[] {
  const names = [...new Set([...Object.keys(v.packages), ...Object.keys(ref.packages)])].filter((p) => !isKernelPackage(p)).sort();
  const out: string[] = [];
  for (const p of names) {
    const mine = v.packages[p];
    const theirs = ref.packages[p];
    if (mine === theirs) continue;
    out.push(`${p} ${mine ?? 'not installed'} (${refName}: ${theirs ?? 'not installed'})`);
  }
  return out;
}

/** The pve-version check. */
export const pveVersionCheck: Check = {
  id: ID,
  title: 'PVE version',
  purposes: ['general', 'create', 'join', 'migrate', 'ha'],
  run(ctx) {
    const versions = new Map<string, PveVersion>();
    for (const n of ctx.nodes) {
      const f = ctx.facts.get(n);
      if (f?.reachable && f.pve.ok) versions.set(n, f.pve.value);
    }
    const refName = referenceNode(ctx, versions);
    const ref = refName !== undefined ? versions.get(refName) : undefined;
    return eachNode(ctx, ID, ctx.nodes, (f): Finding[] => {
      const n = f.name;
      if (!f.pve.ok) {
        const missing = f.pve.reason === 'missing';
        return [
          finding(ID, n, 'fail', missing ? `pveversion is not installed: ${n} does not look like a Proxmox VE node` : `could not read the PVE version: ${f.pve.message}`, {
            hint: missing ? 'pvx drives the PVE tools; install Proxmox VE on this node' : 'run pveversion -v on the node and check that the PVE packages are intact',
          }),
        ];
      }
      const v = f.pve.value;
      const has = `pve-manager ${v.manager.version}`;
      if (!ref || refName === undefined || refName === n) return [finding(ID, n, 'ok', `runs ${has}`)];
      if (release(v) !== release(ref)) {
        const older = v.manager.major * 1000 + v.manager.minor < ref.manager.major * 1000 + ref.manager.minor;
        return [
          finding(ID, n, 'fail', `runs ${has}, but ${refName} runs ${ref.manager.version}: the PVE release (${release(v)} vs ${release(ref)}) must match`, {
            peer: refName,
            hint: older
              ? `upgrade ${n} to PVE ${release(ref)} (apt update && apt full-upgrade) before clustering`
              : `upgrade ${refName} (and the other nodes) to PVE ${release(v)}, or use nodes of the same release`,
          }),
        ];
      }
      const diffs = packageDifferences(v, ref, refName);
      if (diffs.length === 0) return [finding(ID, n, 'ok', `runs ${has}, same packages as ${refName}`)];
      const shown = diffs.slice(0, SHOWN_DIFFERENCES).join(', ');
      const more = diffs.length > SHOWN_DIFFERENCES ? ` and ${diffs.length - SHOWN_DIFFERENCES} more` : '';
      return [
        finding(ID, n, 'warn', `runs ${has} like ${refName}, but ${diffs.length} package version(s) differ: ${shown}${more}`, {
          peer: refName,
          hint: 'bring every node to the same package versions (apt update && apt full-upgrade on each) before clustering',
        }),
      ];
    });
  },
};
