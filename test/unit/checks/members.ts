/** Scripts of nodes that are already in a cluster, for the create/join/migrate checks. */
import { cfgtool, corosyncConf, procNetUdp, quorumtool, type NodeScript } from './scenario.js';

/** A node of cluster `cluster` with these members; `present` are the members corosync sees. */
export function clusterMember(
  cluster: string,
  local: number,
  members: ReadonlyArray<{ name: string; nodeid: number; address: string }>,
  opts: { present?: number[]; flags?: string; expected?: number; qdevice?: boolean } = {},
): NodeScript {
  const present = members.filter((m) => (opts.present ?? members.map((x) => x.nodeid)).includes(m.nodeid));
  const self = members.find((m) => m.nodeid === local);
  // a QDevice adds its vote to the expected votes and, voting here, to the votes present
  const q = quorumtool({
    local,
    members: present,
    expected: opts.expected ?? members.length + (opts.qdevice ? 1 : 0),
    ...(opts.flags !== undefined ? { flags: opts.flags } : {}),
    ...(opts.qdevice ? { qdevice: { votes: 1, voting: true } } : {}),
  });
  return {
    sections: {
      files: { stdout: '/etc/pve/corosync.conf\n/etc/corosync/authkey\n/etc/corosync/corosync.conf\n' },
      conf: { stdout: corosyncConf(cluster, members) },
      cfgtool: { stdout: cfgtool(local, self?.address ?? '', members.map((m) => ({ nodeid: m.nodeid, state: present.includes(m) ? 'connected' : 'disconnected' }))) },
      quorum: { exitCode: /Quorate: {10}Yes/.test(q) ? 0 : 2, stdout: q },
      // knet holds link 0's port once it has peers
      udp: { stdout: procNetUdp(123, 323, ...(members.length > 1 ? [5405] : [])) },
    },
  };
}
