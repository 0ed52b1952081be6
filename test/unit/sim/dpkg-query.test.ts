/**
 * The lab's package database: the host's with the node's PVE packages, read by the real
 * /usr/bin/dpkg-query (so the answers are dpkg's own, formats and errors included).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeDpkgDbStale, nodeDpkgStatus, pvePackages, writeNodeDpkgDb } from '../../../src/lab/sim/core/dpkg-db.js';
import { dpkgQuery, REAL_DPKG_QUERY } from '../../../src/lab/sim/tools/dpkg-query.js';
import { toolWrapper } from '../../../src/lab/node-files.js';
import { recordingCtx } from './ctx.js';
import { tmpDir } from '../../helpers/tmp.js';

const HOST = ['Package: dpkg', 'Status: install ok installed', 'Version: 1.21.22', '', 'Package: corosync', 'Status: install ok installed', 'Version: 3.1.7-1', ''].join('\n');

/** The real dpkg-query over an admin directory. */
function query(dir: string, args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(REAL_DPKG_QUERY, [`--admindir=${dir}`, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe("a lab node's package database", () => {
  it('keeps the host paragraphs, and the PVE packages replace same-named ones (dpkg refuses two instances)', () => {
    const s = nodeDpkgStatus(HOST, new Map([['corosync', '3.1.9-pve1'], ['pve-manager', '8.4.11']]));
    expect(s.match(/^Package: corosync$/gm)).toHaveLength(1);
    expect(s).toContain('Package: dpkg\nStatus: install ok installed\nVersion: 1.21.22');
    expect(s).toMatch(/Package: corosync\nStatus: install ok installed\n(.+\n)*Version: 3\.1\.9-pve1\n/);
    expect(s).not.toContain('3.1.7-1');
  });

  it("the real dpkg-query reads it: pve-manager's state and version, a host package, an unknown one refused as dpkg does", () => {
    const dir = path.join(tmpDir('pvx-dpkg-'), 'dpkg');
    writeNodeDpkgDb(dir, '9.1.7');
    expect(query(dir, ['-W', '-f', '${db:Status-Status} ${Version}\\n', 'pve-manager'])).toEqual({ code: 0, out: 'installed 9.1.7\n', err: '' });
    expect(query(dir, ['-W', 'pve-cluster']).out).toBe(`pve-cluster\t${pvePackages('9.1.7').get('pve-cluster')}\n`);
    expect(query(dir, ['-W', '-f', '${Status}', 'dpkg'])).toMatchObject({ code: 0, out: 'install ok installed' });
    expect(query(dir, ['-W', 'no-such-package-pvx'])).toEqual({ code: 1, out: '', err: 'dpkg-query: no packages found matching no-such-package-pvx\n' });
  });

  it('is stale when the host database or the node identity is newer, current after a rewrite', () => {
    const root = tmpDir('pvx-dpkg-');
    const host = path.join(root, 'host');
    mkdirSync(host);
    writeFileSync(path.join(host, 'status'), `${HOST}\n`);
    const identity = path.join(root, 'node.json');
    writeFileSync(identity, '{}');
    const dir = path.join(root, 'dpkg');
    expect(nodeDpkgDbStale(dir, identity, host)).toBe(true);
    writeNodeDpkgDb(dir, '8.4.11', host);
    const later = Date.now() / 1000 + 5;
    utimesSync(path.join(dir, 'status'), later, later);
    expect(nodeDpkgDbStale(dir, identity, host)).toBe(false);
    utimesSync(identity, later + 1, later + 1);
    expect(nodeDpkgDbStale(dir, identity, host)).toBe(true);
    utimesSync(identity, later - 10, later - 10);
    utimesSync(path.join(host, 'status'), later + 1, later + 1);
    expect(nodeDpkgDbStale(dir, identity, host)).toBe(true);
    expect(readFileSync(path.join(dir, 'status'), 'utf8')).toContain('Package: pve-manager\nStatus: install ok installed');
  });

  it('the tool writes the database under the node and answers through the real dpkg-query', async () => {
    const root = tmpDir('pvx-dpkg-');
    const r = recordingCtx({ root, pveVersion: '8.4.11' });
    r.ctx.env['PVX_LAB_NODE_FILE'] = path.join(root, 'no-identity.json');
    const code = await dpkgQuery.run(['-W', '-f', '${Package} ${Version}\\n', 'pve-manager', 'corosync'], r.ctx);
    // dpkg-query prints in its own (name) order, not the order asked
    expect({ code, out: r.out(), err: r.err() }).toEqual({ code: 0, out: 'corosync 3.1.9-pve1\npve-manager 8.4.11\n', err: '' });
    expect(readFileSync(path.join(root, 'etc/pvx-lab/dpkg/status'), 'utf8')).toContain('Package: proxmox-ve');
  });

  it("the node's wrapper goes straight to the real dpkg-query only while the database is current", () => {
    const w = toolWrapper('/usr/bin/node', '/app/main.js', 'dpkg-query');
    expect(w).toContain("if [ '/etc/pvx-lab/dpkg'/status -nt /var/lib/dpkg/status ] && [ '/etc/pvx-lab/dpkg'/status -nt '/etc/pvx-lab/node.json' ]; then\n  exec /usr/bin/dpkg-query --admindir='/etc/pvx-lab/dpkg' \"$@\"\nfi\n");
    expect(w.endsWith(`exec '/usr/bin/node' '/app/main.js' 'dpkg-query' "$@"\n`)).toBe(true);
    expect(execFileSync('sh', ['-n', '-c', w])).toHaveLength(0);
    expect(toolWrapper('/usr/bin/node', '/app/main.js', 'qm')).toBe(`#!/bin/sh\nexec '/usr/bin/node' '/app/main.js' 'qm' "$@"\n`);
  });
});
