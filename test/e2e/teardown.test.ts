/**
 * Cluster teardown and restore on a lab of its own (e2et, 10.77.17.0/24, 3 nodes; real sshd, real
 * corosync, simulated pmxcfs/pvecm/qm). Each scenario gets a fresh 3-node cluster with guests:
 * the interactive flow in tmux (a wrong name changes nothing, the right one tears down), a plain
 * `teardown --yes`, and a node dropping off the network mid-teardown (exit 4) whose separated node
 * `restore` brings back into a quorate cluster, after a corrupted backup was refused.
 * Runs the built bin/pvx.js; needs root and tmux.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labFault, labUp, type LabInfo } from '../../src/lab/index.js';
import { ROOT, type CliResult } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'e2et';
const SUBNET = '10.77.17.0/24';
const NODES = ['pve1', 'pve2', 'pve3'];
const CLUSTER = 'e2et-c';
const TMUX = 'pvx-e2et';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const labLog: string[] = [];
const log = (line: string): void => void labLog.push(line);

let info: LabInfo;
let dir: string;
let env: Record<string, string>;

/** Run the built CLI without blocking the event loop (a test may act while it runs). */
function pvxAsync(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'pvx.js'), '-i', info.inventory, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function sh(node: string, script: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return labExec(LAB, node, ['sh', '-c', script]);
}

/** What ties a node to a cluster, and its guest configurations. */
/** What pvx could change on a node; PVE's own <file>.tmp.<pid> files (written, then renamed) come and go by themselves. */
async function nodeState(node: string): Promise<{ files: string[]; corosync: boolean; guests: string[]; pveTree: string }> {
  const r = await sh(
    node,
    'for f in /etc/pve/corosync.conf /etc/corosync/corosync.conf /etc/corosync/authkey; do if [ -e "$f" ]; then echo "file $f"; fi; done; ' +
      'if pidof corosync >/dev/null; then echo corosync; fi; ' +
      `for f in /etc/pve/nodes/${node}/qemu-server/*.conf /etc/pve/nodes/${node}/lxc/*.conf; do if [ -e "$f" ]; then echo "guest $f"; fi; done; ` +
      'echo "tree $(find /etc/pve /var/lib/pvx 2>/dev/null | grep -v -e "\\.tmp\\.[0-9]*$" -e "^/etc/pve/priv/lock/" | sort | md5sum)"',
  );
  const lines = r.stdout.split('\n');
  return {
    files: lines.filter((l) => l.startsWith('file ')).map((l) => l.slice(5)),
    corosync: lines.includes('corosync'),
    guests: lines.filter((l) => l.startsWith('guest ')).map((l) => path.basename(l)),
    pveTree: lines.find((l) => l.startsWith('tree ')) ?? '',
  };
}

async function snapshot(): Promise<Record<string, Awaited<ReturnType<typeof nodeState>>>> {
  return Object.fromEntries(await Promise.all(NODES.map(async (n) => [n, await nodeState(n)] as const)));
}

