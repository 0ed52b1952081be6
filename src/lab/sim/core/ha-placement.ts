/**
 * Where an HA service may run: PVE 8 groups and PVE 9 node-affinity rules reduced to one shape
 * (nodes with priorities, strict or not), and the node choice of the CRM (select_service_node,
 * simplified: a service stays where it is when that node is usable and allowed).
 */
import type { Section } from './section-config.js';

/** Allowed nodes of one service with their priorities; strict: only these nodes. */
export interface Placement {
  nodes: Record<string, number>;
  strict: boolean;
}

/** Parse a `node[:prio],...` list. */
export function parseNodePriorities(list: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, prio] = item.split(':');
    if (name) out[name] = Number(prio ?? 0) || 0;
  }
  return out;
}

/** The placement of each service from groups.cfg (PVE 8: a service names its group). */
export function placementsFromGroups(groups: readonly Section[], groupOf: Record<string, string | undefined>): Record<string, Placement> {
  const out: Record<string, Placement> = {};
  for (const [sid, name] of Object.entries(groupOf)) {
    const g = name === undefined ? undefined : groups.find((x) => x.id === name);
    if (g) out[sid] = { nodes: parseNodePriorities(g.props['nodes'] ?? ''), strict: g.props['restricted'] === '1' };
  }
  return out;
}

/** The placement of each service from rules.cfg (PVE 9: enabled node-affinity rules list their resources). */
export function placementsFromRules(rules: readonly Section[]): Record<string, Placement> {
  const out: Record<string, Placement> = {};
  for (const r of rules) {
    if (r.type !== 'node-affinity' || r.props['disable'] === '1') continue;
    const nodes = parseNodePriorities(r.props['nodes'] ?? '');
    for (const sid of (r.props['resources'] ?? '').split(',').filter(Boolean)) {
      // a resource in more than one node-affinity rule is a conflict PVE ignores; the first wins here
      out[sid] ??= { nodes, strict: r.props['strict'] === '1' };
    }
  }
  return out;
}

/** May `node` run a service with placement `p`? */
export function nodeAllowed(p: Placement | undefined, node: string): boolean {
  return !p || !p.strict || node in p.nodes;
}

/**
 * The node a service should run on, among `usable` nodes (online, not in maintenance): the current
 * one when it is usable and allowed, else the highest-priority allowed node with the fewest
 * services (then by name). Undefined when no node qualifies.
 */
export function selectServiceNode(p: Placement | undefined, current: string | undefined, usable: readonly string[], load: Record<string, number>): string | undefined {
  if (current !== undefined && usable.includes(current) && nodeAllowed(p, current)) return current;
  const candidates = usable.filter((n) => nodeAllowed(p, n) && n !== current);
  if (candidates.length === 0) return undefined;
  const prio = (n: string): number => (p && n in p.nodes ? (p.nodes[n] ?? 0) : -1);
  return [...candidates].sort((a, b) => prio(b) - prio(a) || (load[a] ?? 0) - (load[b] ?? 0) || (a < b ? -1 : a > b ? 1 : 0))[0];
}
