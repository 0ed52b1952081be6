// The built binary against real OpenSSH sshd instances on loopback whose sessions find stand-in
// PVE tools printing reference samples: transport, parsing, merging, rendering and exit codes.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pvx, sshSpy, ROOT } from '../helpers/cli.js';
import { startLoopbackCluster, freePort, type LoopbackCluster } from '../helpers/sshd.js';
import { tmpDir } from '../helpers/tmp.js';

const isRoot = process.getuid?.() === 0;
const FIX = path.join(ROOT, 'test', 'fixtures', 'pve');
const STATUS = readFileSync(path.join(FIX, 'corosync-quorumtool/pve9-3node-cluster-validation-siH.txt'), 'utf8');
const CONF = readFileSync(path.join(FIX, 'corosync-conf/labcluster-3node-constructed.conf'), 'utf8');
const MEMBERS = readFileSync(path.join(FIX, 'pmxcfs/members-3node-constructed.json'), 'utf8');
const NAMES = ['proxmox', 'pve2', 'pve3'];

// each tool prints files the test writes per node, so one sshd set serves every scenario
const tool = (dir: string, name: string) =>
  `#!/bin/sh\nd='${dir}'/"$PVX_TEST_NODE"/${name}\ncat "$d.out" 2>/dev/null; cat "$d.err" >&2 2>/dev/null; exit "$(cat "$d.rc" 2>/dev/null || echo 0)"\n`;
// a pretend node's /etc/pve is a folder of the test: scripts pvx sends find their files there
const shell = (dir: string) =>
  `#!/bin/sh\nif [ "$1" = -c ]; then s=$(printf '%s' "$2" | sed "s#/etc/pve/#${dir}/$PVX_TEST_NODE/etc-pve/#g"); shift 2; exec /bin/sh -c "$s" "$@"; fi\nexec /bin/sh "$@"\n`;

function answer(dir: string, node: string, toolName: string, out: string, rc = 0, err = ''): void {
  const d = path.join(dir, node);
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, `${toolName}.out`), out);
  writeFileSync(path.join(d, `${toolName}.err`), err);
  writeFileSync(path.join(d, `${toolName}.rc`), String(rc));
}

/** A pretend node's /etc/pve file; undefined removes it. */
function pveFile(dir: string, node: string, name: string, text: string | undefined): void {
  const d = path.join(dir, node, 'etc-pve');
  mkdirSync(d, { recursive: true });
  if (text === undefined) rmSync(path.join(d, name), { force: true });
  else writeFileSync(path.join(d, name), text);
}

