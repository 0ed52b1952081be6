import { readFileSync } from 'node:fs';
import { nodeReadArgv } from '../../../src/facts/node-read.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { factsArgv } from '../../../src/facts/preflight/script.js';
import { sessionArgv } from '../../../src/facts/preflight/session.js';
import { DryRunTransport } from '../../../src/transport/dry-run.js';
import { journalObserver } from '../../../src/transport/journal.js';
import { ObservedTransport } from '../../../src/transport/observed.js';
import { declaredReadOnlyScripts, readOnlyScript } from '../../../src/transport/read-only-scripts.js';
import { extractCorosyncArgv, putDatabaseArgv, putFoldersBackArgv, uploadArgv, writeFileArgv } from '../../../src/workflows/cluster/restore-plan.js';
import { checkBackupArgv, createBackupArgv } from '../../../src/workflows/teardown/backup.js';
import { clusterTracesArgv, folderFilesArgv, stopPmxcfsArgv } from '../../../src/workflows/teardown/plan.js';
import { guestContentsArgv } from '../../../src/workflows/cluster/restore-guests.js';
import type { ExecOptions, ExecResult, Transport } from '../../../src/transport/types.js';
import { tmpDir } from '../../helpers/tmp.js';

/** Records what reached the node; answers every command with exit 0. */
class Node implements Transport {
  readonly conversations = true;
  readonly ran: string[][] = [];
  async exec(_node: string, argv: readonly string[], _opts?: ExecOptions): Promise<ExecResult> {
    this.ran.push([...argv]);
    return { exitCode: 0, stdout: 'real output\n', stderr: '', durationMs: 1 };
  }
}

// Every read pvx sends, written out from the reference (§1.5, §1.7, §3, §4.5, §5.3, §5.4, §7, §8).
const READS: string[][] = [
  ['pvecm', 'status'],
  ['pvecm', 'nodes'],
  ['pvesh', 'get', '/cluster/status', '--output-format', 'json'],
  ['pvesh', 'get', '/cluster/resources', '--output-format', 'json'],
  ['pvesh', 'get', '/cluster/resources', '--type', 'vm', '--output-format', 'json'],
  ['pvesh', 'get', '/cluster/config/join', '--output-format', 'json'],
  ['pvesh', 'get', '/cluster/ha/status/current', '--output-format', 'json'],
  ['pvesh', 'get', '/cluster/ha/rules', '--output-format', 'json'],
  ['pveversion'],
  ['pveversion', '-v'],
  ['qm', 'config', '100'],
  ['qm', 'list'],
  ['qm', 'status', '100'],
  ['pct', 'config', '101'],
  ['pct', 'list'],
  ['pct', 'status', '101'],
  ['ha-manager', 'status'],
  ['ha-manager', 'config'],
  ['ha-manager', 'groupconfig'],
  ['ha-manager', 'rules', 'config'],
  ['pvesr', 'list'],
  ['pvesr', 'status'],
  ['pvesm', 'status'],
  ['corosync-quorumtool', '-s', '-i', '-H'],
  ['corosync-quorumtool', '-siH'],
  ['corosync-quorumtool', '-l'],
  ['corosync-cfgtool', '-s'],
  ['corosync-cfgtool', '-n'],
  ['cat', '/etc/corosync/corosync.conf'],
  ['cat', '/etc/pve/corosync.conf'],
  ['test', '-d', '/etc/pve/nodes/pve3'],
  ['test', '-e', '/etc/corosync/authkey'],
  ['test', '-f', '/etc/pve/corosync.conf'],
  ['find', '/etc/pve/nodes', '-mindepth', '3', '-maxdepth', '3', '-name', '*.conf'],
  ['grep', '-m', '1', '^vendor_id', '/proc/cpuinfo'],
  ['base64', '-w', '0', '/var/lib/pvx/backups/prod-20250101T000000Z/pve1.tar.gz'],
  ['sha256sum', '/var/lib/pvx/backups/prod-20250101T000000Z/pve1.tar.gz'],
  ['ls', '/etc/pve/nodes'],
  ['hostname'],
  ['date', '+%s.%N'],
  ['chronyc', 'tracking'],
  ['chronyc', '-n', 'sources', '-v'],
  ['timedatectl', 'show', '-p', 'NTPSynchronized', '--value'],
  ['getent', 'hosts', 'pve1'],
  ['getent', 'ahosts', 'pve1'],
  ['ip', '-j', 'addr'],
  ['ip', '-o', 'addr', 'show'],
  ['dpkg-query', '-W', '-f=${Status}', 'corosync-qdevice'],
  ['timeout', '5', 'bash', '-c', 'exec 3<>"/dev/tcp/$1/$2"', 'pvx-tcp-probe', '10.0.0.5', '5403'],
  ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-l', 'root', '10.0.0.5', 'corosync-qnetd-tool', '-s'],
  ['test', '-e', '/etc/corosync/qdevice/net/nssdb'],
];

