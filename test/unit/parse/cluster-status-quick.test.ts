/**
 * The quick checks of /cluster/status entries (no zod) accept only what the entry schemas accept,
 * with the same values, and do accept well-formed entries: a membership read never loads zod.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { entrySchemasOf, quickClusterEntry, quickNodeEntry } from '../../../src/pve/parse/pvesh-cluster-status.js';

const schemas = entrySchemasOf(z);

const CLUSTER_VALID = [
  { type: 'cluster', name: 'prod', nodes: 3, quorate: 1, version: 7, id: 'cluster' },
  { type: 'cluster', name: 'lab-1', nodes: '3', quorate: '0', version: '12' },
  { type: 'cluster', name: 'c', nodes: 1, version: 1 },
  { type: 'cluster', name: 'c', nodes: -1, quorate: null, version: 0 },
  { type: 'cluster', name: 'c', nodes: 2, quorate: true, version: 2 },
  { type: 'cluster', name: 'c', nodes: 2, quorate: false, version: 2 },
];
const CLUSTER_INVALID = [
  { type: 'cluster', nodes: 3, version: 1 },
  { type: 'cluster', name: 'has space', nodes: 3, version: 1 },
  { type: 'cluster', name: 'c', nodes: 3.5, version: 1 },
  { type: 'cluster', name: 'c', nodes: '3a', version: 1 },
  { type: 'cluster', name: 'c', nodes: 3 },
  { type: 'cluster', name: 'c', nodes: 3, version: 1, quorate: 2 },
  { type: 'cluster', name: 'c', nodes: 3, version: 1, quorate: 'yes' },
  { type: 'cluster', name: 7, nodes: 3, version: 1 },
];
const NODE_VALID = [
  { type: 'node', name: 'pve1', nodeid: 1, online: 1, local: 1, ip: '10.0.0.1', level: '', id: 'node/pve1' },
  { type: 'node', name: 'pve2', nodeid: '2', online: '0', local: 0, ip: 'fd00::2', level: 'c' },
  { type: 'node', name: 'pve3', nodeid: 0 },
  { type: 'node', name: 'pve4', nodeid: 4, online: null, level: null },
  { type: 'node', name: 'pve5', nodeid: 5, online: true, local: false },
];
const NODE_INVALID = [
  { type: 'node', nodeid: 1 },
  { type: 'node', name: 'pve_1', nodeid: 1 },
  { type: 'node', name: 'pve1' },
  { type: 'node', name: 'pve1', nodeid: 1.5 },
  { type: 'node', name: 'pve1', nodeid: 1, online: 'true' },
  { type: 'node', name: 'pve1', nodeid: 1, local: 3 },
  { type: 'node', name: 'pve1', nodeid: 1, ip: 'pve1.lan' },
  { type: 'node', name: 'pve1', nodeid: 1, ip: null },
  { type: 'node', name: 'pve1', nodeid: 1, level: 3 },
];

describe('quick /cluster/status entries', () => {
  it('is right about the corpus: the valid entries pass zod, the invalid ones do not', () => {
    for (const e of CLUSTER_VALID) expect(schemas.cluster.safeParse(e).success, JSON.stringify(e)).toBe(true);
    for (const e of CLUSTER_INVALID) expect(schemas.cluster.safeParse(e).success, JSON.stringify(e)).toBe(false);
    for (const e of NODE_VALID) expect(schemas.node.safeParse(e).success, JSON.stringify(e)).toBe(true);
    for (const e of NODE_INVALID) expect(schemas.node.safeParse(e).success, JSON.stringify(e)).toBe(false);
  });

  it('accepts every well-formed entry with the values zod gives', () => {
    for (const e of CLUSTER_VALID) {
      const c = schemas.cluster.parse(e);
      expect(quickClusterEntry(e), JSON.stringify(e)).toEqual({ name: c.name, nodes: c.nodes, quorate: c.quorate ?? false, version: c.version });
    }
    for (const e of NODE_VALID) {
      const n = schemas.node.parse(e);
      const want = { name: n.name, nodeid: n.nodeid, online: n.online ?? false, local: n.local ?? false, level: n.level ?? '', ...(n.ip !== undefined ? { ip: n.ip } : {}) };
      expect(quickNodeEntry(e), JSON.stringify(e)).toEqual(want);
    }
  });

  it('accepts no entry zod refuses (zod then names what is wrong)', () => {
    for (const e of CLUSTER_INVALID) expect(quickClusterEntry(e), JSON.stringify(e)).toBeUndefined();
    for (const e of NODE_INVALID) expect(quickNodeEntry(e), JSON.stringify(e)).toBeUndefined();
  });

  it('gives the values by hand for a pmxcfs-style pair of entries', () => {
    expect(quickClusterEntry({ type: 'cluster', name: 'prod', nodes: 3, quorate: 1, version: '7' })).toEqual({ name: 'prod', nodes: 3, quorate: true, version: 7 });
    expect(quickNodeEntry({ type: 'node', name: 'pve2', nodeid: 2, online: 1, local: 0, ip: '10.0.0.2' })).toEqual({
      name: 'pve2', nodeid: 2, online: true, local: false, level: '', ip: '10.0.0.2',
    });
  });
});
