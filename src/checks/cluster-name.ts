/** `cluster-name`: the new cluster's name is valid (reference §1.2) and not already taken by the nodes. */
import { clusterNameProblem } from '../pve/names.js';
import { finding, listText, notRun } from './finding.js';
import { clusterOf } from './roles.js';
import type { Check, CheckContext, Finding } from './types.js';

const ID = 'cluster-name';

function forCreate(ctx: CheckContext, name: string): Finding[] {
  const creator = ctx.roles.creator;
  if (creator === undefined) return [];
  const problem = clusterNameProblem(name);
  if (problem) return [finding(ID, creator, 'fail', problem, { hint: 'choose another name: it cannot be changed later' })];
  const skip = notRun(ID, ctx.facts.get(creator), creator);
  if (skip) return [skip];
  const holders = ctx.nodes.filter((n) => clusterOf(ctx.facts.get(n)) === name);
  if (holders.includes(creator)) return [finding(ID, creator, 'ok', `cluster '${name}' already exists on ${creator}; create continues it`)];
  if (holders.length > 0) {
    return [
      finding(ID, creator, 'fail', `${listText(holders)} already belong(s) to a cluster named '${name}'; a second cluster of that name would clash on the network`, {
        hint: `join ${creator} to that cluster instead (pvx cluster join ${creator} --via ${holders[0]}), or choose another name`,
      }),
    ];
  }
  return [finding(ID, creator, 'ok', `'${name}' is a valid cluster name that none of the nodes uses yet`)];
}

function forJoin(ctx: CheckContext, name: string): Finding[] {
  const member = ctx.roles.member;
  if (member === undefined) return [];
  const skip = notRun(ID, ctx.facts.get(member), member);
  if (skip) return [skip];
  const actual = ctx.roles.targetCluster;
  if (actual === undefined) return [];
  if (actual !== name) {
    return [finding(ID, member, 'fail', `${member} is in cluster '${actual}', not '${name}'`, { hint: `name a member of '${name}' with --via, or drop --cluster-name` })];
  }
  return [finding(ID, member, 'ok', `${member} is in cluster '${name}'`)];
}

/** The cluster-name check (runs only when a name is given). */
export const clusterNameCheck: Check = {
  id: ID,
  title: 'Cluster name',
  purposes: ['create', 'join'],
  run(ctx) {
    const name = ctx.clusterName;
    if (name === undefined) return [];
    return ctx.purpose === 'create' ? forCreate(ctx, name) : forJoin(ctx, name);
  },
};
