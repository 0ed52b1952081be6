/**
 * The inventory's quick check (no zod) accepts only what the zod schema accepts, with the same
 * result, and does accept well-formed inventories: a command reading one never loads zod.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { inventorySchemaOf, quickInventory } from '../../../src/config/inventory.js';

const schema = inventorySchemaOf(z);
const node = (extra: Record<string, unknown> = {}) => ({ name: 'pve1', host: '10.0.0.1', ...extra });

const VALID: unknown[] = [
  { nodes: [node()] },
  { nodes: [node(), { name: 'pve2', host: 'pve2.example.org' }, { name: 'pve3', host: 'fd00::3' }] },
  {
    ssh: { user: 'root', port: 2222, identityFile: '~/.ssh/id_ed25519', configFile: './ssh_config', knownHostsFile: '/tmp/kh', connectTimeout: 300 },
    nodes: [node({ link0: '10.1.0.1', link1: 'fd00::1', port: 22, user: 'admin_1', identityFile: 'keys/pve1' })],
  },
  { ssh: {}, nodes: [node({ port: 65535 })] },
  { ssh: { connectTimeout: 1, port: 1 }, nodes: [node()] },
];

const INVALID: unknown[] = [
  null,
  [],
  'pve1',
  {},
  { nodes: [] },
  { nodes: {} },
  { nodes: [node()], extra: 1 },
  { ssh: null, nodes: [node()] },
  { ssh: [], nodes: [node()] },
  { ssh: { User: 'root' }, nodes: [node()] },
  { ssh: { user: 'Bad User' }, nodes: [node()] },
  { ssh: { user: 'a'.repeat(33) }, nodes: [node()] },
  { ssh: { port: 0 }, nodes: [node()] },
  { ssh: { port: 65536 }, nodes: [node()] },
  { ssh: { port: '22' }, nodes: [node()] },
  { ssh: { port: 22.5 }, nodes: [node()] },
  { ssh: { port: Number.NaN }, nodes: [node()] },
  { ssh: { port: Number.POSITIVE_INFINITY }, nodes: [node()] },
  { ssh: { connectTimeout: 0 }, nodes: [node()] },
  { ssh: { connectTimeout: 301 }, nodes: [node()] },
  { ssh: { identityFile: '' }, nodes: [node()] },
  { ssh: { configFile: 'a\nb' }, nodes: [node()] },
  { ssh: { knownHostsFile: 7 }, nodes: [node()] },
  { nodes: [null] },
  { nodes: [[]] },
  { nodes: [node({ extra: true })] },
  { nodes: [{ host: '10.0.0.1' }] },
  { nodes: [{ name: 'pve1' }] },
  { nodes: [node({ name: 'pve_1' })] },
  { nodes: [node({ name: '' })] },
  { nodes: [node({ name: 5 })] },
  { nodes: [node({ host: '' })] },
  { nodes: [node({ host: '-oProxyCommand=x' })] },
  { nodes: [node(), node({ host: '10.0.0.2' })] },
  { nodes: [node({ link0: 'pve1' })] },
  { nodes: [node({ link1: '10.0.0.300' })] },
  { nodes: [node({ link0: null })] },
  { nodes: [node({ port: 0 })] },
  { nodes: [node({ user: '' })] },
  { nodes: [node({ identityFile: ' ' })] },
  { nodes: [node({ configFile: './x' })] },
];

describe('quickInventory', () => {
  it('is right about the corpus: the valid documents pass zod, the invalid ones do not', () => {
    for (const doc of VALID) expect(schema.safeParse(doc).success, JSON.stringify(doc)).toBe(true);
    for (const doc of INVALID) expect(schema.safeParse(doc).success, JSON.stringify(doc)).toBe(false);
  });

  it('accepts every well-formed inventory, giving what zod gives', () => {
    for (const doc of VALID) {
      const r = schema.safeParse(doc);
      expect(quickInventory(doc), JSON.stringify(doc)).toEqual(r.success ? r.data : 'zod refused it');
    }
  });

  it('accepts nothing zod refuses (zod then explains it)', () => {
    for (const doc of INVALID) expect(quickInventory(doc), JSON.stringify(doc)).toBeUndefined();
  });
});
