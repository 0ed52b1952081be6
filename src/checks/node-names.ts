/** `node-names`: every node's own name is a valid PVE node name, matches the inventory and is unique. */
import { nodeNameProblem } from '../pve/names.js';
import { eachNode, finding, listText } from './finding.js';
import { clusterOf } from './roles.js';
import type { Check, Finding } from './types.js';

const ID = 'node-names';

/** The node-names check. */
export const nodeNamesCheck: Check = {
  id: ID,
  title: 'Node names',
  purposes: ['general', 'create', 'join', 'migrate', 'ha'],
  run(ctx) {
    const byName = new Map<string, string[]>();
    for (const n of ctx.nodes) {
      const f = ctx.facts.get(n);
      if (f?.reachable && f.hostname.ok) byName.set(f.hostname.value, [...(byName.get(f.hostname.value) ?? []), n]);
    }
    const member = ctx.roles.member ? ctx.facts.get(ctx.roles.member) : undefined;
    const memberCluster = member?.cluster.ok ? member.cluster.value : null;
    return eachNode(ctx, ID, ctx.nodes, (f): Finding[] => {
      const n = f.name;
      if (!f.hostname.ok) return [finding(ID, n, 'warn', `could not read the node name: ${f.hostname.message}`)];
      const name = f.hostname.value;
      const problem = nodeNameProblem(name);
      if (problem) return [finding(ID, n, 'fail', problem, { hint: 'rename the host before clustering (hostnamectl set-hostname, /etc/hosts); node names cannot change after joining' })];
      if (name !== n) {
        return [
          finding(ID, n, 'fail', `the node calls itself '${name}', but the inventory names it '${n}'`, {
            hint: `PVE knows a node by its hostname: rename the inventory entry to '${name}', or rename the host before clustering`,
          }),
        ];
      }
      const same = byName.get(name) ?? [];
      if (same.length > 1) {
        return [
          finding(ID, n, 'fail', `${listText(same)} ${same.length === 2 ? 'both' : 'all'} call themselves '${name}'`, {
            hint: 'give every node a unique hostname before clustering; names cannot change after joining',
          }),
        ];
      }
      if (ctx.purpose === 'join' && ctx.roles.joining.includes(n) && memberCluster && clusterOf(f) !== memberCluster.name) {
        if (memberCluster.nodes.some((m) => m.name === name)) {
          return [
            finding(ID, n, 'fail', `cluster '${memberCluster.name}' already has a node named '${name}'`, {
              peer: ctx.roles.member,
              hint: `if that entry is stale, remove it first (pvecm delnode ${name} on ${ctx.roles.member}); otherwise rename this host`,
            }),
          ];
        }
      }
      return [finding(ID, n, 'ok', `'${name}' is a valid node name and unique`)];
    });
  },
};
