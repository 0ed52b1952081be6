/** `quorum`: the cluster being joined (or migrated in) is quorate, as corosync-quorumtool says. */
import { finding, notRun } from './finding.js';
import { clusterOf } from './roles.js';
import type { Check, CheckContext, Finding, NodeFacts } from './types.js';

const ID = 'quorum';

function quorumOf(ctx: CheckContext, f: NodeFacts, forJoin: boolean): Finding[] {
  const n = f.name;
  const cluster = clusterOf(f);
  if (cluster === undefined) {
    if (!f.cluster.ok) return [finding(ID, n, 'fail', `could not read the cluster configuration: ${f.cluster.message}`)];
    return [
      finding(ID, n, 'fail', `${n} is not in a cluster`, {
        hint: forJoin
          ? 'name a member of the cluster to join with --via <node>'
          : ctx.purpose === 'ha'
            ? 'HA works between members of one cluster: create or join the cluster first'
            : 'migration works between members of one cluster: create or join the cluster first',
      }),
    ];
  }
  if (!f.quorum.ok) {
    if (!f.corosyncRunning) {
      return [finding(ID, n, 'fail', `corosync is not running on ${n} (cluster '${cluster}')`, { hint: 'start it: systemctl start corosync; corosync-cfgtool -s then shows the links' })];
    }
    return [finding(ID, n, 'fail', `could not read the quorum of cluster '${cluster}': ${f.quorum.message}`, { hint: 'run pvecm status on the node' })];
  }
  const q = f.quorum.value.quorum;
  const votes = `${q.totalVotes} of ${q.expectedVotes} votes, quorum ${q.quorum}`;
  const out: Finding[] = [];
  if (!q.quorate) {
    out.push(
      finding(ID, n, 'fail', `cluster '${cluster}' is not quorate as ${n} sees it: ${votes}`, {
        hint: forJoin
          ? "bring the missing members back first: a join needs quorum ('cluster not ready - no quorum?')"
          : 'bring the missing members back (or check the links with corosync-cfgtool -s); /etc/pve is read-only until quorum returns',
      }),
    );
  } else {
    out.push(finding(ID, n, 'ok', `cluster '${cluster}' is quorate: ${votes}`));
  }
  if (forJoin) out.push(...qdeviceRefusal(f, cluster));
  return out;
}

/**
 * pve-docs pvecm.adoc, "Adding/Deleting Nodes After QDevice Setup": "If you want to add a new node or
 * remove an existing one from a cluster with a QDevice setup, you need to remove the QDevice first."
 * The configuration says so even while the QDevice daemon is down; `pvecm status` while it runs.
 */
function qdeviceRefusal(f: NodeFacts, cluster: string): Finding[] {
  const conf = f.cluster.ok ? f.cluster.value?.qdevice : undefined;
  const registered = f.quorum.ok && (f.quorum.value.quorum.flags.includes('Qdevice') || f.quorum.value.qdevice !== undefined);
  if (!conf && !registered) return [];
  const host = conf?.host;
  const where = host ? ` (QNetd host ${host})` : '';
  return [
    finding(ID, f.name, 'fail', `cluster '${cluster}' has a QDevice${where}: Proxmox asks to remove it before a node is added (pvecm.adoc, "Adding/Deleting Nodes After QDevice Setup")`, {
      hint: `pvx cluster qdevice remove (every node must be online), then join; afterwards, with an even node count, add it again: pvx cluster qdevice add ${host ?? '<QNetd address>'}`,
    }),
  ];
}

/** The quorum check. */
export const quorumCheck: Check = {
  id: ID,
  title: 'Quorum',
  purposes: ['join', 'migrate', 'ha'],
  run(ctx) {
    if (ctx.purpose === 'join') {
      const m = ctx.roles.member;
      if (m === undefined) {
        const first = ctx.nodes[0] ?? '';
        return [finding(ID, first, 'fail', 'none of the nodes is a cluster member: there is no cluster to join', { hint: 'name a member of the cluster with --via <node>' })];
      }
      const f = ctx.facts.get(m);
      return notRun(ID, f, m) ? [notRun(ID, f, m) as Finding] : quorumOf(ctx, f as NodeFacts, true);
    }
    return ctx.nodes.flatMap((n) => {
      const f = ctx.facts.get(n);
      const skip = notRun(ID, f, n);
      return skip ? [skip] : quorumOf(ctx, f as NodeFacts, false);
    });
  },
};
