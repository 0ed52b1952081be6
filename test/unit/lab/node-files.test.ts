import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { inventoryYaml } from '../../../src/lab/inventory.js';
import { parseSubnet } from '../../../src/lab/names.js';
import {
  blockUdpRuleset,
  chronyConf,
  clientKnownHosts,
  environmentFile,
  faketimeOffset,
  hostsFile,
  mergeAuthorizedKeys,
  nodeKnownHosts,
  parseEnvironmentFile,
  parsePortSpec,
  sshdConfig,
  toolWrapper,
} from '../../../src/lab/node-files.js';

const nodes = [
  { name: 'pve1', address: '10.77.11.11' },
  { name: 'pve2', address: '10.77.11.12' },
  { name: 'pve3', address: '10.77.11.13' },
];

describe('/etc/hosts', () => {
  it('maps every node like the PVE installer and has no 127.0.1.1 line', () => {
    const h = hostsFile(nodes, 'pve2');
    expect(h).toContain('10.77.11.11 pve1.lab.pvx pve1\n');
    expect(h).toContain('10.77.11.12 pve2.lab.pvx pve2\n');
    expect(h).toContain('10.77.11.13 pve3.lab.pvx pve3\n');
    expect(h).not.toContain('127.0.1.1');
    expect(h.startsWith('127.0.0.1 localhost.localdomain localhost\n')).toBe(true);
  });

  it('with hosts-loopback puts the node on 127.0.1.1 and drops its real mapping only', () => {
    const h = hostsFile(nodes, 'pve2', true);
    expect(h).toContain('127.0.1.1 pve2.lab.pvx pve2\n');
    expect(h).not.toContain('10.77.11.12');
    expect(h).toContain('10.77.11.11 pve1.lab.pvx pve1\n');
  });
});

describe('/etc/environment', () => {
  it('puts the stand-ins first on PATH and adds libfaketime only when skewed', () => {
    const plain = parseEnvironmentFile(environmentFile({ faketimeLib: '/lib/ft.so.1' }));
    expect(plain['PATH']?.startsWith('/etc/pvx-lab/bin:')).toBe(true);
    expect(plain['LD_PRELOAD']).toBeUndefined();
    const skewed = parseEnvironmentFile(environmentFile({ skew: -30, faketimeLib: '/lib/ft.so.1' }));
    expect(skewed).toMatchObject({ LD_PRELOAD: '/lib/ft.so.1', FAKETIME: '-30' });
  });

  it('formats FAKETIME offsets with a sign', () => {
    expect(faketimeOffset(2.5)).toBe('+2.5');
    expect(faketimeOffset(-0.25)).toBe('-0.25');
    expect(faketimeOffset(1 / 3)).toBe('+0.333');
  });

  it('parses quotes, comments and export lines', () => {
    expect(parseEnvironmentFile('# c\nA="x y"\nexport B=1\nC=\'q\'\nbad line\n')).toEqual({ A: 'x y', B: '1', C: 'q' });
  });
});

describe('chrony.conf', () => {
  const subnet = parseSubnet('10.77.11.0/24');
  it('lets the first node serve the lab', () => {
    const c = chronyConf({ server: true, serverAddress: '10.77.11.11', subnet });
    expect(c).toContain('local stratum 8\n');
    expect(c).toContain('allow 10.77.11.0/24\n');
    expect(c).not.toMatch(/^(server|pool) /m);
    expect(c).toContain('pidfile /run/chrony/chronyd.pid\n');
  });

  it('makes other nodes follow the first with the skew as a (negated) offset and no outside sources', () => {
    const c = chronyConf({ server: false, serverAddress: '10.77.11.11', subnet, skew: 2.5 });
    expect(c).toMatch(/^server 10\.77\.11\.11 iburst .*offset -2\.5$/m);
    expect(c).not.toMatch(/^pool /m);
    expect(chronyConf({ server: false, serverAddress: '10.77.11.11', subnet })).toMatch(/offset 0$/m);
  });
});