/** A fresh lab with a 3-node cluster made by pvx and guests on every node (VMs and a CT). */
async function freshCluster(): Promise<Record<string, string[]>> {
  await labDown(LAB, log);
  info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET }, log);
  dir = tmpDir('pvx-e2et-');
  env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
  const r = await pvxAsync(['cluster', 'create', CLUSTER, '--nodes', NODES.join(','), '--password-file', info.rootPasswordFile]);
  expect(r.code, r.stderr).toBe(0);
  const guests: Array<[string, string[]]> = [
    ['pve1', ['qm', 'create', '100', '--name', 'web', '--memory', '512', '--scsi0', 'local-lvm:4']],
    ['pve1', ['pct', 'create', '101', 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', '--hostname', 'dns', '--memory', '256', '--rootfs', 'local-lvm:2']],
    ['pve2', ['qm', 'create', '102', '--name', 'db', '--memory', '512', '--scsi0', 'local-lvm:4']],
    ['pve3', ['qm', 'create', '103', '--name', 'mail', '--memory', '512', '--scsi0', 'labshare:4']],
  ];
  for (const [node, argv] of guests) {
    const made = await labExec(LAB, node, argv);
    expect(made.exitCode, made.stderr).toBe(0);
  }
  const before = await snapshot();
  return Object.fromEntries(NODES.map((n) => [n, before[n]!.guests]));
}

function backupSets(): string[] {
  const root = path.join(env['PVX_STATE_DIR']!, 'backups');
  return existsSync(root) ? readdirSync(root).map((s) => path.join(root, s)) : [];
}

/** Every node standalone, no corosync, no cluster files, the same guests; backups verified on both sides. */
async function expectTornDown(guestsBefore: Record<string, string[]>): Promise<void> {
  const after = await snapshot();
  for (const n of NODES) {
    expect(after[n], n).toMatchObject({ files: [], corosync: false, guests: guestsBefore[n] });
  }
  const status = await pvxAsync(['--json', 'cluster', 'status']);
  expect(JSON.parse(status.stdout).result.standalone.map((s: { name: string }) => s.name)).toEqual(NODES);
  const sets = backupSets();
  expect(sets).toHaveLength(1);
  const set = sets[0]!;
  const manifest = JSON.parse(readFileSync(path.join(set, 'manifest.json'), 'utf8'));
  expect(manifest.cluster).toBe(CLUSTER);
  for (const n of NODES) {
    const local = spawnSync('sha256sum', ['-c', `${n}.tar.gz.sha256`], { cwd: set, encoding: 'utf8' });
    expect(local.status, local.stdout + local.stderr).toBe(0);
    const listing = spawnSync('tar', ['-tzf', path.join(set, `${n}.tar.gz`)], { encoding: 'utf8' }).stdout.split('\n');
    expect(listing).toEqual(expect.arrayContaining(['etc/corosync/authkey', 'etc/corosync/corosync.conf', 'etc/pve/corosync.conf']));
    const entry = manifest.nodes.find((e: { node: string }) => e.node === n);
    const onNode = await sh(n, `cd ${path.posix.dirname(entry.nodePath)} && sha256sum -c ${n}.tar.gz.sha256 && cat ${n}.tar.gz.sha256`);
    expect(onNode.exitCode, onNode.stderr).toBe(0);
    expect(onNode.stdout).toContain(entry.sha256);
  }
}

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function screen(): string {
  return tmux('capture-pane', '-p', '-J', '-t', TMUX, '-S', '-3000');
}

/** Type a command line into the tmux shell; its exit code is echoed as `EXIT:<code>` (marked by `tag`). */
async function typeCommand(args: string[], tag: string): Promise<void> {
  // whatever an earlier failed test left at the prompt is interrupted first
  tmux('send-keys', '-t', TMUX, 'C-c');
  // the shell is back at its prompt once it echoes a marker typed after the interrupt
  tmux('send-keys', '-t', TMUX, '-l', `clear; echo "READY-${tag}"`);
  tmux('send-keys', '-t', TMUX, 'Enter');
  await waitScreen(`the shell prompt before ${tag}`, new RegExp(`^READY-${tag}$`, 'm'), 30_000);
  const envs = Object.entries({ ...env, NO_COLOR: '1' }).map(([k, v]) => `${k}=${v}`);
  const line = [...envs, process.execPath, path.join(ROOT, 'bin', 'pvx.js'), '-i', info.inventory, ...args].join(' ');
  tmux('send-keys', '-t', TMUX, '-l', `clear; ${line}; echo "EXIT-${tag}:$?"`);
  tmux('send-keys', '-t', TMUX, 'Enter');
}

async function waitScreen(what: string, re: RegExp, timeoutMs = 120_000): Promise<string> {
  return until(what, () => {
    const s = screen();
    return re.test(s) ? s : undefined;
  }, timeoutMs);
}

describe.skipIf(!isRoot || !hasTmux)('cluster teardown and restore on the lab (e2et)', () => {
  afterAll(async () => {
    spawnSync('tmux', ['kill-session', '-t', TMUX]);
    await labDown(LAB, log);
  });

  describe('interactively, in a terminal', () => {
    let guests: Record<string, string[]>;
    beforeAll(async () => {
      guests = await freshCluster();
      spawnSync('tmux', ['kill-session', '-t', TMUX]);
      tmux('new-session', '-d', '-s', TMUX, '-x', '200', '-y', '50', 'bash --noprofile --norc');
    });

    it('shows the cluster and the steps, asks for the name, and a wrong name changes nothing (exit 130)', async () => {
      const before = await snapshot();
      await typeCommand(['cluster', 'teardown'], 'wrong');
      const asked = await waitScreen('the prompt', /Type the cluster name \(e2et-c\) to tear it down:/);
      expect(asked).toContain(`Cluster '${CLUSTER}': quorate, 3 node(s) configured`);
      expect(asked).toMatch(/pve1\s+online\s+separated last\s+2: VM 100 \(web, stopped\), CT 101 \(dns, stopped\)/);
      expect(asked).toMatch(/pve3\s+online\s+separated 1st\s+1: VM 103/);
      expect(asked).toContain('HA resources: none');
      expect(asked).toContain('Shared storage: labshare (nfs) on pve1, pve2, pve3');
      expect(asked).toContain('What happens, step by step:');
      // the steps are wrapped for the terminal
      expect(asked.replace(/\s+/g, ' ')).toContain('then pvecm delnode pve2 on pve1 (pvecm expected first: pve1 would lack quorum alone)');
      tmux('send-keys', '-t', TMUX, '-l', 'e2et');
      tmux('send-keys', '-t', TMUX, 'Enter');
      const done = await waitScreen('the exit code', /EXIT-wrong:\d+/);
      expect(done).toContain('EXIT-wrong:130');
      expect(done).toContain(`error: the name did not match '${CLUSTER}': nothing was changed`);
      expect(await snapshot()).toEqual(before);
      expect(backupSets()).toEqual([]);
    });

    it('tears down after the right name, with progress per node and step; every node ends standalone with its guests', async () => {
      await typeCommand(['cluster', 'teardown'], 'right');
      await waitScreen('the prompt', /Type the cluster name \(e2et-c\) to tear it down:/);
      tmux('send-keys', '-t', TMUX, '-l', CLUSTER);
      tmux('send-keys', '-t', TMUX, 'Enter');
      const done = await waitScreen('the exit code', /EXIT-right:\d+/, 170_000);
      expect(done).toContain('EXIT-right:0');
      for (const n of NODES) {
        expect(done).toContain(`✔ [${n}] verify ${n}'s backup on both sides (sha256 and contents)`);
        expect(done).toContain(`✔ [${n}] start pmxcfs in local mode on ${n}`);
        expect(done).toMatch(new RegExp(`✔ \\[${n}\\] check that ${n} is standalone and kept its \\d guest configuration\\(s\\)`));
      }
      expect(done).toContain('✔ [pve1] remove pve3 from cluster');
      expect(done).toContain(`✔ Cluster '${CLUSTER}' is torn down: pve1, pve2, pve3 are standalone.`);
      expect(done).toContain('guest configurations (before → after): pve1 2 → 2, pve2 1 → 1, pve3 1 → 1');
      await expectTornDown(guests);
    });
  });

  describe('with --yes, no terminal', () => {
    let guests: Record<string, string[]>;
    beforeAll(async () => {
      guests = await freshCluster();
    });

    it('tears the cluster down: every node standalone, no corosync, backups verified on both sides, guests unchanged', async () => {
      const r = await pvxAsync(['--yes', 'cluster', 'teardown']);
      expect(r.stderr, r.stderr).not.toMatch(/^error:/m);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Cluster '${CLUSTER}' is torn down: pve1, pve2, pve3 are standalone.`);
      await expectTornDown(guests);
      const again = await pvxAsync(['--yes', 'cluster', 'teardown']);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('nothing to tear down');
    });
  });

  describe('a node lost mid-teardown, then restore', () => {
    let restore: string[];
    let backup: string;
    beforeAll(async () => {
      await freshCluster();
    });

    it('exits 4 with where each node stands, the backups and the restore command', async () => {
      const hold = path.join(dir, 'hold');
      const running = pvxAsync(['--yes', 'cluster', 'teardown'], { PVX_TEARDOWN_HOLD: `pve2:${hold}` });
      // pve3 is separated and removed first; before pve2's first step, pve2 drops off the network
      await until('the hold before pve2', () => (existsSync(hold) ? true : undefined), 120_000);
      await labFault(LAB, 'pve2', 'down', undefined, log);
      rmSync(hold);
      const r = await running;
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/error: teardown of 'e2et-c' stopped after changes at teardown step \d+ on pve2 \(stop pve-cluster on pve2\): cannot reach pve2/);
      expect(r.stderr).toMatch(/pve1: member of 'e2et-c', NOT quorate/);
      expect(r.stderr).toContain('pve3: standalone (not in a cluster) [separation started]');
      expect(r.stderr).toMatch(/backups: \S+\/backups\/e2et-c-\d{8}T\d{6}Z \(on each node: \/var\/lib\/pvx\/backups\/e2et-c-/);
      expect(r.stderr).toContain(`journal: ${path.join(env['PVX_STATE_DIR']!, 'journal.jsonl')}`);
      const m = /to put the separated node\(s\) back: (pvx .*)$/m.exec(r.stderr);
      expect(m?.[1]).toMatch(/ cluster restore \S+ --node pve3$/);
      restore = (m?.[1] ?? '').split(' ').slice(1);
      backup = restore[restore.indexOf('restore') + 1]!;
      const journal = readFileSync(path.join(env['PVX_STATE_DIR']!, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(journal.some((e) => e.node === 'pve3' && e.argv.join(' ') === 'pmxcfs -l' && e.exitCode === 0)).toBe(true);
      expect(journal.some((e) => e.node === 'pve1' && e.argv.join(' ') === 'pvecm delnode pve3')).toBe(true);
      expect((await nodeState('pve3')).files).toEqual([]);
    });

    it('refuses a corrupted backup and changes nothing', async () => {
      const copy = path.join(dir, 'corrupt');
      cpSync(backup, copy, { recursive: true });
      const file = path.join(copy, 'pve3.tar.gz');
      const bytes = readFileSync(file);
      bytes[bytes.length - 30] = (bytes[bytes.length - 30] ?? 0) ^ 0xff;
      writeFileSync(file, bytes);
      const before = await nodeState('pve3');
      const r = await pvxAsync(['--yes', 'cluster', 'restore', copy, '--node', 'pve3']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/the backup of pve3 \(\S+\) is refused: checksum mismatch/);
      expect(await nodeState('pve3')).toEqual(before);
    });

    it('restore on the separated node brings the cluster back to quorate', async () => {
      const r = await pvxAsync([...restore.slice(2), '--yes', '--connect-timeout', '2']);
      expect(r.stderr, r.stderr).not.toMatch(/^error:/m);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`restored pve3 into cluster '${CLUSTER}'`);
      expect(r.stdout).toMatch(/cluster 'e2et-c': quorate, 2 of 3 online/);
      const s = await pvxAsync(['--json', '--connect-timeout', '2', 'cluster', 'status', '--node', 'pve1']);
      const doc = JSON.parse(s.stdout);
      expect(doc.result.quorum.quorate).toBe(true);
      expect(doc.result.nodes.map((n: { name: string; online: boolean }) => [n.name, n.online])).toEqual([['pve1', true], ['pve2', false], ['pve3', true]]);
      const q = await labExec(LAB, 'pve3', ['corosync-quorumtool', '-s']);
      expect(q.exitCode, q.stdout).toBe(0);
      expect((await nodeState('pve3')).files).toEqual(['/etc/pve/corosync.conf', '/etc/corosync/corosync.conf', '/etc/corosync/authkey']);
    });
  });
});
