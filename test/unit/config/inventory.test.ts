import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findInventory, parseInventory } from '../../../src/config/inventory.js';
import { ConfigError } from '../../../src/errors.js';
import { tmpDir } from '../../helpers/tmp.js';

const GOOD = `
ssh:
  user: root
  port: 22
  identityFile: ~/.ssh/id_ed25519
  connectTimeout: 5
nodes:
  - name: pve1
    host: 192.0.2.11
    link0: 198.51.100.11
  - name: pve2
    host: pve2.example.org
    port: 2222
`;

function fails(text: string): ConfigError {
  try {
    parseInventory(text, '/etc/pvx/inv.yaml', { HOME: '/home/u' });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseInventory', () => {
  it('reads the CLI.md example and applies ssh defaults per node', () => {
    const inv = parseInventory(GOOD, '/etc/pvx/inv.yaml', { HOME: '/home/u' });
    expect(inv.nodes).toEqual([
      { name: 'pve1', host: '192.0.2.11', port: 22, user: 'root', identityFile: '/home/u/.ssh/id_ed25519', link0: '198.51.100.11' },
      { name: 'pve2', host: 'pve2.example.org', port: 2222, user: 'root', identityFile: '/home/u/.ssh/id_ed25519' },
    ]);
  });

  it('names the file, the path in it and the fix for a bad node name', () => {
    const e = fails('nodes:\n  - name: pve_1\n    host: 10.0.0.1\n');
    expect(e.message).toContain('/etc/pvx/inv.yaml: nodes[0].name:');
    expect(e.message).toContain("'pve_1' is invalid");
    expect(e.exitCode).toBe(2);
  });

  it('rejects duplicates, unknown keys, bad ports, bad links and option-like hosts', () => {
    expect(fails('nodes:\n  - {name: a, host: h}\n  - {name: a, host: g}\n').message).toContain('nodes[1].name: duplicate');
    const unknown = fails('nodes:\n  - {name: a, host: h, hots: x}\n');
    expect(unknown.message).toContain('nodes[0]');
    expect(unknown.hint).toContain("'hots'");
    expect(fails('ssh: {port: 70000}\nnodes:\n  - {name: a, host: h}\n').message).toContain('ssh.port');
    expect(fails('nodes:\n  - {name: a, host: h, link0: not-an-ip}\n').message).toContain('nodes[0].link0: must be an IP');
    expect(fails('nodes:\n  - {name: a, host: -oProxyCommand=x}\n').message).toContain("starts with '-'");
    expect(fails('nodes: []\n').message).toContain('at least one node');
  });

  it('reports YAML syntax errors with a line number', () => {
    const e = fails('nodes:\n  - name: a\n   host: b\n');
    expect(e.message).toMatch(/inv\.yaml:\d+:\d+: not valid YAML/);
  });
});

describe('findInventory', () => {
  it('prefers the flag, then PVX_INVENTORY, then ./pvx.yaml, then the config dir', () => {
    const d = tmpDir();
    const cfg = path.join(d, 'cfg', 'pvx');
    mkdirSync(cfg, { recursive: true });
    writeFileSync(path.join(cfg, 'inventory.yaml'), GOOD);
    const env = { XDG_CONFIG_HOME: path.join(d, 'cfg'), HOME: d };
    expect(findInventory(undefined, undefined, env, d)).toBe(path.join(cfg, 'inventory.yaml'));
    writeFileSync(path.join(d, 'pvx.yaml'), GOOD);
    expect(findInventory(undefined, undefined, env, d)).toBe(path.join(d, 'pvx.yaml'));
    writeFileSync(path.join(d, 'other.yaml'), GOOD);
    expect(findInventory(undefined, 'other.yaml', env, d)).toBe(path.join(d, 'other.yaml'));
    expect(() => findInventory('missing.yaml', undefined, env, d)).toThrow(/does not exist/);
  });
});
