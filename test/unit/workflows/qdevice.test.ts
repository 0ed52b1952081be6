/** The QDevice rules and the vote check, on the real 2-node + QDevice sample (reference §1.5) and hand-written answers. */
import { describe, expect, it } from 'vitest';
import type { Membership } from '../../../src/facts/node.js';
import type { ExecResult } from '../../../src/transport/types.js';
import { membershipChecks, nodeCountCheck, packageCheck, qdeviceVotes, qnetdCheck, tcpCheck, votesProblem } from '../../../src/workflows/cluster/qdevice.js';
import { fixture } from '../parse/fixture.js';

const res = (exitCode: number, stdout = '', stderr = ''): ExecResult => ({ exitCode, stdout, stderr, durationMs: 1 });
// `pvecm status` is `corosync-quorumtool -siH` behind a cluster header: the same votequorum block and table
const KRNN = fixture('pvecm-status/pve9.2.9-2node-qdevice-krnn.txt');

function member(node: string, o: Partial<Extract<Membership, { kind: 'member' }>> = {}): Extract<Membership, { kind: 'member' }> {
  return { node, kind: 'member', cluster: 'lab', quorate: true, configured: ['pve1', 'pve2'], online: ['pve1', 'pve2'], partitionSize: 2, expectedVotes: 2, totalVotes: 2, ...o };
}

describe('votesProblem', () => {
  it('accepts the real 2 nodes + QDevice sample as 3 expected votes with the Qdevice flag', () => {
    expect(votesProblem('pve1', res(0, KRNN), { expectedVotes: 3, qdevice: true })).toEqual({ votes: { node: 'pve1', expectedVotes: 3, totalVotes: 3, qdevice: true } });
  });

  it('names what is wrong: the QDevice still counted after a remove, or not voting yet after a setup', () => {
    expect(votesProblem('pve1', res(0, KRNN), { expectedVotes: 2, qdevice: false }).problem).toBe('pve1 shows 3 expected votes, not 2, still the Qdevice flag');
    const idle = KRNN.replace('Total votes:      3', 'Total votes:      2').replace('0x00000000          1            Qdevice', '0x00000000          0            Qdevice (votes 1)');
    expect(votesProblem('pve2', res(0, idle), { expectedVotes: 3, qdevice: true }).problem).toBe('pve2 shows 2 of 3 votes present (the QDevice does not vote yet)');
  });

  it('an empty or foreign answer is a problem, never a success', () => {
    expect(votesProblem('pve1', res(1, '', 'Cannot initialize QUORUM service\n'), { expectedVotes: 3, qdevice: true }).problem).toBe('pve1: corosync-quorumtool -s printed nothing (Cannot initialize QUORUM service)');
    expect(votesProblem('pve1', res(0, 'hello\n'), { expectedVotes: 3, qdevice: true }).problem).toMatch(/^pve1: /);
  });
});

describe('the rules of pvecm qdevice setup', () => {
  it('an even count gets ffsplit and 1 vote; an odd one is refused without --force, lms with it', () => {
    expect(qdeviceVotes(2)).toEqual({ algorithm: 'ffsplit', votes: 1 });
    expect(qdeviceVotes(3)).toEqual({ algorithm: 'lms', votes: 2 });
    const three = member('pve1', { configured: ['pve1', 'pve2', 'pve3'], online: ['pve1', 'pve2', 'pve3'] });
    expect(nodeCountCheck(three, false)).toMatchObject({ status: 'fail', message: expect.stringContaining('Clusters with an odd node count are not officially supported!') });
    expect(nodeCountCheck(three, true).status).toBe('ok');
    expect(nodeCountCheck(member('pve1'), false).status).toBe('ok');
  });

  it('every node must be a quorate, online member', () => {
    const anchor = member('pve1', { online: ['pve1'] });
    const views = new Map<string, Membership>([
      ['pve1', anchor],
      ['pve2', { node: 'pve2', kind: 'unreachable', message: 'Connection timed out' }],
    ]);
    expect(membershipChecks(anchor, views).filter((c) => c.status === 'fail').map((c) => c.message)).toEqual([
      'pve2 is unreachable: Connection timed out',
      'All nodes must be online (pvecm refuses otherwise): pve2 is offline',
    ]);
    const notQuorate = new Map<string, Membership>([['pve1', member('pve1')], ['pve2', member('pve2', { quorate: false, totalVotes: 1 })]]);
    expect(membershipChecks(member('pve1'), notQuorate).filter((c) => c.status === 'fail').map((c) => c.message)).toEqual(['pve2 is not quorate (1 of 2 votes)']);
  });

  it('judges the probes by their exit codes', () => {
    expect(tcpCheck('pve1', '10.0.0.5', res(0)).status).toBe('ok');
    expect(tcpCheck('pve1', '10.0.0.5', res(1, '', 'bash: connect: Connection refused\nbash: line 1: /dev/tcp/10.0.0.5/5403: Connection refused\n')).message).toBe(
      'pve1 cannot open TCP 10.0.0.5:5403: bash: line 1: /dev/tcp/10.0.0.5/5403: Connection refused',
    );
    expect(packageCheck('pve1', 'corosync-qdevice', res(0, 'install ok installed')).status).toBe('ok');
    expect(packageCheck('pve1', 'corosync-qdevice', res(0, 'deinstall ok config-files')).status).toBe('fail');
    expect(qnetdCheck('pve1', '10.0.0.5', res(0)).status).toBe('ok');
    expect(qnetdCheck('pve1', '10.0.0.5', res(255, '', 'Host key verification failed.\n'))).toMatchObject({ id: 'qnetd-ssh', status: 'fail' });
    expect(qnetdCheck('pve1', '10.0.0.5', res(127, '', 'bash: corosync-qnetd-tool: command not found\n')).message).toBe('corosync-qnetd is not installed on 10.0.0.5 (apt install corosync-qnetd there)');
    expect(qnetdCheck('pve1', '10.0.0.5', res(1)).message).toBe('corosync-qnetd does not run on 10.0.0.5: exit code 1');
  });
});
