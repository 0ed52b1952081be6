import { describe, expect, it } from 'vitest';
import {
  ParseError,
  classifyPvecmStatus,
  isStandaloneError,
  parseMembership,
  parsePvecmNodes,
  parsePvecmStatus,
  parseQuorumtoolStatus,
} from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

const STANDALONE = "Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n";

describe('parsePvecmStatus', () => {
  for (const variant of ['tilde', 'dash']) {
    it(`reads the 4-node pve-docs sample (${variant} underlines)`, () => {
      const s = parsePvecmStatus(fixture(`pvecm-status/pve-docs-4node-quorate.${variant}.txt`));
      expect(s.cluster).toEqual({ name: 'prod-central', configVersion: 3, transport: 'knet', secureAuth: true });
      expect(s.quorum).toEqual({
        date: 'Tue Sep 14 11:06:47 2021',
        provider: 'corosync_votequorum',
        nodes: 4,
        nodeId: 1,
        ringId: '1.1a8',
        quorate: true,
        expectedVotes: 4,
        highestExpected: 4,
        totalVotes: 4,
        quorum: 3,
        activityBlocked: false,
        flags: ['Quorate'],
      });
      expect(s.members).toEqual([
        { nodeid: 1, votes: 1, address: '192.168.15.91', local: false },
        { nodeid: 2, votes: 1, address: '192.168.15.92', local: true },
        { nodeid: 3, votes: 1, address: '192.168.15.93', local: false },
        { nodeid: 4, votes: 1, address: '192.168.15.94', local: false },
      ]);
      expect(s.qdevice).toBeUndefined();
    });
  }

  it('reads the real PVE 9 3-node sample', () => {
    const s = parsePvecmStatus(fixture('pvecm-status/pve9-3node-cluster-validation.txt'));
    expect(s.cluster?.name).toBe('labcluster');
    expect(s.quorum.date).toBe('Wed Aug 19 17:22:53 2026');
    expect(s.quorum.ringId).toBe('1.685');
    expect(s.quorum).toMatchObject({ quorate: true, expectedVotes: 3, totalVotes: 3, quorum: 2, nodeId: 1 });
    expect(s.members.map((m) => [m.nodeid, m.address, m.local])).toEqual([
      [1, '192.168.1.47', true],
      [2, '192.168.1.48', false],
      [3, '192.168.1.49', false],
    ]);
  });

  it('reads 2 nodes + QDevice with the Qdevice column and pseudo-row', () => {
    const s = parsePvecmStatus(fixture('pvecm-status/pve9.2.9-2node-qdevice-krnn.txt'));
    expect(s.cluster).toEqual({ name: 'krnn', configVersion: 3, transport: 'knet', secureAuth: true });
    expect(s.quorum.flags).toEqual(['Quorate', 'Qdevice']);
    expect(s.quorum).toMatchObject({ nodes: 2, expectedVotes: 3, totalVotes: 3, quorum: 2, ringId: '1.9' });
    expect(s.members).toEqual([
      {
        nodeid: 1,
        votes: 1,
        address: '192.168.202.121',
        local: true,
        qdevice: { raw: 'A,V,NMW', registered: true, alive: true, voting: true, masterWins: false },
      },
      {
        nodeid: 2,
        votes: 1,
        address: '192.168.202.179',
        local: false,
        qdevice: { raw: 'A,V,NMW', registered: true, alive: true, voting: true, masterWins: false },
      },
    ]);
    expect(s.qdevice).toEqual({ name: 'Qdevice', votes: 1, voting: true });
  });

  it('reads the single-node capture with trailing spaces on Quorum and Flags', () => {
    const text = fixture('pvecm-status/pve8-single-node-after-create.partial.txt');
    expect(text).toContain('Quorum:           1  \n');
    expect(text).toContain('Flags:            Quorate \n');
    const s = parsePvecmStatus(text);
    expect(s.cluster).toBeUndefined();
    expect(s.quorum).toEqual({
      quorate: true,
      expectedVotes: 1,
      highestExpected: 1,
      totalVotes: 1,
      quorum: 1,
      activityBlocked: false,
      flags: ['Quorate'],
    });
    expect(s.members).toEqual([{ nodeid: 1, votes: 1, address: '192.168.171.31', local: true }]);
  });

  it('reads the non-quorate shape: Activity blocked, empty flags', () => {
    const text = fixture('pvecm-status/non-quorate-shape.partial.txt');
    expect(text).toContain('Flags:            \n');
    const s = parsePvecmStatus(text);
    expect(s.quorum).toMatchObject({ quorate: false, activityBlocked: true, quorum: 2, totalVotes: 1, expectedVotes: 3, flags: [] });
    expect(s.members).toEqual([{ nodeid: 2, votes: 1, address: '10.0.0.2', local: true }]);
  });

  it('accepts CRLF line ends from pasted captures', () => {
    const s = parsePvecmStatus(fixture('pvecm-status/pve9-3node-cluster-validation.txt').replace(/\n/g, '\r\n'));
    expect(s.members).toHaveLength(3);
  });

  it('reads a QDevice that does not vote (0 votes plus "(votes N)")', () => {
    // row layout from corosync-quorumtool.c display_nodes_data
    const text = [
      'Votequorum information',
      '----------------------',
      'Expected votes:   3',
      'Highest expected: 3',
      'Total votes:      2',
      'Quorum:           2  ',
      'Flags:            Quorate Qdevice ',
      '',
      'Membership information',
      '----------------------',
      '    Nodeid      Votes    Qdevice Name',
      '0x00000001          1  NA,NV,NMW 10.0.0.1 (local)',
      '0x00000002          1         NR 10.0.0.2',
      '0x00000000          0            Qdevice (votes 1)',
      '',
    ].join('\n');
    const s = parsePvecmStatus(text);
    expect(s.qdevice).toEqual({ name: 'Qdevice', votes: 1, voting: false });
    expect(s.members[0]?.qdevice).toMatchObject({ alive: false, voting: false, registered: true });
    expect(s.members[1]?.qdevice).toMatchObject({ raw: 'NR', registered: false });
  });

  it('throws ParseError on truncated output', () => {
    const full = fixture('pvecm-status/pve9-3node-cluster-validation.txt');
    const cut = full.slice(0, full.indexOf('Membership information'));
    expect(() => parsePvecmStatus(cut)).toThrow(ParseError);
    const headerOnly = full.slice(0, full.lastIndexOf('0x00000001'));
    expect(() => parsePvecmStatus(headerOnly)).toThrow(/no rows/);
    const noVotequorum = full.replace(/Votequorum information[\s\S]*?\n\n/, '');
    expect(() => parsePvecmStatus(noVotequorum)).toThrow(/Expected votes|Quorum/);
  });

  it('keeps a row it cannot read in the membership table and still reads the others', () => {
    const s = parsePvecmStatus(fixture('pvecm-status/pve9-3node-cluster-validation.txt') + 'surprise!\n');
    expect(s.members.map((m) => m.address)).toEqual(['192.168.1.47', '192.168.1.48', '192.168.1.49']);
    expect(s.unrecognized).toEqual(['surprise!']);
    expect(parsePvecmStatus(fixture('pvecm-status/pve9-3node-cluster-validation.txt')).unrecognized).toEqual([]);
  });

  it('reads the 4-node sample with an unknown row inserted: the known rows are read, the unknown one reported', () => {
    const lines = fixture('pvecm-status/pve-docs-4node-quorate.dash.txt').split('\n');
    const at = lines.findIndex((l) => l.startsWith('0x00000002'));
    lines.splice(at, 0, '0x00000009          1 192.168.15.99 (remote, new in a later corosync)');
    const s = parsePvecmStatus(lines.join('\n'));
    expect(s.members.map((m) => [m.nodeid, m.address, m.local])).toEqual([
      [1, '192.168.15.91', false],
      [2, '192.168.15.92', true],
      [3, '192.168.15.93', false],
      [4, '192.168.15.94', false],
    ]);
    expect(s.unrecognized).toEqual(['0x00000009          1 192.168.15.99 (remote, new in a later corosync)']);
    expect(s.cluster?.name).toBe('prod-central');
  });

  it('refuses a cluster name PVE would not accept', () => {
    const text = fixture('pvecm-status/pve9-3node-cluster-validation.txt').replace('labcluster', '../../etc');
    expect(() => parsePvecmStatus(text)).toThrow(/cluster name/);
  });

  it('reports a row whose name is neither a node name nor an address', () => {
    const text = fixture('pvecm-status/pve9-3node-cluster-validation.txt').replace('192.168.1.49', '$(reboot)');
    const s = parsePvecmStatus(text);
    expect(s.members.map((m) => m.address)).toEqual(['192.168.1.47', '192.168.1.48']);
    expect(s.unrecognized).toEqual(['0x00000003          1 $(reboot)']);
  });
});

