import { describe, expect, it } from 'vitest';
import { ParseError, parseCfgtoolStatus } from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

describe('parseCfgtoolStatus', () => {
  it('reads the two-link sample (tab layout)', () => {
    const text = fixture('corosync-cfgtool/two-links-corosync-source.txt');
    expect(text).toContain('\taddr\t= 10.10.0.1');
    expect(parseCfgtoolStatus(text)).toEqual({
      localNodeId: 1,
      transport: 'knet',
      links: [
        { id: 0, proto: 'udp', addr: '10.10.0.1', peers: [{ nodeid: 1, state: 'localhost' }, { nodeid: 2, state: 'connected' }] },
        { id: 1, proto: 'udp', addr: '192.168.10.1', peers: [{ nodeid: 1, state: 'localhost' }, { nodeid: 2, state: 'disconnected' }] },
      ],
      unrecognized: [],
    });
  });

  it('reads the -b brief form and a link without protocol', () => {
    // corosync-cfgtool.c prints "LINK ID %d %s" with an empty transport for non-knet and "\tstatus\t= <digits>" with -b
    const s = parseCfgtoolStatus('Local node ID 2, transport udpu\nLINK ID 0 \n\taddr\t= 10.0.0.2\n\tstatus\t= 3n\n');
    expect(s.links).toEqual([{ id: 0, proto: '', addr: '10.0.0.2', peers: [], brief: '3n' }]);
  });

  it('throws ParseError only without the Local node ID line', () => {
    expect(() => parseCfgtoolStatus('')).toThrow(ParseError);
    expect(() => parseCfgtoolStatus('Could not initialize corosync configuration API error 2\n')).toThrow(/Local node ID/);
  });

  it('keeps lines it cannot read and still reads the others', () => {
    expect(parseCfgtoolStatus('Local node ID 1, transport knet\n\taddr\t= 1.2.3.4\n')).toEqual({ localNodeId: 1, transport: 'knet', links: [], unrecognized: ['\taddr\t= 1.2.3.4'] });
    const s = parseCfgtoolStatus(fixture('corosync-cfgtool/two-links-corosync-source.txt').replace('connected', 'connected extra'));
    expect(s.links[0]?.peers).toEqual([{ nodeid: 1, state: 'localhost' }]);
    expect(s.links[1]?.peers).toEqual([{ nodeid: 1, state: 'localhost' }, { nodeid: 2, state: 'disconnected' }]);
    expect(s.unrecognized).toEqual(['\t\tnodeid:          2:\tconnected extra']);
  });

  it('reads the sample with an unknown line inserted: the known lines are read, the unknown one reported', () => {
    const lines = fixture('corosync-cfgtool/two-links-corosync-source.txt').split('\n');
    lines.splice(3, 0, '\tmtu\t= 1397');
    const s = parseCfgtoolStatus(lines.join('\n'));
    expect(s.links.map((l) => [l.id, l.addr, l.peers.length])).toEqual([[0, '10.10.0.1', 2], [1, '192.168.10.1', 2]]);
    expect(s.unrecognized).toEqual(['\tmtu\t= 1397']);
  });
});
