/** Memberships and a scripted reader for plan-builder tests. */
import type { Transport } from '../../../src/transport/types.js';
import type { Membership, MembershipReader, Timing } from '../../../src/facts/node.js';

/** A member view. */
export function member(node: string, cluster: string, configured: string[], opts: Partial<Extract<Membership, { kind: 'member' }>> = {}): Membership {
  const online = opts.online ?? configured;
  return {
    node,
    kind: 'member',
    cluster,
    quorate: true,
    configured: [...configured].sort(),
    online: [...online].sort(),
    partitionSize: online.length,
    expectedVotes: configured.length,
    totalVotes: online.length,
    ...opts,
  };
}

/** A standalone view. */
export function standalone(node: string): Membership {
  return { node, kind: 'standalone' };
}

/** A reader answering from a list per node; the last answer repeats. */
export function scriptedReader(answers: Record<string, Membership[]>): MembershipReader & { reads: string[] } {
  const reads: string[] = [];
  const fn = async (_t: Transport, node: string): Promise<Membership> => {
    reads.push(node);
    const list = answers[node];
    if (!list || list.length === 0) throw new Error(`no membership scripted for ${node}`);
    return list.length > 1 ? list.shift()! : list[0]!;
  };
  return Object.assign(fn, { reads });
}

/** Instant timing: a fake clock that sleeping advances. */
export function fakeTiming(): Timing & { slept: number } {
  let now = 0;
  const t = {
    quorumTimeoutMs: 10_000,
    settleTimeoutMs: 3_000,
    pollMs: 1_000,
    slept: 0,
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
      t.slept += ms;
    },
  };
  return t;
}

/**
 * Join information JSON as pvesh prints it for these members (link 0 only unless `links` says more):
 * `address` is the management address (pve_addr), `link0` the corosync one when it differs.
 */
export function joinInfoJson(cluster: string, members: Array<{ name: string; address: string; fp: string; link0?: string; link1?: string }>, links = [0]): string {
  return JSON.stringify({
    config_digest: 'abc',
    nodelist: members.map((m, i) => ({
      name: m.name,
      nodeid: String(i + 1),
      pve_addr: m.address,
      pve_fp: m.fp,
      quorum_votes: '1',
      ring0_addr: m.link0 ?? m.address,
      ...(m.link1 ? { ring1_addr: m.link1 } : {}),
    })),
    preferred_node: members[0]?.name ?? '',
    totem: { cluster_name: cluster, config_version: '3', interface: Object.fromEntries(links.map((l) => [String(l), { linknumber: String(l) }])), version: '2' },
  });
}

/** A valid fingerprint made of one repeated byte. */
export function fp(byte: string): string {
  return Array.from({ length: 32 }, () => byte).join(':');
}