// Writes a caller might wrongly flag as reads; none may reach the node under dry-run.
const WRITES: string[][] = [
  ['pvecm', 'delnode', 'pve3'],
  ['pvecm', 'expected', '1'],
  ['pvecm', 'create', 'lab', '--link0', '10.0.0.1'],
  ['pvecm', 'add', '10.0.0.1'],
  ['pvecm', 'status', 'pve3'],
  ['rm', '-rf', '/etc/corosync'],
  ['sh', '-c', 'rm -rf /etc/pve/nodes/pve3'],
  ['sh', '-c', 'cat x; rm y'],
  ['cat x; rm y'],
  ['/usr/bin/pvecm', 'delnode', 'pve3'],
  ['env', 'pvecm', 'status'],
  ['systemctl', 'stop', 'corosync'],
  ['pmxcfs', '-l'],
  ['touch', '/etc/pve/nodes/pve1/.pvx-write-check'],
  ['find', '/etc/corosync', '-mindepth', '1', '-delete'],
  ['find', '/etc/pve', '-name', '*.conf', '-exec', 'rm', '{}', ';'],
  ['qm', 'migrate', '100', 'pve2', '--online', '1'],
  ['pct', 'migrate', '101', 'pve2', '--restart', '1'],
  ['qm', 'destroy', '100'],
  ['ha-manager', 'add', 'vm:100', '--state', 'started'],
  ['ha-manager', 'migrate', 'vm:100', 'pve2'],
  ['ha-manager', 'rules', 'add', 'node-affinity', 'r1', '--resources', 'vm:100', '--nodes', 'pve1', '--strict', '0'],
  ['ha-manager', 'crm-command', 'stop', 'vm:100', '0'],
  ['pvesh', 'create', '/cluster/config'],
  ['pvesh', 'set', '/cluster/options', '--keyboard', 'de'],
  ['pvesr', 'delete', '100-0'],
  ['corosync-quorumtool', '-e', '1'],
  ['corosync-cfgtool', '-R'],
  ['corosync-cfgtool', '-k', '3'],
  ['corosync-cfgtool'],
  ['date', '-s', '2020-01-01'],
  ['date', '010112002024'],
  ['hostname', 'evil'],
  ['chronyc', 'makestep'],
  ['chronyc', '-m', 'tracking', 'makestep'],
  ['timedatectl', 'set-time', '2020-01-01 00:00:00'],
  ['ip', 'addr', 'add', '10.0.0.9/24', 'dev', 'eth0'],
  ['ip', '-b', '/tmp/commands'],
  ['test'],
  ['pvecm', 'qdevice', 'setup', '10.0.0.5'],
  ['pvecm', 'qdevice', 'remove'],
  ['dpkg-query', '--purge', 'corosync-qdevice'],
  ['dpkg-query', '-W', '-f=${Status}', 'corosync-qdevice;rm'],
  ['timeout', '5', 'bash', '-c', 'rm -rf /etc/pve', 'pvx-tcp-probe', '10.0.0.5', '5403'],
  ['timeout', '5', 'rm', '-rf', '/etc/pve'],
  ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-l', 'root', '10.0.0.5', 'corosync-qnetd-certutil', '-i'],
  ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-l', 'root', '10.0.0.5', 'rm -rf /', '-s'],
  ['ssh', '10.0.0.5', 'corosync-qnetd-tool', '-s'],
  [],
];

// what the product declared on import, before any test declares its own
const DECLARED = declaredReadOnlyScripts();

async function underDryRun(argv: readonly string[], opts: ExecOptions) {
  const node = new Node();
  const dry = new DryRunTransport(node);
  const r = await dry.exec('pve1', argv, opts);
  return { node, dry, r };
}

