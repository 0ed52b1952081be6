/**
 * Every parser, fed empty, random, truncated and mistyped input, must either return a result or throw
 * a ParseError; a TypeError or RangeError from inside a parser is a bug. Then hostile values in
 * everything pvx reads: command arguments and options, the inventory and a backup manifest must be
 * refused with exit 2 before any command runs on a node; node output must be refused or flagged.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { BackupSetDir } from '../../../src/commands/cluster/backup-store.js';
import * as parse from '../../../src/pve/parse/index.js';
import { ParseError } from '../../../src/pve/parse/index.js';
import { parseGetentAhosts } from '../../../src/pve/parse/getent-hosts.js';
import { parseHaRules } from '../../../src/pve/parse/pvesh-ha-rules.js';
import { sha256Hex, type NodeBackup } from '../../../src/workflows/teardown/backup.js';
import { makeArchive, memberArchiveFiles } from '../../helpers/backup-archive.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { runInProcess, writeInventory } from '../../helpers/run-cli.js';
import { tmpDir } from '../../helpers/tmp.js';
import { fixture } from './fixture.js';

// the lab acts on this machine: every action that would touch it fails the test, so a lab command
// must refuse a hostile value before it gets there (only its validation is real)
vi.mock('../../../src/lab/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/lab/index.js')>();
  const forbidden = (what: string) => () => {
    throw new Error(`the lab was touched (${what}) although the input was hostile`);
  };
  return {
    ...real,
    checkLabHost: forbidden('checkLabHost'),
    installLabDeps: forbidden('installLabDeps'),
    labUp: forbidden('labUp'),
    labDown: forbidden('labDown'),
    labRemnants: forbidden('labRemnants'),
    labStatus: forbidden('labStatus'),
    labExec: forbidden('labExec'),
    labFault: forbidden('labFault'),
  };
});

type TextParser = (text: string) => unknown;

/** Each text parser with the fixtures that exercise it. */
const PARSERS: Array<[string, TextParser, string[]]> = [
  ['parsePvecmStatus', parse.parsePvecmStatus, [
    'pvecm-status/pve-docs-4node-quorate.tilde.txt',
    'pvecm-status/pve9.2.9-2node-qdevice-krnn.txt',
    'pvecm-status/pve8-single-node-after-create.partial.txt',
    'pvecm-status/non-quorate-shape.partial.txt',
  ]],
  ['parsePvecmNodes', parse.parsePvecmNodes, ['pvecm-nodes/pve9-3node-cluster-validation.txt']],
  ['parseQuorumtoolStatus', parse.parseQuorumtoolStatus, ['pvecm-status/pve9-3node-cluster-validation.txt']],
  ['parseMembership', (t) => parse.parseMembership(t), ['pvecm-status/pve9.2.9-2node-qdevice-krnn.txt']],
  ['parseCfgtoolStatus', parse.parseCfgtoolStatus, ['corosync-cfgtool/two-links-corosync-source.txt']],
  ['parseCorosyncConf', parse.parseCorosyncConf, ['corosync-conf/pve-create-illustrative.conf']],
  ['summarizeCorosyncConf', (t) => parse.summarizeCorosyncConf(parse.parseCorosyncConf(t)), ['corosync-conf/pve-create-illustrative.conf']],
  ['parseClusterStatus', parse.parseClusterStatus, ['pvesh/cluster-status-go-proxmox-pve9x.json']],
  ['parseJoinInfo', parse.parseJoinInfo, ['pvesh/cluster-config-join-community-proxmox.reformatted.json']],
  ['parseClusterResources', parse.parseClusterResources, ['pvesh/cluster-status-go-proxmox-pve9x.json']],
  ['parseHaStatusCurrent', parse.parseHaStatusCurrent, ['pvesh/ha-status-current-standalone-pve9.2.2.json']],
  ['parsePveversion', parse.parsePveversion, ['pveversion/pve9.1.7-verbose.txt', 'pveversion/pve9.0.6-oneliner.txt']],
  ['parseChronyTracking', (t) => parse.parseChronyTracking(t), ['chrony/tracking-synchronised.txt']],
  ['parseNtpSynchronized', parse.parseNtpSynchronized, []],
  ['parseTimedatectlStatus', parse.parseTimedatectlStatus, []],
  ['parseHaManagerStatus', parse.parseHaManagerStatus, [
    'ha-manager-status/pve8-2node-lab.txt',
    'ha-manager-status/pve9.2-dynamic-crs-3node.txt',
  ]],
  ['parseHaSections', (t) => parse.parseHaSections(t), ['ha-config/section-config-files-doc.txt']],
  ['parseHaResourcesConfig', parse.parseHaResourcesConfig, ['ha-config/ha-manager-config-doc.txt']],
  ['parseHaGroupConfig', parse.parseHaGroupConfig, []],
  ['parseQmList', parse.parseQmList, ['guest-list/qm-list-backup-info-fixture.txt']],
  ['parsePctList', parse.parsePctList, ['guest-list/pct-list-backup-info-fixture.txt']],
  ['parseMigrationLog', (t) => parse.parseMigrationLog(t), [
    'migration/pve8-ha-live-success-taskviewer.log',
    'migration/host-key-failure-taskviewer.log',
  ]],
  ['parseUpid', parse.parseUpid, []],
  ['parsePvesmStatus', parse.parsePvesmStatus, ['pvesm-status/pve9-3node-cluster-validation.txt']],
  ['parsePvesrList', parse.parsePvesrList, ['pvesr/list-hetzner.txt']],
  ['parsePvesrStatus', parse.parsePvesrStatus, ['pvesr/status-replication-and-ha.txt']],
];

