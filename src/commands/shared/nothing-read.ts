/** The rule that a state pvx could not read is never taken for one it did: no readable node, no decision. */
import { StepError, UnreachableError, type PvxError } from '../../errors.js';
import type { Membership } from '../../facts/node.js';

/**
 * The error for a first read in which not one node's membership could be read: exit 6 when none
 * could be reached, exit 1 when they answered with something pvx could not read. Undefined as soon
 * as one node was read (a member, standalone, or a node whose corosync is down is a state read).
 */
export function nothingRead(states: ReadonlyMap<string, Membership>): PvxError | undefined {
  const all = [...states.values()];
  if (all.length === 0 || all.some((m) => m.kind !== 'unreachable' && m.kind !== 'error')) return undefined;
  const names = all.map((m) => m.node).join(', ');
  const first = all[0] as Extract<Membership, { kind: 'unreachable' | 'error' }>;
  if (all.every((m) => m.kind === 'unreachable')) {
    const what = all.length === 1 ? first.message : `none of ${names} could be reached over SSH: ${first.message}`;
    return new UnreachableError(first.node, `${what}; nothing was changed`, { hint: 'check that the nodes are up and that sshd runs on them' });
  }
  const lines = all.map((m) => `${m.node}: ${m.kind === 'unreachable' ? 'unreachable' : 'unreadable answer'}: ${'message' in m ? m.message : ''}`);
  return new StepError(`the cluster state of ${names} could not be read (${lines.join('; ')}); nothing was changed`, {
    code: 'UNREADABLE',
    hint: 'run with --verbose to see what the nodes answered',
  });
}
