import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../src/pve/parse/errors.js';
import { parsePmxcfsMembers } from '../../../src/pve/parse/pmxcfs-members.js';
import { parsePackageVersion } from '../../../src/pve/parse/dpkg-query.js';
import { fixture } from './fixture.js';

const host = (name: string): string => readFileSync(new URL(`../../fixtures/host/${name}`, import.meta.url), 'utf8');

describe('parsePmxcfsMembers (/etc/pve/.members)', () => {
  it('gives the /cluster/status view of a 3-node cluster: the cluster entry, nodes by id, local from nodename', () => {
    expect(parsePmxcfsMembers(fixture('pmxcfs/members-3node-constructed.json'))).toEqual({
      cluster: { name: 'labcluster', nodes: 3, quorate: true, version: 3 },
      nodes: [
        { name: 'proxmox', nodeid: 1, online: true, local: true, ip: '192.168.1.47', level: '' },
        { name: 'pve2', nodeid: 2, online: true, local: false, ip: '192.168.1.48', level: '' },
        { name: 'pve3', nodeid: 3, online: true, local: false, ip: '192.168.1.49', level: '' },
      ],
    });
  });

  it('reads an offline member, and one without an address', () => {
    const text = fixture('pmxcfs/members-3node-constructed.json').replace('"pve3": { "id": 3, "online": 1, "ip": "192.168.1.49"}', '"pve3": { "id": 3, "online": 0}');
    expect(parsePmxcfsMembers(text).nodes[2]).toEqual({ name: 'pve3', nodeid: 3, online: false, local: false, level: '' });
  });

  it('a node without a cluster has neither a cluster nor nodes', () => {
    expect(parsePmxcfsMembers(fixture('pmxcfs/members-standalone-constructed.json'))).toEqual({ nodes: [] });
  });

  it('refuses a node name PVE would not accept, naming the file once', () => {
    const text = fixture('pmxcfs/members-3node-constructed.json').replace('"pve2": {', '"pve 2": {');
    expect(() => parsePmxcfsMembers(text)).toThrow(ParseError);
    expect(() => parsePmxcfsMembers(text)).toThrow(/^\/etc\/pve\/\.members: entry \d \(node\): name: is not a node name$/);
  });

  it('refuses what is not the document', () => {
    expect(() => parsePmxcfsMembers('[]')).toThrow(ParseError);
    expect(() => parsePmxcfsMembers('{"version": 1}')).toThrow(/no 'nodename'/);
  });
});

describe('parsePackageVersion (dpkg-query state and version)', () => {
  it('an installed package gives its version', () => {
    expect(parsePackageVersion(host('dpkg-query-state-version-installed-debian12.txt'))).toBe('1.21.22');
    expect(parsePackageVersion('installed 9.1.7\n')).toBe('9.1.7');
  });

  it('a package removed with its configuration left gives no version', () => {
    expect(parsePackageVersion(host('dpkg-query-state-version-config-files-debian12.txt'))).toBeNull();
  });

  it('an unpacked (not yet configured) package already has its files: its version counts', () => {
    expect(parsePackageVersion('unpacked 9.2.1\n')).toBe('9.2.1');
  });

  it('refuses other shapes', () => {
    expect(() => parsePackageVersion('')).toThrow(ParseError);
    expect(() => parsePackageVersion('installed 1.0\ninstalled 2.0\n')).toThrow(/one package line/);
    expect(() => parsePackageVersion('ii  dpkg 1.21.22 amd64\n')).toThrow(ParseError);
  });
});