type Classifier = (out: parse.CommandOutput) => unknown;

const CLASSIFIERS: Array<[string, Classifier]> = [
  ['classifyPvecmStatus', parse.classifyPvecmStatus],
  ['classifyPvecmAdd', parse.classifyPvecmAdd],
  ['classifyPvecmCreate', parse.classifyPvecmCreate],
  ['classifyPvecmDelnode', parse.classifyPvecmDelnode],
  ['classifyMigration', parse.classifyMigration],
];

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = 'abcXYZ0189 :.,-_()[]{}"\'#*/\\\t\n\n\n~|=%!?x\u00a0\u00e9\u{1F600}\u0000\u001b';

function randomText(next: () => number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)] ?? '';
  return s;
}

/** Run `fn` and fail unless it returns or throws a ParseError. */
function expectControlled(name: string, input: unknown, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParseError) {
      expect(err.message.length).toBeGreaterThan(0);
      expect(err.tool.length).toBeGreaterThan(0);
      expect(err.excerpt.length).toBeLessThanOrEqual(121);
      return;
    }
    throw new Error(`${name} threw ${String(err)} for input ${JSON.stringify(input)?.slice(0, 200)}`, { cause: err });
  }
}

function inputsFor(files: string[], seed: number): string[] {
  const next = rng(seed);
  const out = ['', ' ', '\n', '\n\n\n', '\r\n', '\t', 'null', '[]', '{}', '0', '-', '{"type":"node"}', '[null]', '[[]]', '[{"type":5}]'];
  for (let i = 0; i < 30; i++) out.push(randomText(next, Math.floor(next() * 400)));
  out.push('x'.repeat(100_000), `${'\n'.repeat(10_000)}a`);
  for (const f of files) {
    const text = fixture(f);
    const lines = text.split('\n');
    for (let i = 0; i <= 40; i++) out.push(text.slice(0, Math.floor((text.length * i) / 40)));
    for (let i = 0; i < lines.length; i++) out.push(lines.slice(0, i).join('\n'), lines.slice(i).join('\n'));
    for (let i = 0; i < 10; i++) {
      const shuffled = [...lines].sort(() => next() - 0.5);
      out.push(shuffled.join('\n'));
      const pos = Math.floor(next() * text.length);
      out.push(text.slice(0, pos) + randomText(next, 5) + text.slice(pos));
    }
    out.push(text.toUpperCase(), text.replace(/\d/g, '9'.repeat(30)), text.replace(/ +/g, ' '), text.replace(/:/g, ''));
  }
  return out;
}