describe.skipIf(!isRoot)('cluster status over real sshd on loopback', () => {
  let dir: string;
  let lc: LoopbackCluster;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = tmpDir('pvx-e2e-status-');
    const answers = path.join(dir, 'answers');
    lc = await startLoopbackCluster(path.join(dir, 'nodes'), NAMES, () => ({
      sh: shell(answers),
      'corosync-quorumtool': tool(answers, 'quorumtool'),
      'dpkg-query': tool(answers, 'dpkg-query'),
    }));
    for (const n of NAMES) {
      answer(answers, n, 'quorumtool', STATUS);
      answer(answers, n, 'dpkg-query', 'installed 9.0.6\n');
      pveFile(answers, n, 'corosync.conf', CONF);
      pveFile(answers, n, '.members', MEMBERS.replace('"nodename": "proxmox"', `"nodename": "${n}"`));
    }
    env = { PVX_RUNTIME_DIR: lc.runtimeDir, PVX_STATE_DIR: path.join(dir, 'state'), PVX_INVENTORY: lc.inventory };
  });

  afterAll(() => {
    lc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads all nodes and renders a quorate 3-node cluster (human, exit 0)', () => {
    const r = pvx(['cluster', 'status'], env);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Cluster  labcluster  (config version 3, knet, secure auth on)');
    expect(r.stdout).toContain('quorate: 3 of 3 votes, quorum 2');
    expect(r.stdout).toMatch(/^pve2 +2 +1 +online +192\.168\.1\.48 +9\.0\.6$/m);
  });

  it('prints exactly one JSON document with the CLI.md result shape', () => {
    const r = pvx(['cluster', 'status', '--json'], env);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, command: 'cluster status', ok: true, warnings: [] });
    expect(doc.result.cluster).toEqual({ name: 'labcluster', configVersion: 3, transport: 'knet', secureAuth: true });
    expect(doc.result.quorum).toEqual({ quorate: true, expectedVotes: 3, totalVotes: 3, quorum: 2 });
    expect(doc.result.nodes.map((n: { name: string }) => n.name)).toEqual(['proxmox', 'pve2', 'pve3']);
    expect(doc.result.nodes[0]).toEqual({ name: 'proxmox', nodeid: 1, votes: 1, online: true, local: true, address: '192.168.1.47', pveVersion: '9.0.6' });
  });

  it('keeps one multiplexed connection per node: a second run reuses the control masters', () => {
    const r = pvx(['cluster', 'status', '--verbose'], env);
    expect(r.code).toBe(0);
    // every command of the run is journaled with node, argv and exit code
    const journal = readFileSync(path.join(dir, 'state', 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const last = journal.slice(-3);
    expect(new Set(last.map((e: { node: string }) => e.node))).toEqual(new Set(NAMES));
    expect(last.every((e: { exitCode: number; mutates: boolean }) => e.exitCode === 0 && e.mutates === false)).toBe(true);
    expect(r.stderr).toMatch(/\[pve2\] sh -c .* → exit 0/);
  });

  it('cold: the first command to each node opens its master itself; one ssh process per command, no extra ones', () => {
    const spy = sshSpy(tmpDir('pvx-spy-'));
    const rt = tmpDir('pvx-rt-');
    const r = pvx(['cluster', 'status', '--json'], { ...env, PVX_RUNTIME_DIR: rt, PATH: `${spy.pathPrefix}:${process.env['PATH']}` });
    expect(r.code).toBe(0);
    const calls = spy.calls();
    const journal = readFileSync(path.join(dir, 'state', 'journal.jsonl'), 'utf8').trim().split('\n');
    const ran = journal.slice(-calls.length).map((l) => JSON.parse(l) as { node: string });
    // no `ssh -O check`, no separate `ssh -f -N` master: every ssh process ran one command
    expect(calls.filter((c) => / -O | -N /.test(` ${c} `))).toEqual([]);
    expect(calls.every((c) => c.includes('ControlMaster=auto'))).toBe(true);
    expect(new Set(ran.map((e) => e.node))).toEqual(new Set(NAMES));
    // and each node was left one master, so the next run is warm
    for (const n of lc.nodes) {
      const check = spawnSync('ssh', ['-o', `ControlPath=${path.join(rt, 'cm-%C')}`, '-p', String(n.port), '-l', 'root', '-O', 'check', '127.0.0.1'], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      spawnSync('ssh', ['-o', `ControlPath=${path.join(rt, 'cm-%C')}`, '-p', String(n.port), '-l', 'root', '-O', 'exit', '127.0.0.1']);
    }
  });

  it('a master that died and left its socket behind is replaced, not reported as a failure', () => {
    const rt = tmpDir('pvx-rt-');
    expect(pvx(['cluster', 'status', '--node', 'pve2', '--json'], { ...env, PVX_RUNTIME_DIR: rt }).code).toBe(0);
    const node = lc.nodes.find((n) => n.name === 'pve2');
    const ctl = ['-o', `ControlPath=${path.join(rt, 'cm-%C')}`, '-p', String(node?.port), '-l', 'root'];
    const pid = Number(/pid=(\d+)/.exec(spawnSync('ssh', [...ctl, '-O', 'check', '127.0.0.1'], { encoding: 'utf8' }).stderr)?.[1]);
    expect(pid).toBeGreaterThan(0);
    // the master this test's own run started
    process.kill(pid, 'SIGKILL');
    const r = pvx(['cluster', 'status', '--node', 'pve2', '--json'], { ...env, PVX_RUNTIME_DIR: rt });
    expect(r.code, r.stderr).toBe(0);
    const again = spawnSync('ssh', [...ctl, '-O', 'check', '127.0.0.1'], { encoding: 'utf8' });
    expect(again.status).toBe(0);
    expect(again.stderr).not.toContain(`pid=${pid})`);
    spawnSync('ssh', [...ctl, '-O', 'exit', '127.0.0.1']);
  });

  it('asks only one node with --node', () => {
    const r = pvx(['cluster', 'status', '--node', 'pve3', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).result.source).toBe('pve3');
  });

  it('exits 5 when the cluster is not quorate', () => {
    const answers = path.join(dir, 'answers');
    const lost = STATUS.replace('Quorate:          Yes', 'Quorate:          No')
      .replace('Total votes:      3', 'Total votes:      1')
      .replace('Quorum:           2', 'Quorum:           2 Activity blocked')
      .replace('Flags:            Quorate', 'Flags:            ');
    for (const n of NAMES) answer(answers, n, 'quorumtool', lost, 2);
    try {
      const r = pvx(['cluster', 'status', '--json'], env);
      expect(r.code).toBe(5);
      const doc = JSON.parse(r.stdout);
      expect(doc.ok).toBe(false);
      expect(doc.error.code).toBe('NOT_QUORATE');
      expect(doc.result.quorum.quorate).toBe(false);
    } finally {
      for (const n of NAMES) answer(answers, n, 'quorumtool', STATUS);
    }
  });

  it('reports standalone nodes as such, not as an error dump', () => {
    const answers = path.join(dir, 'answers');
    for (const n of NAMES) {
      pveFile(answers, n, 'corosync.conf', undefined);
      pveFile(answers, n, '.members', `{\n"nodename": "${n}",\n"version": 1\n}\n`);
    }
    try {
      const r = pvx(['cluster', 'status'], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('proxmox: standalone (not in a cluster), PVE 9.0.6');
      expect(r.stderr).not.toMatch(/error|Corosync config/i);
    } finally {
      for (const n of NAMES) {
        pveFile(answers, n, 'corosync.conf', CONF);
        pveFile(answers, n, '.members', MEMBERS.replace('"nodename": "proxmox"', `"nodename": "${n}"`));
      }
    }
  });

  it('exits 6 and names the node when one cannot be reached', async () => {
    const port = await freePort(); // nothing listens there
    const inv = path.join(dir, 'inv-down.yaml');
    writeFileSync(inv, readFileSync(lc.inventory, 'utf8') + `  - name: pve4\n    host: 127.0.0.1\n    port: ${port}\n`);
    const r = pvx(['cluster', 'status', '--json', '-i', inv], env);
    expect(r.code).toBe(6);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.code).toBe('UNREACHABLE');
    expect(doc.result.unreachable).toEqual([expect.objectContaining({ name: 'pve4', message: expect.stringContaining('Connection refused') })]);
    expect(doc.result.quorum.quorate).toBe(true);
  });

  it('refuses an unknown host key with the way to verify it, and never adds it', () => {
    const inv = path.join(dir, 'inv-nokey.yaml');
    const emptyKnown = path.join(dir, 'empty_known_hosts');
    writeFileSync(emptyKnown, '');
    writeFileSync(inv, readFileSync(lc.inventory, 'utf8').replace(lc.knownHosts, emptyKnown));
    const r = pvx(['cluster', 'status', '-i', inv], { ...env, PVX_RUNTIME_DIR: path.join(dir, 'run-fresh') });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('is not known');
    expect(r.stderr).toContain('ssh-keyscan -p');
    expect(readFileSync(emptyKnown, 'utf8')).toBe('');
  });

  describe('bad input: exit 2 and not one ssh process', () => {
    it.each([
      ['a node name that is not in the inventory', ['cluster', 'status', '--node', 'pve9']],
      ['a node name that is not a valid name', ['cluster', 'status', '--node', 'bad_name;rm']],
      ['an unknown option', ['cluster', 'status', '--nodez', 'x']],
      ['a bad connect timeout', ['--connect-timeout', '0', 'cluster', 'status']],
    ])('%s', (_label, args) => {
      const spy = sshSpy(tmpDir('pvx-spy-'));
      const r = pvx(args, { ...env, PATH: `${spy.pathPrefix}:${process.env['PATH']}` });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/error: /);
      expect(spy.calls()).toEqual([]);
    });

    it('a malformed inventory names the file and the path in it', () => {
      const spy = sshSpy(tmpDir('pvx-spy-'));
      const inv = path.join(dir, 'bad.yaml');
      writeFileSync(inv, 'nodes:\n  - name: pve1\n    host: 10.0.0.1\n    link0: 10.0.0.300\n');
      const r = pvx(['cluster', 'status', '-i', inv, '--json'], { ...env, PATH: `${spy.pathPrefix}:${process.env['PATH']}` });
      expect(r.code).toBe(2);
      const doc = JSON.parse(r.stdout);
      expect(doc.error.code).toBe('CONFIG');
      expect(doc.error.message).toContain(`${inv}: nodes[0].link0: must be an IP address`);
      expect(spy.calls()).toEqual([]);
    });
  });
});
