import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, parseGetentAhosts } from '../../../src/pve/parse/getent-hosts.js';
import { parseIpAddr } from '../../../src/pve/parse/ip-addr.js';
import { ParseError } from '../../../src/pve/parse/errors.js';

const host = (p: string) => readFileSync(new URL(`../../fixtures/host/${p}`, import.meta.url), 'utf8');

describe('parseGetentAhosts', () => {
  it('reads each address once, in order (captured on Debian 12)', () => {
    expect(parseGetentAhosts(host('getent-ahosts-localhost-debian12.txt'))).toEqual(['127.0.0.1']);
    expect(parseGetentAhosts('127.0.1.1       STREAM pve1\n127.0.1.1       DGRAM  \n127.0.1.1       RAW    \n10.0.0.1        STREAM \n')).toEqual(['127.0.1.1', '10.0.0.1']);
    expect(parseGetentAhosts('')).toEqual([]);
  });

  it('rejects other text', () => {
    expect(() => parseGetentAhosts('pve1 has address 10.0.0.1\n')).toThrow(ParseError);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.0.1.1', '::1', '::ffff:127.0.0.1'].every(isLoopbackAddress)).toBe(true);
    expect(['10.0.0.1', 'fd00::1', '128.0.0.1'].some(isLoopbackAddress)).toBe(false);
  });
});

describe('parseIpAddr', () => {
  it('reads every address of the one-line form (captured on Debian 12)', () => {
    expect(parseIpAddr(host('ip-o-addr-debian12.txt'))).toEqual([
      { ifname: 'lo', family: 'inet', address: '127.0.0.1', prefixLength: 8, scope: 'host' },
      { ifname: 'lo', family: 'inet6', address: '::1', prefixLength: 128, scope: 'host' },
      { ifname: 'eth0', family: 'inet', address: '192.0.2.2', prefixLength: 24, scope: 'global' },
      { ifname: 'eth0', family: 'inet6', address: 'fd00::2', prefixLength: 64, scope: 'global' },
      { ifname: 'eth0', family: 'inet6', address: 'fe80::fc:ff:fe00:1', prefixLength: 64, scope: 'link' },
    ]);
  });

  it('reads veth names with @peer and point-to-point addresses', () => {
    expect(parseIpAddr('7: eth0@if8    inet 10.77.13.11/24 brd 10.77.13.255 scope global eth0\\       valid_lft forever\n')[0]).toMatchObject({ ifname: 'eth0', address: '10.77.13.11' });
    expect(parseIpAddr('5: wg0    inet 10.9.0.1 peer 10.9.0.2/32 scope global wg0\\       valid_lft forever\n')[0]).toMatchObject({ address: '10.9.0.1', prefixLength: 32 });
  });

  it('rejects other text', () => {
    expect(() => parseIpAddr('inet 10.0.0.1\n')).toThrow(ParseError);
    expect(() => parseIpAddr('2: eth0    inet garbage scope global\n')).toThrow(/unreadable address line/);
  });
});

describe('udpPortsInUse', () => {
  it('reads the ports of /proc/net/udp and udp6 (captured on a lab node running corosync)', async () => {
    const { udpPortsInUse, parseProcNetUdp } = await import('../../../src/pve/parse/proc-net-udp.js');
    const text = host('proc-net-udp-corosync-lab.txt');
    expect(udpPortsInUse(text)).toEqual([123, 323]);
    expect(parseProcNetUdp(text)[0]).toEqual({ localAddressHex: '00000000', port: 123 });
    expect(udpPortsInUse('  sl  local_address rem_address   st\n   7: 0B0D4D0A:152D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n')).toEqual([5421]);
    expect(() => udpPortsInUse('garbage\n')).toThrow(/unexpected line/);
  });
});