describe('parsePvecmNodes / parseMembership', () => {
  it('reads the PVE 9 pvecm nodes sample (decimal ids, names)', () => {
    expect(parsePvecmNodes(fixture('pvecm-nodes/pve9-3node-cluster-validation.txt'))).toEqual({
      members: [
        { nodeid: 1, votes: 1, name: 'proxmox', local: true },
        { nodeid: 2, votes: 1, name: 'pve2', local: false },
        { nodeid: 3, votes: 1, name: 'pve3', local: false },
      ],
      unrecognized: [],
    });
  });

  it('reads the pvecm nodes sample with an unknown row inserted: the known rows are read, the unknown one reported', () => {
    const lines = fixture('pvecm-nodes/pve9-3node-cluster-validation.txt').split('\n');
    const at = lines.findIndex((l) => /^\s+2\s/.test(l));
    lines.splice(at, 0, '         4        one pve4');
    const m = parsePvecmNodes(lines.join('\n'));
    expect(m.members.map((x) => x.name)).toEqual(['proxmox', 'pve2', 'pve3']);
    expect(m.unrecognized).toEqual(['         4        one pve4']);
  });

  it('accepts the leading empty line real pvecm nodes output starts with', () => {
    const m = parseMembership(`\n${fixture('pvecm-nodes/pve9-3node-cluster-validation.txt')}`);
    expect(m.members).toHaveLength(3);
  });

  it('reads a decimal QDevice row and the extra-info suffix of newer corosync', () => {
    const m = parseMembership(
      [
        '    Nodeid      Votes    Qdevice Name',
        '         1          1    A,V,NMW pve1 [some info] (local)',
        '         2          1    A,V,NMW pve2',
        '         0          1            Qdevice',
      ].join('\n'),
    );
    expect(m.members[0]).toMatchObject({ name: 'pve1', local: true, extraInfo: 'some info' });
    expect(m.qdevice).toEqual({ name: 'Qdevice', votes: 1, voting: true });
  });
});

