/**
 * Guest selectors of `pvx migrate`: VMIDs (`100`), ranges (`100-110`) and `all@<node>`, also
 * comma-separated. Parsed before anything is read; resolved against /cluster/resources.
 */
import { nodeNameProblem } from '../pve/names.js';
import type { ClusterResources, GuestResource } from '../pve/parse/pvesh-resources.js';

/** One parsed selector; `text` is what the user wrote. */
export type Selector =
  | { kind: 'vmid'; vmid: number; text: string }
  | { kind: 'range'; from: number; to: number; text: string }
  | { kind: 'node'; node: string; text: string };

/** PVE's VMID bounds. */
export const VMID_MIN = 100;
export const VMID_MAX = 999_999_999;

function vmidProblem(text: string): string | undefined {
  if (!/^[0-9]+$/.test(text) || text.length > 9 || Number(text) < VMID_MIN) {
    return `'${text}' is not a VMID (VMIDs are whole numbers from ${VMID_MIN} to ${VMID_MAX})`;
  }
  return undefined;
}

/** Parse every selector; all problems are reported together. */
export function parseSelectors(args: readonly string[]): { selectors: Selector[]; problems: string[] } {
  const selectors: Selector[] = [];
  const problems: string[] = [];
  for (const arg of args) {
    const parts = arg.split(',').map((p) => p.trim());
    for (const text of parts) {
      if (text === '') {
        problems.push(`'${arg}' has an empty item`);
        continue;
      }
      const all = /^all@(.*)$/.exec(text);
      if (all) {
        const node = all[1] ?? '';
        const p = node === '' ? 'no node name after all@' : nodeNameProblem(node);
        if (p) problems.push(`'${text}': ${p}`);
        else selectors.push({ kind: 'node', node, text });
        continue;
      }
      const range = /^([0-9]+)-([0-9]+)$/.exec(text);
      if (range) {
        const [a, b] = [range[1] ?? '', range[2] ?? ''];
        const p = vmidProblem(a) ?? vmidProblem(b);
        if (p) problems.push(`'${text}': ${p}`);
        else if (Number(a) > Number(b)) problems.push(`'${text}': the range runs backwards (write ${b}-${a})`);
        else selectors.push({ kind: 'range', from: Number(a), to: Number(b), text });
        continue;
      }
      if (/^[0-9]+$/.test(text)) {
        const p = vmidProblem(text);
        if (p) problems.push(p);
        else selectors.push({ kind: 'vmid', vmid: Number(text), text });
        continue;
      }
      problems.push(`'${text}' is not a guest selector: use a VMID (100), a range (100-110) or all@<node>`);
    }
  }
  return { selectors, problems };
}

/** The guests the selectors name, each once, in the order first named; and what named nothing. */
export function resolveSelectors(selectors: readonly Selector[], res: ClusterResources): { guests: GuestResource[]; unknown: string[] } {
  const byId = new Map(res.guests.map((g) => [g.vmid, g]));
  const nodes = new Set([...res.nodes.map((n) => n.node), ...res.guests.map((g) => g.node)]);
  const seen = new Set<number>();
  const guests: GuestResource[] = [];
  const unknown: string[] = [];
  const add = (g: GuestResource) => {
    if (seen.has(g.vmid)) return;
    seen.add(g.vmid);
    guests.push(g);
  };
  for (const s of selectors) {
    if (s.kind === 'vmid') {
      const g = byId.get(s.vmid);
      if (g) add(g);
      else unknown.push(s.text);
    } else if (s.kind === 'range') {
      const inRange = res.guests.filter((g) => g.vmid >= s.from && g.vmid <= s.to);
      if (inRange.length === 0) unknown.push(s.text);
      inRange.forEach(add);
    } else {
      if (!nodes.has(s.node)) unknown.push(s.text);
      res.guests.filter((g) => g.node === s.node).forEach(add);
    }
  }
  return { guests, unknown };
}
