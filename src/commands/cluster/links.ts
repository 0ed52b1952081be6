/** Corosync link addresses of nodes: from flags, the inventory, or what preflight resolved on the node. */
import { UsageError } from '../../errors.js';
import type { InventoryNode } from '../../config/inventory.js';
import type { LinkAddresses } from '../../pve/argv.js';
import type { NodeFacts } from '../../checks/index.js';
import { isIpAddress } from '../../pve/names.js';
import { isLoopbackAddress } from '../../pve/parse/getent-hosts.js';

/** Parse `--link0 a=IP,b=IP` against the listed nodes; every problem is a UsageError. */
export function parseLinkMap(flag: string, value: string, listed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag}: '${part}' is not <node>=<address>`, { hint: `e.g. ${flag} pve1=10.0.0.1,pve2=10.0.0.2` });
    const node = part.slice(0, eq);
    const addr = part.slice(eq + 1);
    if (!listed.includes(node)) throw new UsageError(`${flag}: node '${node}' is not one of --nodes (${listed.join(', ')})`);
    if (out.has(node)) throw new UsageError(`${flag}: node '${node}' is given twice`);
    if (!isIpAddress(addr)) throw new UsageError(`${flag}: '${addr}' for ${node} is not an IP address (corosync links use addresses)`);
    out.set(node, addr);
  }
  if (out.size === 0) throw new UsageError(`${flag} is empty`, { hint: `e.g. ${flag} pve1=10.0.0.1,pve2=10.0.0.2` });
  return out;
}

/** Check one `--linkN <IP>` value. */
export function linkAddress(flag: string, value: string): string {
  if (!isIpAddress(value)) throw new UsageError(`${flag}: '${value}' is not an IP address (corosync links use addresses)`);
  return value;
}

/**
 * A node's link addresses: explicit ones first, then the inventory's link0/link1, then the inventory
 * host when it is an address, then the address the node's name resolves to (read by preflight).
 */
export function linksOf(node: InventoryNode, explicit: LinkAddresses, resolvedLink0?: string): Record<number, string> {
  const links: Record<number, string> = {};
  for (const [k, v] of Object.entries(explicit)) if (typeof v === 'string') links[Number(k)] = v;
  const link0 = links[0] ?? node.link0 ?? (isIpAddress(node.host) ? node.host : undefined) ?? resolvedLink0;
  if (link0 !== undefined) links[0] = link0;
  if (links[1] === undefined && node.link1 !== undefined) links[1] = node.link1;
  return links;
}

/**
 * A node's management address: the first non-loopback address its name resolves to on the node, the
 * one pmxcfs publishes as the node's IP (`pve_addr` in the join information) and joins connect to.
 */
export function managementAddress(facts: Pick<NodeFacts, 'resolved'> | undefined): string | undefined {
  if (!facts?.resolved.ok) return undefined;
  return facts.resolved.value.find((a) => !isLoopbackAddress(a));
}

/** Only the links in `numbers`. */
export function pickLinks(links: LinkAddresses, numbers: readonly number[]): Record<number, string> {
  const out: Record<number, string> = {};
  for (const n of numbers) {
    const a = links[n];
    if (a !== undefined) out[n] = a;
  }
  return out;
}

/** Two nodes must never share a link address. */
export function duplicateAddressProblem(all: ReadonlyArray<{ name: string; links: LinkAddresses }>): string | undefined {
  const seen = new Map<string, string>();
  for (const n of all) {
    for (const [k, addr] of Object.entries(n.links)) {
      if (typeof addr !== 'string') continue;
      const key = `${k}/${addr}`;
      const other = seen.get(key);
      if (other !== undefined) return `${n.name} and ${other} would both use ${addr} on link ${k}`;
      seen.set(key, n.name);
    }
  }
  return undefined;
}