describe('parseQuorumtoolStatus', () => {
  it('reads plain corosync-quorumtool -s output (no cluster header)', () => {
    const pvecm = fixture('pvecm-status/pve9-3node-cluster-validation.txt');
    const text = pvecm.slice(pvecm.indexOf('Quorum information')).replace('0x00000001\n', '1\n');
    const s = parseQuorumtoolStatus(text);
    expect(s.quorum.nodeId).toBe(1);
    expect(s.members.map((m) => m.name)).toEqual(['192.168.1.47', '192.168.1.48', '192.168.1.49']);
  });
});

describe('standalone and failures', () => {
  it('recognises the standalone error', () => {
    expect(isStandaloneError(STANDALONE)).toBe(true);
    expect(isStandaloneError('Cannot initialize CMAP service')).toBe(false);
    expect(isStandaloneError('')).toBe(false);
  });

  it('classifies pvecm status runs', () => {
    expect(classifyPvecmStatus({ stdout: '', stderr: STANDALONE, exitCode: 2 })).toEqual({ kind: 'standalone' });
    const header = fixture('pvecm-status/pve9-3node-cluster-validation.txt').split('\n').slice(0, 7).join('\n');
    expect(classifyPvecmStatus({ stdout: header, stderr: 'Cannot initialize CMAP service\n', exitCode: 1 })).toEqual({
      kind: 'corosync-down',
      message: 'Cannot initialize CMAP service',
      cluster: { name: 'labcluster', configVersion: 3, transport: 'knet', secureAuth: true },
    });
    expect(classifyPvecmStatus({ stdout: '', stderr: 'pve configuration filesystem (pmxcfs) not mounted\n' }).kind).toBe('pmxcfs-down');
    const ok = classifyPvecmStatus({ stdout: fixture('pvecm-status/non-quorate-shape.partial.txt'), stderr: '', exitCode: 2 });
    expect(ok.kind === 'status' && ok.status.quorum.quorate).toBe(false);
    expect(classifyPvecmStatus({ stdout: '', stderr: 'something odd\n', exitCode: 1 })).toEqual({ kind: 'error', message: 'something odd' });
    expect(() => classifyPvecmStatus({ stdout: 'hello', stderr: '' })).toThrow(ParseError);
  });
});