describe('dry-run runs known reads only', () => {
  it.each(READS.map((a) => [a.join(' '), a]))('runs the read %s', async (_label, argv) => {
    const { node, dry, r } = await underDryRun(argv, {});
    expect(node.ran).toEqual([argv]);
    expect(dry.planned).toEqual([]);
    expect(r).toEqual({ exitCode: 0, stdout: 'real output\n', stderr: '', durationMs: 1 });
  });

  it.each(WRITES.map((a) => [JSON.stringify(a), a]))('holds back %s though flagged as a read', async (_label, argv) => {
    const { node, dry, r } = await underDryRun(argv, { mutates: false, title: 'wrongly flagged' });
    expect(node.ran).toEqual([]);
    expect(r).toEqual({ exitCode: 0, stdout: '', stderr: '', durationMs: 0, skipped: true });
    expect(dry.planned).toEqual([{ node: 'pve1', title: 'wrongly flagged', command: argv, mutates: true, unflagged: true }]);
  });

  it('holds back a command flagged as mutating even when it looks like a read', async () => {
    const { node, dry } = await underDryRun(['pvecm', 'status'], { mutates: true });
    expect(node.ran).toEqual([]);
    expect(dry.planned).toEqual([{ node: 'pve1', title: 'pvecm status', command: ['pvecm', 'status'], mutates: true }]);
  });

  it('runs the scripts pvx declares read-only: the preflight session and facts, the cluster traces, the backup check', async () => {
    for (const argv of [sessionArgv(), factsArgv(), clusterTracesArgv(), checkBackupArgv('/var/lib/pvx/backups/prod-20250101T000000Z', 'pve1.tar.gz')]) {
      const { node, dry } = await underDryRun(argv, {});
      expect(node.ran).toEqual([argv]);
      expect(dry.planned).toEqual([]);
    }
  });

  it("holds back pvx's own writing scripts and any change to a declared script or its pinned program", async () => {
    const session = sessionArgv();
    const variants = [
      stopPmxcfsArgv(),
      createBackupArgv('/var/lib/pvx/backups/x', 'pve1'),
      uploadArgv('/var/lib/pvx/backups/x/pve1.tar.gz', 'a'.repeat(64)),
      writeFileArgv('/etc/corosync/corosync.conf'),
      extractCorosyncArgv('/var/lib/pvx/backups/x/pve1.tar.gz'),
      // the session's $1 is the perl program it runs
      [...session.slice(0, 4), 'system("rm -rf /etc/pve")'],
      [...session, 'extra'],
      ['sh', '-c', `${factsArgv()[2]}\nrm -rf /etc/corosync`],
      ['bash', '-c', factsArgv()[2]!],
    ];
    for (const argv of variants) {
      const { node, dry } = await underDryRun(argv, { mutates: false });
      expect(node.ran, argv.join(' ').slice(0, 80)).toEqual([]);
      expect(dry.planned).toHaveLength(1);
    }
  });

  it('the declared read-only scripts are exactly the seven reads, none of the writes', () => {
    const reads = [sessionArgv(), factsArgv(), nodeReadArgv(), clusterTracesArgv(), checkBackupArgv('d', 'f'), folderFilesArgv(['d']), guestContentsArgv()].map((a) => a[2]);
    const writes = [
      stopPmxcfsArgv(),
      createBackupArgv('d', 'n'),
      uploadArgv('f', 's'),
      writeFileArgv('f'),
      extractCorosyncArgv('f'),
      putFoldersBackArgv('f', ['n']),
      putDatabaseArgv('backup', 'f', 's'),
    ].map((a) => a[2]);
    expect(new Set(DECLARED)).toEqual(new Set(reads));
    for (const w of writes) expect(DECLARED).not.toContain(w);
  });

  it('a declared script may take data arguments unless its arguments are pinned', async () => {
    const script = readOnlyScript('cat "$1"');
    const pinned = readOnlyScript('perl -e "$1"', { args: ['sh', 'print 1'] });
    expect((await underDryRun(['sh', '-c', script, 'sh', '/etc/hosts'], {})).node.ran).toHaveLength(1);
    expect((await underDryRun(['sh', '-c', pinned, 'sh', 'print 1'], {})).node.ran).toHaveLength(1);
    expect((await underDryRun(['sh', '-c', pinned, 'sh', 'unlink "/etc/hosts"'], {})).node.ran).toEqual([]);
  });

  it('the journal marks as dry-run what was held back, flagged or not, and not the reads that ran', async () => {
    const file = path.join(tmpDir('pvx-journal-'), 'journal.jsonl');
    const t = new ObservedTransport(new DryRunTransport(new Node()), [journalObserver(file, 'run1', true)]);
    await t.exec('pve1', ['pvecm', 'status']);
    await t.exec('pve1', ['pvecm', 'delnode', 'pve3'], { mutates: false });
    await t.exec('pve1', ['pvecm', 'expected', '1'], { mutates: true });
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.argv.join(' '), l.mutates, l.dryRun, l.exitCode])).toEqual([
      ['pvecm status', false, false, 0],
      ['pvecm delnode pve3', false, true, 0],
      ['pvecm expected 1', true, true, 0],
    ]);
  });
});