describe('sshd_config', () => {
  it('allows root by key only, without DNS, with PAM for /etc/environment', () => {
    const c = sshdConfig();
    expect(c).toMatch(/^PermitRootLogin prohibit-password$/m);
    expect(c).toMatch(/^PasswordAuthentication no$/m);
    expect(c).toMatch(/^UseDNS no$/m);
    expect(c).toMatch(/^UsePAM yes$/m);
    expect(c).toMatch(/^PidFile \/run\/sshd\.pid$/m);
  });
});

describe('stand-in wrappers', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pvx-wrap-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pass every argument through unchanged, even hostile ones', () => {
    const fakeNode = path.join(dir, "n'o de");
    writeFileSync(fakeNode, '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\n');
    chmodSync(fakeNode, 0o755);
    const wrapper = path.join(dir, 'qm');
    writeFileSync(wrapper, toolWrapper(fakeNode, '/x/$(id)/main.js', 'qm'));
    chmodSync(wrapper, 0o755);
    const out = execFileSync(wrapper, ['list', 'a b', '$(touch /tmp/pwned)', "'"], { encoding: 'utf8' });
    expect(out).toBe("[/x/$(id)/main.js][qm][list][a b][$(touch /tmp/pwned)][']");
  });
});

describe('ssh trust files', () => {
  const k1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 root@pve1';
  const k2 = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ2 root@pve2';

  it('merges authorized keys without duplicates and keeps foreign lines', () => {
    const merged = mergeAuthorizedKeys('command="x" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 old\nssh-ed25519 AAAAother user\n', [k1, k2]);
    expect(merged.split('\n').filter(Boolean)).toEqual(['command="x" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 old', 'ssh-ed25519 AAAAother user', k2]);
    expect(mergeAuthorizedKeys('', [])).toBe('');
  });

  it('lists every node by name, FQDN and address for nodes, and by address for the client', () => {
    const all = [{ node: nodes[0] as { name: string; address: string }, keys: [k1] }];
    expect(nodeKnownHosts(all)).toBe('pve1,pve1.lab.pvx,10.77.11.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1\n');
    expect(clientKnownHosts(all)).toBe('10.77.11.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1\n');
  });
});

describe('block-udp', () => {
  it('accepts ports and ranges only', () => {
    expect(parsePortSpec('5405')).toBe('5405');
    expect(parsePortSpec(' 5404-5412 ')).toBe('5404-5412');
    expect(parsePortSpec('5405-5405')).toBe('5405');
    for (const bad of ['0', '65536', '5412-5404', 'x', '5405;flush ruleset', '']) expect(parsePortSpec(bad)).toBeUndefined();
  });

  it('drops the ports both ways, spares loopback, and replaces the table atomically', () => {
    const r = blockUdpRuleset('pvxlab', ['5405', '5404-5406']);
    expect(r.startsWith('table inet pvxlab\ndelete table inet pvxlab\n')).toBe(true);
    expect(r).toMatch(/hook input[\s\S]*iifname "lo" accept[\s\S]*udp dport 5405 drop[\s\S]*udp sport 5404-5406 drop/);
    expect(r).toMatch(/hook output[\s\S]*oifname "lo" accept[\s\S]*udp dport 5405 drop/);
    expect(blockUdpRuleset('pvxlab', [])).toBe('table inet pvxlab\ndelete table inet pvxlab\n');
  });
});

describe('inventory', () => {
  it('follows the CLI.md format with the lab key and known_hosts', () => {
    const doc = parse(inventoryYaml({ lab: 'e2ea', clientKey: '/l/id_ed25519', knownHosts: '/l/known_hosts', nodes }));
    expect(doc).toEqual({
      ssh: { user: 'root', identityFile: '/l/id_ed25519', knownHostsFile: '/l/known_hosts', connectTimeout: 5 },
      nodes: nodes.map((n) => ({ name: n.name, host: n.address, link0: n.address })),
    });
  });
});
