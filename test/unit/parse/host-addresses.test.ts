import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, parseGetentAhosts } from '../../../src/pve/parse/getent-hosts.js';
import { parseIpAddr } from '../../../src/pve/parse/ip-addr.js';
import { ParseError } from '../../../src/pve/parse/errors.js';

const host = (p: string) => readFileSync(new URL(`../../fixtures/host/${p}`, import.meta.url), 'utf8');

describe('parseGetentAhosts', () => {
  it('reads each address once, in order (captured on Debian 12)', () => {
    expect(parseGetentAhosts(host('getent-ahosts-localhost-debian12.txt'))).toEqual({ addresses: ['127.0.0.1'], unrecognized: [] });
    expect(parseGetentAhosts('127.0.1.1       STREAM pve1\n127.0.1.1       DGRAM  \n127.0.1.1       RAW    \n10.0.0.1        STREAM \n').addresses).toEqual(['127.0.1.1', '10.0.0.1']);
    expect(parseGetentAhosts('')).toEqual({ addresses: [], unrecognized: [] });
  });

  it('rejects text without any getent line', () => {
    expect(() => parseGetentAhosts('pve1 has address 10.0.0.1\n')).toThrow(ParseError);
  });

  it('reports a line it cannot read (or one that names no address) and still reads the others', () => {
    const lines = host('getent-ahosts-localhost-debian12.txt').split('\n');
    lines.splice(1, 0, 'pve1 has address 10.0.0.1', '-oProxyCommand=x STREAM pve1');
    const r = parseGetentAhosts(lines.join('\n'));
    expect(r.addresses).toEqual(['127.0.0.1']);
    expect(r.unrecognized).toEqual(['pve1 has address 10.0.0.1', '-oProxyCommand=x STREAM pve1']);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.0.1.1', '::1', '::ffff:127.0.0.1'].every(isLoopbackAddress)).toBe(true);
    expect(['10.0.0.1', 'fd00::1', '128.0.0.1'].some(isLoopbackAddress)).toBe(false);
  });
});

describe('parseIpAddr', () => {
  it('reads every address of the one-line form (captured on Debian 12)', () => {
    expect(parseIpAddr(host('ip-o-addr-debian12.txt'))).toEqual({
      addresses: [
        { ifname: 'lo', family: 'inet', address: '127.0.0.1', prefixLength: 8, scope: 'host' },
        { ifname: 'lo', family: 'inet6', address: '::1', prefixLength: 128, scope: 'host' },
        { ifname: 'eth0', family: 'inet', address: '192.0.2.2', prefixLength: 24, scope: 'global' },
        { ifname: 'eth0', family: 'inet6', address: 'fd00::2', prefixLength: 64, scope: 'global' },
        { ifname: 'eth0', family: 'inet6', address: 'fe80::fc:ff:fe00:1', prefixLength: 64, scope: 'link' },
      ],
      unrecognized: [],
    });
  });

  it('reads veth names with @peer and point-to-point addresses', () => {
    expect(parseIpAddr('7: eth0@if8    inet 10.77.13.11/24 brd 10.77.13.255 scope global eth0\\       valid_lft forever\n').addresses[0]).toMatchObject({ ifname: 'eth0', address: '10.77.13.11' });
    expect(parseIpAddr('5: wg0    inet 10.9.0.1 peer 10.9.0.2/32 scope global wg0\\       valid_lft forever\n').addresses[0]).toMatchObject({ address: '10.9.0.1', prefixLength: 32 });
  });

  it('rejects text without any address line', () => {
    expect(() => parseIpAddr('inet 10.0.0.1\n')).toThrow(ParseError);
    expect(() => parseIpAddr('2: eth0    inet garbage scope global\n')).toThrow(ParseError);
  });

  it('reports a line it cannot read and still reads the others', () => {
    const lines = host('ip-o-addr-debian12.txt').split('\n');
    lines.splice(2, 0, '2: eth0    inet garbage scope global', 'Message from syslogd');
    const r = parseIpAddr(lines.join('\n'));
    expect(r.addresses.map((a) => a.address)).toEqual(['127.0.0.1', '::1', '192.0.2.2', 'fd00::2', 'fe80::fc:ff:fe00:1']);
    expect(r.unrecognized).toEqual(['2: eth0    inet garbage scope global', 'Message from syslogd']);
  });
});

describe('udpPortsInUse', () => {
  it('reads the ports of /proc/net/udp and udp6 (captured on a lab node running corosync)', async () => {
    const { udpPortsInUse, parseProcNetUdp } = await import('../../../src/pve/parse/proc-net-udp.js');
    const text = host('proc-net-udp-corosync-lab.txt');
    expect(udpPortsInUse(text)).toEqual({ ports: [123, 323], unrecognized: [] });
    expect(parseProcNetUdp(text).sockets[0]).toEqual({ localAddressHex: '00000000', port: 123 });
    expect(udpPortsInUse('  sl  local_address rem_address   st\n   7: 0B0D4D0A:152D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n').ports).toEqual([5421]);
    expect(() => udpPortsInUse('garbage\n')).toThrow(/unexpected output/);
  });

  it('reports a line it cannot read and still reads the others', async () => {
    const { udpPortsInUse } = await import('../../../src/pve/parse/proc-net-udp.js');
    const lines = host('proc-net-udp-corosync-lab.txt').split('\n');
    lines.splice(2, 0, '  12: not-a-socket-line');
    expect(udpPortsInUse(lines.join('\n'))).toEqual({ ports: [123, 323], unrecognized: ['  12: not-a-socket-line'] });
  });
});
