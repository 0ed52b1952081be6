import { describe, expect, it } from 'vitest';
import {
  ParseError,
  clusterResourcesFromJson,
  isNotInClusterError,
  isValidFingerprint,
  normalizeFingerprint,
  parseClusterResources,
  parseClusterStatus,
  parseJoinInfo,
} from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

describe('parseClusterStatus', () => {
  it('reads the 4-node sample and sorts nodes by nodeid', () => {
    const s = parseClusterStatus(fixture('pvesh/cluster-status-go-proxmox-pve9x.json'));
    expect(s.cluster).toEqual({ name: 'clustername', nodes: 4, quorate: true, version: 4 });
    expect(s.nodes).toEqual([
      { name: 'node1', nodeid: 1, online: true, local: true, ip: '192.168.1.1', level: '' },
      { name: 'node2', nodeid: 2, online: true, local: false, ip: '192.168.1.2', level: '' },
      { name: 'node3', nodeid: 3, online: true, local: false, ip: '192.168.1.3', level: '' },
      { name: 'node4', nodeid: 4, online: true, local: false, ip: '192.168.1.4', level: '' },
    ]);
  });

  it('reads the standalone shape (no cluster entry, nodeid 0)', () => {
    // shape from §1.7: one node entry, nodeid 0, local 1, online 1
    const s = parseClusterStatus('[{"id":"node/pve","ip":"10.0.0.5","level":"","local":1,"name":"pve","nodeid":0,"online":1,"type":"node"}]\n');
    expect(s.cluster).toBeUndefined();
    expect(s.nodes).toEqual([{ name: 'pve', nodeid: 0, online: true, local: true, ip: '10.0.0.5', level: '' }]);
  });

  it('accepts numeric strings and "0"/"1" flags; offline node without ip; ties sorted by name', () => {
    const s = parseClusterStatus(
      JSON.stringify([
        { type: 'cluster', id: 'cluster', name: 'c', nodes: '3', quorate: '0', version: '7' },
        { type: 'node', id: 'node/b', name: 'b', nodeid: '2', online: '0', local: '0' },
        { type: 'node', id: 'node/a', name: 'a', nodeid: 2, online: 1, local: 1, ip: '10.0.0.1', level: 'c' },
        { type: 'unknown-future-type', id: 'x' },
      ]),
    );
    expect(s.cluster).toEqual({ name: 'c', nodes: 3, quorate: false, version: 7 });
    expect(s.nodes.map((n) => [n.name, n.online, n.ip])).toEqual([
      ['a', true, '10.0.0.1'],
      ['b', false, undefined],
    ]);
  });

  it('throws ParseError on invalid documents', () => {
    expect(() => parseClusterStatus('')).toThrow(ParseError);
    expect(() => parseClusterStatus('{"a":1}')).toThrow(/expected a JSON array/);
    expect(() => parseClusterStatus('[{"type":"node","name":"x"}]')).toThrow(/nodeid/);
    expect(() => parseClusterStatus('[{"type":"node","name":"x","nodeid":"one","online":1}]')).toThrow(ParseError);
    expect(() => parseClusterStatus('[{"type":"cluster","name":"c","nodes":2,"version":1,"quorate":"yes"}]')).toThrow(/quorate/);
    expect(() => parseClusterStatus('[1,2]')).toThrow(/not an object/);
    expect(() => parseClusterStatus('[{"type":"node"')).toThrow(/not valid JSON/);
  });

  it('skips login noise before the JSON document', () => {
    const s = parseClusterStatus(`Welcome to the lab\n${fixture('pvesh/cluster-status-go-proxmox-pve9x.json')}`);
    expect(s.nodes).toHaveLength(4);
  });
});

describe('parseJoinInfo', () => {
  it('reads the community.proxmox sample', () => {
    const j = parseJoinInfo(fixture('pvesh/cluster-config-join-community-proxmox.reformatted.json'));
    expect(j).toEqual({
      configDigest: '111418c98000acfda99059d29cd89123583020a0',
      preferredNode: 'pmxcdev02',
      clusterName: 'devcluster',
      configVersion: 2,
      links: [0],
      nodes: [
        {
          name: 'pmx01',
          nodeid: 1,
          quorumVotes: 1,
          addresses: { link0: '10.10.10.75' },
          pveAddr: '10.10.10.75',
          fingerprint: '95:AC:F2:21:0C:09:A8:5F:06:9A:BD:0D:FB:68:8B:32:4A:26:36:DE:29:23:88:D2:49:C5:BB:91:AB:39:6E:48',
        },
        {
          name: 'pmxcdev02',
          nodeid: 2,
          quorumVotes: 1,
          addresses: { link0: '10.10.10.76' },
          pveAddr: '10.10.10.76',
          fingerprint: 'BD:D0:A4:04:E6:05:30:74:30:E6:5A:83:78:A8:8F:F7:4C:25:71:DB:07:92:7C:A1:04:B9:CB:12:BB:3C:BE:4D',
        },
      ],
    });
    for (const n of j.nodes) expect(isValidFingerprint(n.fingerprint)).toBe(true);
  });

  it('derives links from node addresses when totem has no interface', () => {
    const doc = JSON.parse(fixture('pvesh/cluster-config-join-community-proxmox.reformatted.json')) as Record<string, unknown>;
    const totem = doc['totem'] as Record<string, unknown>;
    delete totem['interface'];
    const nodes = doc['nodelist'] as Array<Record<string, unknown>>;
    for (const n of nodes) n['ring1_addr'] = '192.0.2.1';
    expect(parseJoinInfo(JSON.stringify(doc)).links).toEqual([0, 1]);
  });

  it('recognises the standalone error and rejects malformed documents', () => {
    expect(isNotInClusterError('node is not in a cluster, no join info available!\n')).toBe(true);
    expect(isNotInClusterError('')).toBe(false);
    expect(() => parseJoinInfo('{}')).toThrow(ParseError);
    expect(() => parseJoinInfo('[]')).toThrow(ParseError);
    expect(() => parseJoinInfo('not json')).toThrow(ParseError);
  });
});

