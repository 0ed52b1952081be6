/** Node arguments of cluster commands, checked against naming rules and the inventory before anything runs. */
import type { Inventory, InventoryNode } from '../../config/inventory.js';
import { UsageError } from '../../errors.js';
import { nodeNameProblem } from '../../pve/names.js';
import { shQuote } from '../../transport/quote.js';

/** Parse `--nodes a,b,c`: valid names, no duplicates, at least one. */
export function parseNodeList(value: string): string[] {
  const names = value.split(',').map((n) => n.trim());
  if (names.every((n) => n === '')) throw new UsageError('--nodes is empty', { hint: 'e.g. --nodes pve1,pve2,pve3' });
  const seen = new Set<string>();
  for (const n of names) {
    if (n === '') throw new UsageError(`--nodes '${value}' has an empty entry`, { hint: 'separate node names with single commas: pve1,pve2,pve3' });
    const p = nodeNameProblem(n);
    if (p) throw new UsageError(p);
    if (seen.has(n)) throw new UsageError(`--nodes lists ${n} twice`);
    seen.add(n);
  }
  return names;
}

/** A valid node name given as an argument or option. */
export function checkNodeName(what: string, name: string): string {
  const p = nodeNameProblem(name);
  if (p) throw new UsageError(`${what}: ${p}`);
  return name;
}

/** The inventory entries of these names, in order; an unknown name is a UsageError listing the known ones. */
export function inventoryNodes(inv: Inventory, names: readonly string[]): InventoryNode[] {
  return names.map((name) => {
    const n = inv.nodes.find((x) => x.name === name);
    if (!n) throw new UsageError(`node '${name}' is not in the inventory ${inv.file}`, { hint: `known nodes: ${inv.nodes.map((x) => x.name).join(', ')}` });
    return n;
  });
}

/** A pvx command line to show to a person (values quoted for a POSIX shell). */
export function pvxCommandLine(inv: Inventory, args: readonly string[]): string {
  return ['pvx', '-i', inv.file, ...args].map(shQuote).join(' ');
}