describe('hostile input', () => {
  PARSERS.forEach(([name, fn, files], idx) => {
    it(`${name} returns or throws ParseError on empty, random and truncated input`, () => {
      for (const input of inputsFor(files, 1000 + idx)) expectControlled(name, input, () => fn(input));
    });

    it(`${name} throws ParseError for values that are not strings`, () => {
      for (const input of [undefined, null, 42, {}, [], Symbol.for('x')]) {
        expectControlled(name, input, () => fn(input as unknown as string));
      }
    });
  });

  CLASSIFIERS.forEach(([name, fn], idx) => {
    it(`${name} copes with odd command output`, () => {
      const next = rng(2000 + idx);
      const outputs: unknown[] = [
        { stdout: '', stderr: '' },
        { stdout: '', stderr: '', exitCode: 255 },
        { stdout: undefined, stderr: undefined },
        { stdout: 5, stderr: null, exitCode: 0 },
        { stdout: fixture('pvecm-status/pve9-3node-cluster-validation.txt').slice(0, 300), stderr: '' },
      ];
      for (let i = 0; i < 30; i++) outputs.push({ stdout: randomText(next, 300), stderr: randomText(next, 100), exitCode: i % 3 });
      for (const out of outputs) expectControlled(name, out, () => fn(out as parse.CommandOutput));
    });
  });

  it('gives well-defined empty results where "no output" is a valid answer', () => {
    expect(parse.parseQmList('')).toEqual({ vms: [], unrecognized: [] });
    expect(parse.parsePctList('')).toEqual({ containers: [], unrecognized: [] });
    expect(parse.parsePvesmStatus('')).toEqual({ storages: [], unrecognized: [] });
    expect(parse.parsePvesrList('')).toEqual({ jobs: [], unrecognized: [] });
    expect(parse.parsePvesrStatus('')).toEqual({ jobs: [], unrecognized: [] });
    expect(parse.parseHaSections('')).toEqual([]);
    expect(parse.parseMigrationLog('').outcome).toBe('unknown');
    expect(parse.classifyPvecmAdd({ stdout: '', stderr: '' })).toEqual({ kind: 'unknown' });
  });

  it('ParseError names the tool and carries a printable excerpt', () => {
    try {
      parse.parsePvecmStatus('\u001b[31mgarbage\u0000\nmore');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ParseError);
      const e = err as ParseError;
      expect(e.tool).toBe('pvecm status');
      expect(e.name).toBe('ParseError');
      expect(e.message.startsWith('pvecm status: ')).toBe(true);
      expect(e.excerpt).toBe('\\x1b[31mgarbage\\x00\\nmore');
    }
    expect(parse.excerptOf('y'.repeat(500)).length).toBe(121);
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile values: every input pvx reads (arguments and options, the inventory, a backup manifest,
// what nodes print) crossed with a table of hostile strings. Arguments, files and manifests must
// end in exit 2 with no command run on any node; node output must be refused or flagged, never
// passed on.
// ---------------------------------------------------------------------------------------------

/** One hostile string; `everywhere` ones are refused even in free text and local file paths. */
interface Hostile {
  label: string;
  value: string;
  everywhere?: boolean;
}

const HOSTILE: readonly Hostile[] = [
  { label: 'a command after a semicolon', value: 'pve1;reboot' },
  { label: 'command substitution', value: '$(reboot)' },
  { label: 'backticks', value: '`reboot`' },
  { label: 'a pipe', value: 'pve1|sh' },
  { label: 'an and-list', value: 'pve1&&reboot' },
  { label: 'a redirection', value: 'pve1>/etc/passwd' },
  { label: 'quotes', value: `pve1'"` },
  { label: 'a variable', value: '${HOME}' },
  { label: 'a glob', value: 'pve*' },
  { label: 'a newline', value: 'pve1\nreboot', everywhere: true },
  { label: 'a carriage return', value: 'pve1\rreboot', everywhere: true },
  { label: 'a NUL byte', value: 'pve1\u0000reboot', everywhere: true },
  { label: 'a terminal escape', value: 'pve1\u001b[2J', everywhere: true },
  { label: 'a tab', value: 'pve1\tx', everywhere: true },
  { label: 'a parent directory', value: '../../etc/passwd' },
  { label: 'an absolute path', value: '/etc/passwd' },
  { label: 'a very long string', value: 'a'.repeat(5000), everywhere: true },
  { label: 'a Cyrillic look-alike', value: 'pv\u04351' },
  { label: 'full-width letters', value: '\uff50\uff56\uff45\uff11' },
  { label: 'a zero-width space', value: 'pve\u200b1' },
  { label: 'a leading dash', value: '-pve1' },
  { label: 'an option', value: '--yes' },
  { label: 'an empty string', value: '' },
  { label: 'only spaces', value: '   ' },
  { label: 'an inner space', value: 'pve 1' },
];

/** What an input takes: names and numbers refuse every hostile string; free text and local paths only the `everywhere` ones. */
type InputKind = 'value' | 'text' | 'path';

function hostileFor(kind: InputKind): readonly Hostile[] {
  return kind === 'value' ? HOSTILE : HOSTILE.filter((h) => h.everywhere);
}

const BACKUP_CLUSTER = 'prod';
const BACKUP_SET = 'prod-20260101T000000Z';
const CONF = 'totem {\n  cluster_name: prod\n  config_version: 3\n}\n';

/** A valid backup set as the teardown writes it, for one node; returns its directory. */
function backupSet(manifest?: (m: Record<string, any>) => void): string {
  const dir = path.join(tmpDir('pvx-hostile-bk-'), BACKUP_SET);
  const store = new BackupSetDir(dir);
  const data = ARCHIVE.get();
  const sha = sha256Hex(data);
  const localFile = store.save('pve1.tar.gz', data, sha);
  const nodeDir = `/var/lib/pvx/backups/${BACKUP_SET}`;
  const files = Object.keys(memberArchiveFiles(CONF)).sort();
  const record: NodeBackup = { node: 'pve1', nodeDir, nodeFile: `${nodeDir}/pve1.tar.gz`, localFile, have: [], missing: ['/var/lib/pve-cluster/config.db'], files, sha256: sha, size: data.length, verified: true };
  const m = store.writeManifest(BACKUP_CLUSTER, BACKUP_SET, '2026-01-01T00:00:00.000Z', [record]) as unknown as Record<string, any>;
  if (manifest) {
    manifest(m);
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
  }
  return dir;
}

/** The archive is made once (real tar): every backup set shares its bytes. */
const ARCHIVE = (() => {
  let data: Buffer | undefined;
  return { get: () => (data ??= makeArchive(memberArchiveFiles(CONF))) };
})();

/** One command-line input: how the hostile value enters the argv of a command that is otherwise valid. */
interface CommandInput {
  label: string;
  kind: InputKind;
  /** a value the command accepts: with it the same argv gets past validation (the control case) */
  valid: () => string;
  argv: (v: string) => string[];
}

/** A password file for the inputs that need one. */
const PASSWORD_FILE = (() => {
  const file = path.join(tmpDir('pvx-hostile-pw-'), 'root-password');
  writeFileSync(file, 'not-a-real-password\n', { mode: 0o600 });
  return file;
})();

const COMMAND_INPUTS: readonly CommandInput[] = [
  { label: 'preflight --nodes', kind: 'value', valid: () => 'pve1,pve2', argv: (v) => ['preflight', '--nodes', v] },
  { label: 'preflight --cluster-name', kind: 'value', valid: () => 'demo', argv: (v) => ['preflight', '--for', 'create', '--nodes', 'pve1,pve2', '--cluster-name', v] },
  { label: 'preflight --via', kind: 'value', valid: () => 'pve1', argv: (v) => ['preflight', '--for', 'join', '--nodes', 'pve3', '--via', v] },
  { label: 'preflight --for', kind: 'value', valid: () => 'general', argv: (v) => ['preflight', '--for', v] },
  { label: 'preflight --skew-warn', kind: 'value', valid: () => '0.5', argv: (v) => ['preflight', '--skew-warn', v] },
  { label: 'preflight --skew-fail', kind: 'value', valid: () => '2', argv: (v) => ['preflight', '--skew-fail', v] },
  { label: 'preflight --latency-warn', kind: 'value', valid: () => '5', argv: (v) => ['preflight', '--latency-warn', v] },
  { label: 'cluster status --node', kind: 'value', valid: () => 'pve1', argv: (v) => ['cluster', 'status', '--node', v] },
  { label: 'cluster create <name>', kind: 'value', valid: () => 'demo', argv: (v) => ['cluster', 'create', v, '--nodes', 'pve1,pve2', '--use-ssh'] },
  { label: 'cluster create --nodes', kind: 'value', valid: () => 'pve1,pve2', argv: (v) => ['cluster', 'create', 'demo', '--nodes', v, '--use-ssh'] },
  { label: 'cluster create --link0 node=<ip>', kind: 'value', valid: () => '10.99.0.1', argv: (v) => ['cluster', 'create', 'demo', '--nodes', 'pve1,pve2', '--link0', `pve1=${v}`, '--use-ssh'] },
  { label: 'cluster create --link0', kind: 'value', valid: () => 'pve1=10.99.0.1', argv: (v) => ['cluster', 'create', 'demo', '--nodes', 'pve1,pve2', '--link0', v, '--use-ssh'] },
  { label: 'cluster create --password-file', kind: 'path', valid: () => PASSWORD_FILE, argv: (v) => ['cluster', 'create', 'demo', '--nodes', 'pve1,pve2', '--password-file', v] },
  { label: 'cluster join <node>', kind: 'value', valid: () => 'pve3', argv: (v) => ['cluster', 'join', v, '--via', 'pve1', '--use-ssh'] },
  { label: 'cluster join --via', kind: 'value', valid: () => 'pve1', argv: (v) => ['cluster', 'join', 'pve3', '--via', v, '--use-ssh'] },
  { label: 'cluster join --link0', kind: 'value', valid: () => '10.99.0.3', argv: (v) => ['cluster', 'join', 'pve3', '--via', 'pve1', '--link0', v, '--use-ssh'] },
  { label: 'cluster join --link1', kind: 'value', valid: () => '10.98.0.3', argv: (v) => ['cluster', 'join', 'pve3', '--via', 'pve1', '--link1', v, '--use-ssh'] },
  { label: 'cluster join --password-file', kind: 'path', valid: () => PASSWORD_FILE, argv: (v) => ['cluster', 'join', 'pve3', '--via', 'pve1', '--password-file', v] },
  { label: 'cluster remove-node <node>', kind: 'value', valid: () => 'pve3', argv: (v) => ['cluster', 'remove-node', v] },
  { label: 'cluster remove-node --via', kind: 'value', valid: () => 'pve1', argv: (v) => ['cluster', 'remove-node', 'pve3', '--via', v] },
  { label: 'cluster expected <votes>', kind: 'value', valid: () => '1', argv: (v) => ['cluster', 'expected', v, '--node', 'pve1'] },
  { label: 'cluster expected --node', kind: 'value', valid: () => 'pve1', argv: (v) => ['cluster', 'expected', '1', '--node', v] },
  { label: 'cluster teardown --backup-dir', kind: 'path', valid: () => tmpDir('pvx-hostile-out-'), argv: (v) => ['cluster', 'teardown', '--backup-dir', v] },
  { label: 'cluster restore <backup>', kind: 'path', valid: () => backupSet(), argv: (v) => ['cluster', 'restore', v] },
  { label: 'cluster restore --node', kind: 'value', valid: () => 'pve1', argv: (v) => ['cluster', 'restore', backupSet(), '--node', v] },
  { label: 'migrate <guests>', kind: 'value', valid: () => '100', argv: (v) => ['migrate', v, '--to', 'pve2'] },
  { label: 'migrate --to', kind: 'value', valid: () => 'pve3', argv: (v) => ['migrate', '100', '--to', v] },
  { label: 'migrate --bwlimit', kind: 'value', valid: () => '100', argv: (v) => ['migrate', '100', '--to', 'pve2', '--bwlimit', v] },
  { label: 'migrate --target-storage', kind: 'value', valid: () => 'local', argv: (v) => ['migrate', '100', '--to', 'pve2', '--target-storage', v] },
  { label: 'migrate --parallel', kind: 'value', valid: () => '2', argv: (v) => ['migrate', '100', '--to', 'pve2', '--parallel', v] },
  { label: 'migrate --timeout', kind: 'value', valid: () => '60', argv: (v) => ['migrate', '100', '--to', 'pve2', '--timeout', v] },
  { label: 'ha add <guests>', kind: 'value', valid: () => '100', argv: (v) => ['ha', 'add', v] },
  { label: 'ha add --nodes', kind: 'value', valid: () => 'pve1:2,pve2', argv: (v) => ['ha', 'add', '100', '--nodes', v] },
  { label: 'ha add --state', kind: 'value', valid: () => 'started', argv: (v) => ['ha', 'add', '100', '--state', v] },
  { label: 'ha add --max-restart', kind: 'value', valid: () => '1', argv: (v) => ['ha', 'add', '100', '--max-restart', v] },
  { label: 'ha add --max-relocate', kind: 'value', valid: () => '1', argv: (v) => ['ha', 'add', '100', '--max-relocate', v] },
  { label: 'ha add --timeout', kind: 'value', valid: () => '60', argv: (v) => ['ha', 'add', '100', '--timeout', v] },
  { label: 'ha add --comment', kind: 'text', valid: () => 'web server', argv: (v) => ['ha', 'add', '100', '--comment', v] },
  { label: 'ha set <guest>', kind: 'value', valid: () => '100', argv: (v) => ['ha', 'set', v, '--state', 'started'] },
  { label: 'ha set --nodes', kind: 'value', valid: () => 'pve1', argv: (v) => ['ha', 'set', '100', '--nodes', v] },
  { label: 'ha set --comment', kind: 'text', valid: () => 'web server', argv: (v) => ['ha', 'set', '100', '--comment', v] },
  { label: 'ha remove <guests>', kind: 'value', valid: () => '100', argv: (v) => ['ha', 'remove', v] },
  { label: 'ha status --node', kind: 'value', valid: () => 'pve1', argv: (v) => ['ha', 'status', '--node', v] },
  { label: 'ha budget <percent>', kind: 'value', valid: () => '99.9', argv: (v) => ['ha', 'budget', v] },
  { label: '--connect-timeout', kind: 'value', valid: () => '5', argv: (v) => ['--connect-timeout', v, 'cluster', 'status'] },
  { label: 'lab up --name', kind: 'value', valid: () => 'pvx', argv: (v) => ['lab', 'up', '--name', v] },
  { label: 'lab up --subnet', kind: 'value', valid: () => '10.77.0.0/24', argv: (v) => ['lab', 'up', '--subnet', v] },
  { label: 'lab up --pve', kind: 'value', valid: () => '9.1.7', argv: (v) => ['lab', 'up', '--pve', v] },
  { label: 'lab down --name', kind: 'value', valid: () => 'pvx', argv: (v) => ['lab', 'down', '--name', v] },
  { label: 'lab status --name', kind: 'value', valid: () => 'pvx', argv: (v) => ['lab', 'status', '--name', v] },
  { label: 'lab inventory --name', kind: 'value', valid: () => 'pvx', argv: (v) => ['lab', 'inventory', '--name', v] },
  { label: 'lab exec <node>', kind: 'value', valid: () => 'pve1', argv: (v) => ['lab', 'exec', v, '--', 'true'] },
  { label: 'lab exec --name', kind: 'value', valid: () => 'pvx', argv: (v) => ['lab', 'exec', 'pve1', '--name', v, '--', 'true'] },
  { label: 'lab fault <node>', kind: 'value', valid: () => 'pve1', argv: (v) => ['lab', 'fault', v, 'heal'] },
  { label: 'lab fault <fault>', kind: 'value', valid: () => 'heal', argv: (v) => ['lab', 'fault', 'pve1', v] },
  { label: 'lab fault block-udp <port>', kind: 'value', valid: () => '5405', argv: (v) => ['lab', 'fault', 'pve1', 'block-udp', v] },
  { label: 'lab fault skew <seconds>', kind: 'value', valid: () => '2.5', argv: (v) => ['lab', 'fault', 'pve1', 'skew', v] },
  { label: 'lab fault pve-version <v>', kind: 'value', valid: () => '9.1.7', argv: (v) => ['lab', 'fault', 'pve1', 'pve-version', v] },
  { label: 'lab fault --name', kind: 'value', valid: () => 'pvx', argv: (v) => ['lab', 'fault', 'pve1', 'heal', '--name', v] },
];

/** The error envelope of a run that must have been refused before anything ran. */
function refusedEnvelope(stdout: string): { code: string; exitCode: number; message: string } {
  const doc = JSON.parse(stdout) as { ok: boolean; error?: { code: string; exitCode: number; message: string } };
  expect(doc.ok).toBe(false);
  return doc.error as { code: string; exitCode: number; message: string };
}

describe('hostile command arguments and options: exit 2, no command on any node', () => {
  const inventory = writeInventory(['pve1', 'pve2', 'pve3']);
  for (const input of COMMAND_INPUTS) {
    // the control: the argv around the value is valid, so a refusal below is the hostile value's
    it(`${input.label} gets past validation with a valid value`, async () => {
      const t = new FakeTransport([]);
      const r = await runInProcess(['-i', inventory, '--json', '--yes', ...input.argv(input.valid())], t);
      expect(r.code, r.stdout).not.toBe(2);
      // a lab command with valid input goes on to the (stubbed) lab; the others to the nodes or to their answer
      if (input.label.startsWith('lab ')) expect(r.stdout).toMatch(/the lab was touched/);
      else if (input.label !== 'ha budget <percent>') expect(t.calls.length).toBeGreaterThan(0);
    });
    for (const h of hostileFor(input.kind)) {
      it(`${input.label} refuses ${h.label}`, async () => {
        const t = new FakeTransport([]);
        const r = await runInProcess(['-i', inventory, '--json', '--yes', ...input.argv(h.value)], t);
        expect(t.calls).toEqual([]);
        expect(r.code).toBe(2);
        expect(refusedEnvelope(r.stdout).exitCode).toBe(2);
      });
    }
  }

  for (const h of hostileFor('path')) {
    it(`--inventory refuses ${h.label}`, async () => {
      const t = new FakeTransport([]);
      const r = await runInProcess(['-i', h.value, '--json', 'cluster', 'status'], t);
      expect(t.calls).toEqual([]);
      expect(r.code).toBe(2);
      expect(refusedEnvelope(r.stdout).code).toBe('CONFIG');
    });
  }
});

/** One inventory field: where the hostile value goes in an otherwise valid inventory. */
const INVENTORY_FIELDS: ReadonlyArray<{ label: string; kind: InputKind; set: (inv: Record<string, any>, v: string) => void }> = [
  { label: 'nodes[].name', kind: 'value', set: (inv, v) => (inv['nodes'][1].name = v) },
  { label: 'nodes[].host', kind: 'value', set: (inv, v) => (inv['nodes'][1].host = v) },
  { label: 'nodes[].link0', kind: 'value', set: (inv, v) => (inv['nodes'][1].link0 = v) },
  { label: 'nodes[].link1', kind: 'value', set: (inv, v) => (inv['nodes'][1].link1 = v) },
  { label: 'nodes[].user', kind: 'value', set: (inv, v) => (inv['nodes'][1].user = v) },
  { label: 'ssh.user', kind: 'value', set: (inv, v) => (inv['ssh'].user = v) },
  { label: 'nodes[].identityFile', kind: 'path', set: (inv, v) => (inv['nodes'][1].identityFile = v) },
  { label: 'ssh.identityFile', kind: 'path', set: (inv, v) => (inv['ssh'].identityFile = v) },
  { label: 'ssh.configFile', kind: 'path', set: (inv, v) => (inv['ssh'].configFile = v) },
  { label: 'ssh.knownHostsFile', kind: 'path', set: (inv, v) => (inv['ssh'].knownHostsFile = v) },
];

/** An inventory that is valid until a field is changed. */
function baseInventory(): Record<string, any> {
  return {
    ssh: { user: 'root' },
    nodes: [
      { name: 'pve1', host: '10.99.0.1', link0: '10.99.0.1' },
      { name: 'pve2', host: '10.99.0.2', link0: '10.99.0.2' },
    ],
  };
}

describe('hostile inventory files: exit 2 naming the file, no command on any node', () => {
  it('reads the untouched inventory and goes on to the nodes', async () => {
    const file = path.join(tmpDir('pvx-hostile-inv-'), 'pvx.yaml');
    writeFileSync(file, stringifyYaml(baseInventory()));
    const t = new FakeTransport([]);
    const r = await runInProcess(['-i', file, '--json', 'cluster', 'status'], t);
    expect(t.calls.length).toBeGreaterThan(0);
    expect(r.code).not.toBe(2);
  });
  for (const field of INVENTORY_FIELDS) {
    for (const h of hostileFor(field.kind)) {
      it(`${field.label} refuses ${h.label}`, async () => {
        const inv = baseInventory();
        field.set(inv, h.value);
        const file = path.join(tmpDir('pvx-hostile-inv-'), 'pvx.yaml');
        writeFileSync(file, stringifyYaml(inv));
        const t = new FakeTransport([]);
        const r = await runInProcess(['-i', file, '--json', 'cluster', 'status'], t);
        expect(t.calls).toEqual([]);
        expect(r.code).toBe(2);
        const e = refusedEnvelope(r.stdout);
        expect(e.code).toBe('CONFIG');
        expect(e.message.startsWith(`${file}: `)).toBe(true);
      });
    }
  }
});

/** One manifest field of a teardown backup; each becomes a path, an argument or a name during a restore. */
const MANIFEST_FIELDS: ReadonlyArray<{ label: string; set: (m: Record<string, any>, v: string) => void; skip?: readonly string[] }> = [
  { label: 'cluster', set: (m, v) => (m['cluster'] = v) },
  { label: 'set', set: (m, v) => (m['set'] = v) },
  // an empty suffix leaves the set as it was
  { label: 'set (suffix)', set: (m, v) => (m['set'] = `${BACKUP_SET}${v}`), skip: [''] },
  { label: 'createdAt', set: (m, v) => (m['createdAt'] = v) },
  { label: 'nodes[].node', set: (m, v) => (m['nodes'][0].node = v) },
  { label: 'nodes[].file', set: (m, v) => (m['nodes'][0].file = v) },
  { label: 'nodes[].nodePath', set: (m, v) => (m['nodes'][0].nodePath = v) },
  { label: 'nodes[].files[]', set: (m, v) => (m['nodes'][0].files[0] = v) },
  { label: 'nodes[].missing[]', set: (m, v) => (m['nodes'][0].missing[0] = v) },
];

describe('hostile backup manifests: cluster restore refuses the backup (exit 2), no command on any node', () => {
  const inventory = writeInventory(['pve1', 'pve2', 'pve3']);
  it('accepts the untouched set and goes on to the nodes', async () => {
    const t = new FakeTransport([]);
    const r = await runInProcess(['-i', inventory, '--json', '--yes', 'cluster', 'restore', backupSet()], t);
    expect(t.calls.length).toBeGreaterThan(0);
    expect(r.code).not.toBe(2);
  });
  for (const field of MANIFEST_FIELDS) {
    for (const h of HOSTILE.filter((x) => !field.skip?.includes(x.value))) {
      it(`${field.label} refuses ${h.label}`, async () => {
        const dir = backupSet((m) => field.set(m, h.value));
        const t = new FakeTransport([]);
        const r = await runInProcess(['-i', inventory, '--json', '--yes', 'cluster', 'restore', dir], t);
        expect(t.calls).toEqual([]);
        expect(r.code).toBe(2);
        expect(refusedEnvelope(r.stdout).code).toBe('BACKUP_CORRUPT');
      });
    }
  }
});

/** One value a node prints, placed in a real sample; the parser must refuse it (ParseError) or flag it, never pass it on. */
interface NodeOutputField {
  label: string;
  /** a value PVE could print there: read without a flag (the control case) */
  valid: string;
  parse: (text: string) => unknown;
  text: (v: string) => string;
  /** hostile strings that turn the sample into other valid output (see the note at the field) */
  skip?: readonly string[];
}

const CLUSTER_STATUS = fixture('pvesh/cluster-status-3node-pve9-constructed.json');
const JOIN_INFO = fixture('pvesh/cluster-config-join-community-proxmox.reformatted.json');
const HA_TEXT = fixture('ha-manager-status/pve9.2-dynamic-crs-3node.txt');
const PVECM_STATUS = fixture('pvecm-status/pve9-3node-cluster-validation.txt');
const PVECM_NODES = fixture('pvecm-nodes/pve9-3node-cluster-validation.txt');
const PVESM = fixture('pvesm-status/pve9-3node-cluster-validation.txt');
const PVESR = fixture('pvesr/list-hetzner.txt');
const COROSYNC_CONF = fixture('corosync-conf/pve-create-illustrative.conf');

/** JSON text of `doc` after `change`. */
function jsonWith(doc: string, change: (d: any) => void): string {
  const d = JSON.parse(doc);
  change(d);
  return JSON.stringify(d);
}

const resources = (entry: Record<string, unknown>) => JSON.stringify([
  { id: 'node/pve1', node: 'pve1', type: 'node', status: 'online' },
  { id: 'qemu/100', vmid: 100, node: 'pve1', type: 'qemu', status: 'running', name: 'web' },
  entry,
]);
const haJson = (entry: Record<string, unknown>) => JSON.stringify([{ id: 'quorum', node: 'pve1', quorate: 1, status: 'OK', type: 'quorum' }, entry]);

const NODE_OUTPUT_FIELDS: readonly NodeOutputField[] = [
  { label: '/cluster/resources guest node', valid: 'pve2', parse: parse.parseClusterResources, text: (v) => resources({ id: 'qemu/101', vmid: 101, node: v, type: 'qemu', status: 'running' }) },
  { label: '/cluster/resources node', valid: 'pve2', parse: parse.parseClusterResources, text: (v) => resources({ id: `node/${v}`, node: v, type: 'node', status: 'online' }) },
  { label: '/cluster/resources storage id', valid: 'local-lvm', parse: parse.parseClusterResources, text: (v) => resources({ id: 'storage/pve1/x', storage: v, node: 'pve1', type: 'storage', shared: 1 }) },
  { label: '/cluster/resources storage node', valid: 'pve2', parse: parse.parseClusterResources, text: (v) => resources({ id: 'storage/x/nfs', storage: 'nfs', node: v, type: 'storage', shared: 1 }) },
  { label: '/cluster/status node name', valid: 'pve9', parse: parse.parseClusterStatus, text: (v) => jsonWith(CLUSTER_STATUS, (d) => (d.find((e: any) => e.type === 'node').name = v)) },
  { label: '/cluster/status cluster name', valid: 'prod', parse: parse.parseClusterStatus, text: (v) => jsonWith(CLUSTER_STATUS, (d) => (d.find((e: any) => e.type === 'cluster').name = v)) },
  { label: '/cluster/status node ip', valid: '10.0.0.9', parse: parse.parseClusterStatus, text: (v) => jsonWith(CLUSTER_STATUS, (d) => (d.find((e: any) => e.type === 'node').ip = v)) },
  { label: '/cluster/config/join pve_addr', valid: '10.10.10.80', parse: parse.parseJoinInfo, text: (v) => jsonWith(JOIN_INFO, (d) => (d.nodelist[0].pve_addr = v)) },
  { label: '/cluster/config/join ring0_addr', valid: '10.10.10.80', parse: parse.parseJoinInfo, text: (v) => jsonWith(JOIN_INFO, (d) => (d.nodelist[0].ring0_addr = v)) },
  { label: '/cluster/config/join node name', valid: 'pmx09', parse: parse.parseJoinInfo, text: (v) => jsonWith(JOIN_INFO, (d) => (d.nodelist[0].name = v)) },
  { label: '/cluster/config/join fingerprint', valid: 'AA:'.repeat(31) + 'AA', parse: parse.parseJoinInfo, text: (v) => jsonWith(JOIN_INFO, (d) => (d.nodelist[0].pve_fp = v)) },
  { label: '/cluster/config/join cluster name', valid: 'prod', parse: parse.parseJoinInfo, text: (v) => jsonWith(JOIN_INFO, (d) => (d.totem.cluster_name = v)) },
  { label: '/cluster/ha/status/current service group', valid: 'pvx-1234abcd', parse: parse.parseHaStatusCurrent, text: (v) => haJson({ id: 'service:vm:100', sid: 'vm:100', node: 'pve1', state: 'started', group: v, status: 'vm:100 (pve1, started)', type: 'service' }) },
  { label: '/cluster/ha/status/current service node', valid: 'pve1', parse: parse.parseHaStatusCurrent, text: (v) => haJson({ id: 'service:vm:100', sid: 'vm:100', state: 'started', status: `vm:100 (${v}, started)`, type: 'service' }) },
  { label: '/cluster/ha/status/current lrm node', valid: 'pve1', parse: parse.parseHaStatusCurrent, text: (v) => haJson({ id: `lrm:${v}`, node: v, status: `${v} (idle, Wed Aug 19 17:22:54 2026)`, type: 'lrm' }) },
  { label: '/cluster/ha/rules rule id', valid: 'pvx-1234abcd', parse: parseHaRules, text: (v) => JSON.stringify([{ rule: v, type: 'node-affinity', resources: 'vm:100', nodes: 'pve1', digest: 'x', order: 1 }]) },
  // an empty item of the comma list is no resource at all ('vm:100,' lists vm:100)
  { label: '/cluster/ha/rules resources', valid: 'ct:101', parse: parseHaRules, text: (v) => JSON.stringify([{ rule: 'pvx-1', type: 'node-affinity', resources: `vm:100,${v}`, nodes: 'pve1', digest: 'x', order: 1 }]), skip: ['', '   '] },
  { label: 'ha-manager groupconfig group id', valid: 'pvx-1234abcd', parse: parse.parseHaGroupConfig, text: (v) => `group: ${v}\n\tnodes pve1\n\n` },
  { label: 'ha-manager status master node', valid: 'pve9', parse: parse.parseHaManagerStatus, text: (v) => HA_TEXT.replace('master proxmox ', `master ${v} `) },
  { label: 'ha-manager status lrm node', valid: 'pve9', parse: parse.parseHaManagerStatus, text: (v) => HA_TEXT.replace('lrm pve2 ', `lrm ${v} `) },
  { label: 'ha-manager status service node', valid: 'pve9', parse: parse.parseHaManagerStatus, text: (v) => HA_TEXT.replace('service vm:200 (pve2,', `service vm:200 (${v},`) },
  // with a newline the header reads 'Name: pve1' and a line of its own, which is what the output then says
  { label: 'pvecm status cluster name', valid: 'prod', parse: parse.parsePvecmStatus, text: (v) => PVECM_STATUS.replace('Name:             labcluster', `Name:             ${v}`), skip: ['pve1\nreboot'] },
  { label: 'pvecm status member address', valid: '192.168.1.59', parse: parse.parsePvecmStatus, text: (v) => PVECM_STATUS.replace('192.168.1.49', v) },
  { label: 'pvecm nodes member name', valid: 'pve9', parse: parse.parsePvecmNodes, text: (v) => PVECM_NODES.replace(' pve3', ` ${v}`) },
  { label: 'corosync.conf node name', valid: 'pve9', parse: (t) => parse.summarizeCorosyncConf(parse.parseCorosyncConf(t)), text: (v) => COROSYNC_CONF.replace('name: pve1', `name: ${v}`) },
  { label: 'corosync.conf cluster_name', valid: 'prod', parse: (t) => parse.summarizeCorosyncConf(parse.parseCorosyncConf(t)), text: (v) => COROSYNC_CONF.replace(/cluster_name: \S+/, `cluster_name: ${v}`) },
  { label: 'corosync.conf ring0_addr', valid: '10.0.0.9', parse: (t) => parse.summarizeCorosyncConf(parse.parseCorosyncConf(t)), text: (v) => COROSYNC_CONF.replace(/ring0_addr: \S+/, `ring0_addr: ${v}`) },
  { label: 'getent ahosts address', valid: '10.0.0.2', parse: parseGetentAhosts, text: (v) => `10.0.0.1        STREAM pve1\n${v} STREAM pve1\n` },
  { label: 'pvesm status storage id', valid: 'nas-2', parse: parse.parsePvesmStatus, text: (v) => PVESM.replace(/^truenas /m, `${v} `) },
  // the Schedule column may hold spaces, so 'local/pve 1' reads as target pve with schedule '1 */15': another valid row
  { label: 'pvesr list target node', valid: 'pve9', parse: parse.parsePvesrList, text: (v) => PVESR.replace('local/hetzner-03', `local/${v}`), skip: ['pve 1'] },
];

/** Every string in `value`, outside the `unrecognized` lists that exist to carry what was not read. */
function readStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(readStrings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => (k === 'unrecognized' ? [] : readStrings(v)));
  return [];
}

describe('hostile values in node output: refused or flagged, never passed on', () => {
  for (const field of NODE_OUTPUT_FIELDS) {
    // the control: the sample with a valid value in the same place is read, and the value with it
    it(`${field.label} reads a valid value`, () => {
      const result = field.parse(field.text(field.valid));
      expect((result as { unrecognized?: string[] }).unrecognized ?? []).toEqual([]);
      expect(readStrings(result)).toContain(field.valid);
    });
    for (const h of HOSTILE.filter((x) => !field.skip?.includes(x.value))) {
      it(`${field.label} does not pass on ${h.label}`, () => {
        const text = field.text(h.value);
        let result: unknown;
        try {
          result = field.parse(text);
        } catch (e) {
          expect(e).toBeInstanceOf(ParseError);
          return;
        }
        // not refused: it must be flagged, and no value read may carry the hostile string
        expect((result as { unrecognized?: string[] }).unrecognized?.length ?? 0).toBeGreaterThan(0);
        if (h.value.trim() !== '') expect(readStrings(result).filter((s) => s.includes(h.value))).toEqual([]);
      });
    }
  }
});