describe('isValidFingerprint', () => {
  const fp = '53:A4:11:FD:96:26:7A:80:68:41:3D:13:83:A6:2C:1D:9F:CA:6B:5D:F0:C2:B4:DF:7A:83:0B:FA:8E:53:E5:94';
  it('accepts 32 colon-separated hex bytes in either case', () => {
    expect(isValidFingerprint(fp)).toBe(true);
    expect(isValidFingerprint(fp.toLowerCase())).toBe(true);
    expect(normalizeFingerprint(` ${fp.toLowerCase()} `)).toBe(fp);
  });
  it('rejects anything else', () => {
    expect(isValidFingerprint(fp.slice(0, -3))).toBe(false);
    expect(isValidFingerprint(`${fp}:00`)).toBe(false);
    expect(isValidFingerprint(fp.replace(/:/g, ''))).toBe(false);
    expect(isValidFingerprint(fp.replace('53', 'G3'))).toBe(false);
    expect(isValidFingerprint('')).toBe(false);
    expect(isValidFingerprint(`${fp}\n`)).toBe(false);
  });
});

describe('parseClusterResources', () => {
  const rows = (): unknown[] =>
    fixture('pvesh/cluster-resources-go-proxmox-pve9x.rows.txt')
      .split(/\n(?=\{)/)
      .map((r) => JSON.parse(r) as unknown);

  it('types the sample qemu, storage and node rows', () => {
    const r = clusterResourcesFromJson(rows());
    expect(r.guests).toEqual([
      { type: 'qemu', vmid: 100, name: 'server1', node: 'node2', status: 'running', template: false, maxmem: 1073741824, mem: 842551296, maxdisk: 34359738368 },
    ]);
    expect(r.storages).toEqual([
      { storage: 'local-zfs', node: 'node3', status: 'available', plugintype: 'zfspool', shared: false, content: ['images', 'rootdir'], disk: 98304, maxdisk: 479730032640 },
    ]);
    expect(r.nodes).toEqual([{ node: 'node3', status: 'online', online: true, maxcpu: 4, maxmem: 16668827648, mem: 1681965056, uptime: 872961 }]);
  });

  it('ignores unknown types and keeps lock/hastate; guests without statistics keep only what is known', () => {
    const r = parseClusterResources(
      JSON.stringify([
        ...rows(),
        { type: 'pool', id: '/pool/x', pool: 'x' },
        { type: 'sdn', id: 'sdn/node2/localnetwork', sdn: 'localnetwork', node: 'node2', status: 'ok' },
        { type: 'lxc', id: 'lxc/101', vmid: '101', node: 'node3', status: 'stopped', name: 'ct1', template: '1', lock: 'backup', hastate: 'started' },
        { type: 'qemu', id: 'qemu/102', vmid: 102, node: 'node4', status: 'unknown' },
        { type: 'storage', id: 'storage/node4/nfs1', storage: 'nfs1', node: 'node4', plugintype: 'nfs', shared: 1, content: '', status: 'unknown' },
      ]),
    );
    expect(r.guests.map((g) => g.vmid)).toEqual([100, 101, 102]);
    expect(r.guests[1]).toEqual({ type: 'lxc', vmid: 101, name: 'ct1', node: 'node3', status: 'stopped', template: true, lock: 'backup', hastate: 'started' });
    expect(r.guests[2]).toEqual({ type: 'qemu', vmid: 102, node: 'node4', status: 'unknown', template: false });
    expect(r.storages.find((s) => s.storage === 'nfs1')).toEqual({ storage: 'nfs1', node: 'node4', status: 'unknown', plugintype: 'nfs', shared: true, content: [] });
  });

  it('throws ParseError on malformed known entries', () => {
    expect(() => parseClusterResources('[{"type":"qemu","node":"n"}]')).toThrow(/vmid/);
    expect(() => parseClusterResources('[{"type":"storage","storage":"nfs1","node":"n","shared":"maybe"}]')).toThrow(/shared/);
    expect(() => parseClusterResources('null')).toThrow(ParseError);
  });
});
