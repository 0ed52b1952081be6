import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterStatusOf, nodeReadArgv, parseNodeRead, pvecmStatusOf, pveVersionOf, renderNodeRead } from '../../../src/facts/node-read.js';
import { isKnownRead } from '../../../src/transport/known-reads.js';
import { fixture } from '../parse/fixture.js';

const CONF = fixture('corosync-conf/labcluster-3node-constructed.conf');
const QUORUM = fixture('corosync-quorumtool/pve9-3node-cluster-validation-siH.txt');
const STANDALONE = "Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n";

describe('pvecm status from corosync.conf and corosync-quorumtool -siH', () => {
  it('composes exactly what the real pvecm status printed on that cluster', () => {
    const parts = parseNodeRead(renderNodeRead({ conf: { stdout: CONF }, quorum: { stdout: QUORUM } }));
    expect(pvecmStatusOf(parts)).toEqual({ exitCode: 0, stdout: fixture('pvecm-status/pve9-3node-cluster-validation.txt'), stderr: '' });
  });

  it('without /etc/pve/corosync.conf it is pvecm\'s standalone error', () => {
    expect(pvecmStatusOf(parseNodeRead(renderNodeRead({ members: { exitCode: 1 } })))).toEqual({ exitCode: 255, stdout: '', stderr: STANDALONE });
  });

  it('quorumtool\'s failure and exit code pass through, under the header', () => {
    const parts = parseNodeRead(renderNodeRead({ conf: { stdout: CONF }, quorum: { exitCode: 1, stderr: 'Cannot initialize CMAP service\n' } }));
    const out = pvecmStatusOf(parts);
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toBe('Cannot initialize CMAP service\n');
    expect(out.stdout).toBe('Cluster information\n-------------------\nName:             labcluster\nConfig Version:   3\nTransport:        knet\nSecure auth:      on\n\n');
  });

  it('an unreadable corosync.conf is a warning and no header, as pvecm does', () => {
    const parts = parseNodeRead(renderNodeRead({ conf: { exitCode: 1, stderr: 'cat: /etc/pve/corosync.conf: Input/output error\n' }, quorum: { stdout: QUORUM } }));
    expect(pvecmStatusOf(parts)).toEqual({ exitCode: 0, stdout: QUORUM, stderr: 'cat: /etc/pve/corosync.conf: Input/output error\n' });
  });
});

describe('the other parts', () => {
  it('the cluster information from .members, the version from the package database', () => {
    const parts = parseNodeRead(renderNodeRead({ members: { stdout: fixture('pmxcfs/members-3node-constructed.json') }, version: { stdout: 'installed 9.1.7\n' } }));
    expect(clusterStatusOf(parts)?.nodes.map((n) => n.name)).toEqual(['proxmox', 'pve2', 'pve3']);
    expect(pveVersionOf(parts)).toBe('9.1.7');
  });

  it('missing or failed parts read as unknown, not as errors', () => {
    const parts = parseNodeRead(renderNodeRead({ members: { exitCode: 1, stderr: 'cat: /etc/pve/.members: No such file or directory\n' }, version: { exitCode: 1, stderr: 'dpkg-query: no packages found matching pve-manager\n' } }));
    expect(clusterStatusOf(parts)).toBeUndefined();
    expect(pveVersionOf(parts)).toBeNull();
    expect(pveVersionOf(parseNodeRead(renderNodeRead({ version: { stdout: 'garbage' } })))).toBeNull();
  });

  it('reads each part between its marks on both streams; a part that did not finish is absent', () => {
    const M = '@@pvx-node:';
    const stdout = `\n${M}members\n{"nodename":"pve1"}\n\n${M}members:0\n\n${M}version\ninstalled 9.1.7\n\n${M}version:0\n\n${M}quorum\npartial`;
    const stderr = `\n${M}members\n\n${M}version\nwarn\n\n${M}quorum\nkilled\n`;
    const parts = parseNodeRead({ stdout, stderr });
    expect([...parts.keys()]).toEqual(['members', 'version']);
    expect(parts.get('members')).toEqual({ exitCode: 0, stdout: '{"nodename":"pve1"}\n', stderr: '' });
    expect(parts.get('version')).toEqual({ exitCode: 0, stdout: 'installed 9.1.7\n', stderr: 'warn\n' });
  });

  it('a stream without a final newline keeps its neighbours apart', () => {
    const parts = parseNodeRead(renderNodeRead({ conf: { stdout: 'a' }, quorum: { stdout: 'b', stderr: 'c' } }));
    expect(parts.get('conf')).toEqual({ exitCode: 0, stdout: 'a', stderr: '' });
    expect(parts.get('quorum')).toEqual({ exitCode: 0, stdout: 'b', stderr: 'c' });
  });
});

describe('the node-read script', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pvx-node-read-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is a read dry-run may run', () => {
    expect(isKnownRead(nodeReadArgv())).toBe(true);
  });

  it('runs under sh and frames every part (a host without /etc/pve: no conf, no quorumtool)', () => {
    // stand-ins that print their arguments, so the script's quoting shows
    for (const tool of ['dpkg-query', 'corosync-quorumtool']) {
      writeFileSync(path.join(dir, tool), '#!/bin/sh\nprintf "%s|" "$@"; echo; echo err >&2; exit 3\n');
      chmodSync(path.join(dir, tool), 0o755);
    }
    const [sh, ...args] = nodeReadArgv();
    const run = spawnSync(sh ?? 'sh', args, { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin` } });
    const parts = parseNodeRead(run);
    expect([...parts.keys()]).toEqual(['members', 'version']);
    expect(parts.get('members')?.exitCode).not.toBe(0);
    expect(parts.get('version')).toEqual({ exitCode: 3, stdout: '-W|-f|${db:Status-Status} ${Version}\\n|pve-manager|\n', stderr: 'err\n' });
  });
});
