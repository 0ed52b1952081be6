/** Who creates, who joins and who is already in the target cluster, from the spec and the facts. */
import type { NodeFacts, Purpose, Roles } from './types.js';

/** The name of the cluster a node is in, when that could be read. */
export function clusterOf(f: NodeFacts | undefined): string | undefined {
  return f && f.cluster.ok && f.cluster.value ? f.cluster.value.name : undefined;
}

/** Derive the roles; for join without a named member, the first clustered node is the member. */
export function deriveRoles(
  purpose: Purpose,
  nodes: readonly string[],
  facts: ReadonlyMap<string, NodeFacts>,
  clusterName: string | undefined,
  member: string | undefined,
): Roles {
  if (purpose === 'create') {
    const [creator, ...rest] = nodes;
    const alreadyMembers = clusterName ? nodes.filter((n) => clusterOf(facts.get(n)) === clusterName) : [];
    return {
      ...(creator !== undefined ? { creator } : {}),
      ...(clusterName ? { targetCluster: clusterName } : {}),
      joining: rest.filter((n) => !alreadyMembers.includes(n)),
      alreadyMembers,
    };
  }
  if (purpose === 'join') {
    const m = member ?? nodes.find((n) => clusterOf(facts.get(n)) !== undefined);
    const target = m !== undefined ? clusterOf(facts.get(m)) : undefined;
    const alreadyMembers = target ? nodes.filter((n) => n !== m && clusterOf(facts.get(n)) === target) : [];
    return {
      ...(m !== undefined ? { member: m } : {}),
      ...(target ? { targetCluster: target } : {}),
      joining: nodes.filter((n) => n !== m && !alreadyMembers.includes(n)),
      alreadyMembers,
    };
  }
  return { joining: [], alreadyMembers: [] };
}
