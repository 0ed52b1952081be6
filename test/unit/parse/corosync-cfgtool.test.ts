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
    });
  });

  it('reads the -b brief form and a link without protocol', () => {
    // corosync-cfgtool.c prints "LINK ID %d %s" with an empty transport for non-knet and "\tstatus\t= <digits>" with -b
    const s = parseCfgtoolStatus('Local node ID 2, transport udpu\nLINK ID 0 \n\taddr\t= 10.0.0.2\n\tstatus\t= 3n\n');
    expect(s.links).toEqual([{ id: 0, proto: '', addr: '10.0.0.2', peers: [], brief: '3n' }]);
  });

  it('throws ParseError on other text', () => {
    expect(() => parseCfgtoolStatus('')).toThrow(ParseError);
    expect(() => parseCfgtoolStatus('Could not initialize corosync configuration API error 2\n')).toThrow(/Local node ID/);
    expect(() => parseCfgtoolStatus('Local node ID 1, transport knet\n\taddr\t= 1.2.3.4\n')).toThrow(/before the first LINK ID/);
    const text = fixture('corosync-cfgtool/two-links-corosync-source.txt').replace('connected', 'connected extra');
    expect(() => parseCfgtoolStatus(text)).toThrow(/unexpected line/);
  });
});
