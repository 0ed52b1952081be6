/**
 * `not-clustered`: a node to be created or joined has no corosync.conf, no authkey and no running
 * corosync (the refusals of reference §1.4); one already in the target cluster is reported as such.
 */
import { eachNode, finding, listText } from './finding.js';
import { clusterOf } from './roles.js';
import type { Check, CheckContext, Finding, NodeFacts } from './types.js';

const ID = 'not-clustered';

function leftovers(f: NodeFacts, files: { pveCorosyncConf: boolean; authkey: boolean }): string[] {
  const out: string[] = [];
  if (files.pveCorosyncConf) out.push('/etc/pve/corosync.conf exists');
  if (files.authkey) out.push('/etc/corosync/authkey exists');
  if (f.corosyncRunning) out.push('corosync is running');
  return out;
}

function check(ctx: CheckContext, f: NodeFacts): Finding[] {
  const n = f.name;
  if (!f.files.ok) return [finding(ID, n, 'warn', `could not tell whether ${n} is in a cluster: ${f.files.message}`)];
  const cluster = clusterOf(f);
  const target = ctx.roles.targetCluster;
  const verb = ctx.purpose === 'create' ? 'create' : 'join';
  if (cluster !== undefined && cluster === target) {
    return [finding(ID, n, 'ok', `already a member of cluster '${cluster}'; ${verb} skips it`)];
  }
  const found = leftovers(f, f.files.value);
  if (found.length === 0) return [finding(ID, n, 'ok', 'not in a cluster: no corosync.conf, no authkey, corosync stopped')];
  if (cluster !== undefined) {
    return [
      finding(ID, n, 'fail', `already in cluster '${cluster}' (${listText(found)})`, {
        hint: `a node can be in one cluster only: remove it from '${cluster}' first (pvecm delnode ${n} on another member), then separate it as the PVE admin guide describes`,
      }),
    ];
  }
  if (!f.cluster.ok) {
    return [finding(ID, n, 'fail', `${listText(found)}, and ${f.cluster.message}`, { hint: 'inspect /etc/pve/corosync.conf on the node; a damaged cluster config must be fixed or removed first' })];
  }
  const onlyAuthkey = f.files.value.authkey && !f.files.value.pveCorosyncConf && !f.corosyncRunning;
  if (onlyAuthkey && ctx.roles.creator === n) {
    return [finding(ID, n, 'warn', 'a leftover /etc/corosync/authkey exists; pvecm create will reuse it', { hint: 'if it is not meant to be kept, remove it first: rm /etc/corosync/authkey' })];
  }
  if (onlyAuthkey) {
    return [
      finding(ID, n, 'fail', 'a leftover /etc/corosync/authkey exists; pvecm add refuses to join while it does', {
        hint: 'if this node is in no cluster, remove it: rm /etc/corosync/authkey',
      }),
    ];
  }
  return [
    finding(ID, n, 'fail', `${listText(found)}: is this node already in a cluster?`, {
      hint: 'stop corosync (systemctl stop corosync) and remove its leftover configuration in /etc/corosync before clustering',
    }),
  ];
}

/** The not-clustered check. */
export const notClusteredCheck: Check = {
  id: ID,
  title: 'Not in a cluster',
  purposes: ['create', 'join'],
  run(ctx) {
    const nodes = ctx.nodes.filter((n) => n !== ctx.roles.member);
    return eachNode(ctx, ID, nodes, (f) => check(ctx, f));
  },
};
