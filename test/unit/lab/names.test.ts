import { describe, expect, it } from 'vitest';
import {
  bridgeName,
  defaultSubnet,
  hostAddress,
  MAX_NODES,
  netnsIndex,
  netnsName,
  nodeAddress,
  nodeIndex,
  parseSubnet,
  pveVersionsFor,
  validateLabName,
  validateNodeCount,
  vethIndex,
  vethName,
} from '../../../src/lab/names.js';
import { UsageError } from '../../../src/errors.js';

describe('lab names', () => {
  it('accepts short lower-case names and rejects the rest', () => {
    for (const ok of ['pvx', 'e2ea', 'a', 'abcdefgh', 'lab1']) expect(validateLabName(ok)).toBe(ok);
    for (const bad of ['', '1lab', 'abcdefghi', 'Lab', 'a-b', 'a_b', 'a b', 'a;rm', '../x']) {
      expect(() => validateLabName(bad)).toThrow(UsageError);
    }
  });

  it('fits every interface name into the 15-character kernel limit', () => {
    const longest = 'abcdefgh';
    expect(bridgeName(longest).length).toBeLessThanOrEqual(15);
    expect(vethName(longest, MAX_NODES).length).toBeLessThanOrEqual(15);
  });

  it('names netns and veths so that one lab never matches another', () => {
    expect(netnsName('e2ea', 3)).toBe('pvx-e2ea-pve3');
    expect(netnsIndex('e2ea', 'pvx-e2ea-pve3')).toBe(3);
    expect(netnsIndex('e2e', 'pvx-e2ea-pve3')).toBeUndefined();
    expect(vethIndex('e2ea', vethName('e2ea', 12))).toBe(12);
    expect(vethIndex('e2e', 'pvx-e2ea-1')).toBeUndefined();
    expect(vethIndex('e2ea', 'pvx-e2ea-17')).toBeUndefined();
  });

  it('maps node names to indices within 1..16', () => {
    expect(nodeIndex('pve1')).toBe(1);
    expect(nodeIndex('pve16')).toBe(16);
    for (const bad of ['pve0', 'pve17', 'pve01', 'node1', 'pve']) expect(nodeIndex(bad)).toBeUndefined();
  });

  it('validates node counts', () => {
    expect(validateNodeCount(1)).toBe(1);
    expect(validateNodeCount(16)).toBe(16);
    for (const bad of [0, 17, 2.5, NaN]) expect(() => validateNodeCount(bad)).toThrow(UsageError);
  });
});

describe('lab subnets', () => {
  it('parses /24 networks inside 10.0.0.0/8', () => {
    expect(parseSubnet('10.77.11.0/24')).toEqual({ prefix: '10.77.11', cidr: '10.77.11.0/24' });
    expect(parseSubnet('10.1.2.0')).toEqual({ prefix: '10.1.2', cidr: '10.1.2.0/24' });
  });

  it('rejects anything outside 10/8, other prefix lengths and host bits', () => {
    for (const bad of ['192.168.1.0/24', '172.16.0.0/24', '10.77.0.0/16', '10.77.0.5/24', '10.300.0.0/24', 'ten', '10.77.0.0/24; rm']) {
      expect(() => parseSubnet(bad)).toThrow(UsageError);
    }
  });

  it('gives the default lab 10.77.0.0/24 and other labs a stable subnet of their own', () => {
    expect(defaultSubnet('pvx').cidr).toBe('10.77.0.0/24');
    expect(defaultSubnet('e2ea')).toEqual(defaultSubnet('e2ea'));
    expect(defaultSubnet('e2ea').prefix).toMatch(/^10\.77\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4])$/);
  });

  it('addresses node I at .(10+I) and the host at .1', () => {
    const s = parseSubnet('10.77.11.0/24');
    expect(nodeAddress(s, 1)).toBe('10.77.11.11');
    expect(nodeAddress(s, 16)).toBe('10.77.11.26');
    expect(hostAddress(s)).toBe('10.77.11.1');
  });
});

describe('PVE versions per node', () => {
  it('uses one version for all, one per node, or the previous ones', () => {
    expect(pveVersionsFor(3, ['9.1.7'], ['8.4.11'])).toEqual(['9.1.7', '9.1.7', '9.1.7']);
    expect(pveVersionsFor(2, ['8.4.11', '9.1.7'], ['8.4.11'])).toEqual(['8.4.11', '9.1.7']);
    expect(pveVersionsFor(3, undefined, ['8.4.11', '9.1.7'])).toEqual(['8.4.11', '9.1.7', '9.1.7']);
  });

  it('rejects a wrong count and malformed versions', () => {
    expect(() => pveVersionsFor(3, ['8.4.11', '9.1.7'], [])).toThrow(UsageError);
    expect(() => pveVersionsFor(1, ['8.x'], [])).toThrow(UsageError);
    expect(() => pveVersionsFor(1, ['8.4.11;id'], [])).toThrow(UsageError);
  });
});
