import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { executePlan } from '../../../src/workflows/execute.js';
import {
  archiveFilesText,
  BACKUP_SOURCES,
  backupSetName,
  backupSteps,
  checkBackupArgv,
  createBackupArgv,
  fetchBackupArgv,
  isHalfWritten,
  localArchiveProblem,
  parseCheckOutput,
  parseCreateReport,
  parseSha256Line,
  sha256Hex,
  sha256Line,
} from '../../../src/workflows/teardown/backup.js';
import { makeArchive, memberArchiveFiles } from '../../helpers/backup-archive.js';
import { FakeTransport, type Script } from '../../helpers/fake-transport.js';
import { tmpDir } from '../../helpers/tmp.js';

const SET = 'prod-20260101T120000Z';
const DIR = `/var/lib/pvx/backups/${SET}`;
const FILES = ['etc/corosync/authkey', 'etc/corosync/corosync.conf', 'etc/pve/corosync.conf'];
const archive = makeArchive(memberArchiveFiles('totem {\n  cluster_name: prod\n  config_version: 3\n}\n'));
const sha = sha256Hex(archive);

function createOutput(s = sha): string {
  return `have /etc/corosync\nhave /etc/pve/corosync.conf\nmissing /var/lib/pve-cluster/config.db\n${FILES.map((f) => `file ${f}`).join('\n')}\nsha256 ${s}\nsize ${archive.length}\n`;
}

function listing(s = sha, files = FILES): string {
  return `${s}  pve1.tar.gz\netc/\netc/corosync/\n${files.join('\n')}\netc/pve/\n`;
}

function sink() {
  const saved = new Map<string, { data: Buffer; sha: string }>();
  return { saved, save: (f: string, data: Buffer, s: string) => (saved.set(f, { data, sha: s }), `/ws/${f}`) };
}

function scripts(over: { create?: Script['result']; fetch?: string; check?: Script['result'] } = {}): Script[] {
  return [
    { node: 'pve1', argv: createBackupArgv(DIR, 'pve1'), result: over.create ?? { stdout: createOutput() } },
    { node: 'pve1', argv: fetchBackupArgv(`${DIR}/pve1.tar.gz`), result: { stdout: over.fetch ?? archive.toString('base64') } },
    { node: 'pve1', argv: checkBackupArgv(DIR, 'pve1.tar.gz'), result: over.check ?? { stdout: listing() } },
  ];
}

describe('backup names and parsers', () => {
  it('names a set by cluster and UTC time', () => {
    expect(backupSetName('prod', Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('prod-20260102T030405Z');
  });

  it('reads what the create script reports', () => {
    expect(parseCreateReport(createOutput())).toEqual({
      have: ['/etc/corosync', '/etc/pve/corosync.conf'],
      missing: ['/var/lib/pve-cluster/config.db'],
      files: FILES,
      sha256: sha,
      size: archive.length,
    });
    expect(parseCheckOutput(listing())).toEqual({ sha256: sha, entries: ['etc', 'etc/corosync', ...FILES, 'etc/pve'] });
    expect(parseSha256Line(sha256Line(sha, 'pve1.tar.gz'))).toBe(sha);
    expect(parseSha256Line('nonsense')).toBeUndefined();
  });

  it('backs up the node folders too (a separated node loses the others\' folders later), and names them in a line by count', () => {
    expect(BACKUP_SOURCES).toEqual(['/etc/corosync', '/etc/pve/corosync.conf', '/etc/pve/nodes', '/var/lib/pve-cluster/config.db']);
    expect(createBackupArgv(DIR, 'pve1')[2]).toContain('for p in /etc/corosync /etc/pve/corosync.conf /etc/pve/nodes /var/lib/pve-cluster/config.db;');
    expect(archiveFilesText([...FILES, 'etc/pve/nodes/pve1/lrm_status', 'etc/pve/nodes/pve2/qemu-server/100.conf'])).toBe(
      'etc/corosync/authkey, etc/corosync/corosync.conf, etc/pve/corosync.conf, 2 file(s) under etc/pve/nodes/',
    );
    expect(archiveFilesText([])).toBe('no files');
  });

  it('checks a local archive: checksum first, then the files it must hold', () => {
    expect(localArchiveProblem(archive, sha, FILES)).toBeUndefined();
    expect(localArchiveProblem(archive, '0'.repeat(64), FILES)).toMatch(/checksum mismatch/);
    expect(localArchiveProblem(archive, sha, [...FILES, 'var/lib/pve-cluster/config.db'])).toBe('the archive lacks var/lib/pve-cluster/config.db');
    const garbage = Buffer.from('not an archive');
    expect(localArchiveProblem(garbage, sha256Hex(garbage), FILES)).toMatch(/cannot be read/);
  });
});

describe('backup steps', () => {
  it('backs up, copies and verifies on both sides', async () => {
    const t = new FakeTransport(scripts());
    const s = sink();
    const { steps, record } = backupSteps('pve1', SET, s);
    const run = await executePlan({ title: 'backup', steps }, t);
    expect(run.ok).toBe(true);
    t.verify();
    expect(record).toMatchObject({ node: 'pve1', nodeFile: `${DIR}/pve1.tar.gz`, localFile: '/ws/pve1.tar.gz', files: FILES, sha256: sha, verified: true });
    expect(s.saved.get('pve1.tar.gz')?.data.equals(archive)).toBe(true);
    expect(steps.map((x) => x.mutates)).toEqual([true, false, false]);
  });

  it('fails when the copy differs from the node and removes the half-made backup', async () => {
    const other = makeArchive({ 'etc/corosync/authkey': 'other' });
    const t = new FakeTransport([...scripts({ fetch: other.toString('base64') }), { node: 'pve1', argv: ['rm', '-rf', DIR] }]);
    const { steps, record } = backupSteps('pve1', SET, sink());
    const run = await executePlan({ title: 'backup', steps }, t);
    expect(run.ok).toBe(false);
    expect(run.changed).toBe(false);
    expect(run.failed?.message).toMatch(/differs from the node's/);
    expect(record.verified).toBe(false);
    expect(t.calls.map((c) => c.argv[0])).toEqual(['sh', 'base64', 'rm']);
  });

  it('fails when the node-side archive lacks a file or has another checksum, or the copy is not base64', async () => {
    for (const [over, why] of [
      [{ check: { stdout: listing(sha, FILES.slice(1)) } }, /on pve1: the archive lacks etc\/corosync\/authkey/],
      [{ check: { stdout: listing('1'.repeat(64)) } }, /on pve1 the archive's sha256 is 1111/],
      [{ check: { exitCode: 1, stderr: 'pve1.tar.gz: FAILED\nsha256sum: WARNING: 1 computed checksum did NOT match\n' } }, /did NOT match/],
      [{ fetch: '%%%' }, /did not come through as base64/],
      [{ create: { stdout: 'have /etc/corosync\n' } }, /printed no checksum/],
      [{ create: { exitCode: 2, stderr: 'tar: etc: Cannot stat\n' } }, /could not be made: tar: etc: Cannot stat/],
    ] as const) {
      const base = scripts(over as Parameters<typeof scripts>[0]);
      const t = new FakeTransport([...base.map((x) => ({ ...x, repeat: true })), { node: 'pve1', argv: ['rm', '-rf', DIR], repeat: true }]);
      const run = await executePlan({ title: 'backup', steps: backupSteps('pve1', SET, sink()).steps }, t);
      expect(run.ok).toBe(false);
      expect(run.changed).toBe(false);
      expect(run.failed?.message).toMatch(why);
    }
  });
});

describe('the backup script under the real /bin/sh, cp and tar', () => {
  it('leaves out the <file>.tmp.<pid> files PVE writes before a rename, and lists what it holds', () => {
    const root = tmpDir('pvx-backup-sh-');
    const write = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    };
    write('etc/corosync/corosync.conf', 'totem {}\n');
    write('etc/corosync/authkey', 'k');
    write('etc/pve/corosync.conf', 'totem {}\n');
    write('etc/pve/nodes/pve1/lrm_status', '{}');
    write('etc/pve/nodes/pve1/lrm_status.tmp.4242', '{"half');
    write('etc/pve/nodes/pve1/qemu-server/100.conf', 'name: web\n');
    // the script names absolute paths: point them into the scratch root (its archive's top is then that root's)
    const top = root.split('/')[1] ?? '';
    const script = (createBackupArgv('', '')[2] ?? '')
      .replaceAll(' /etc/', ` ${root}/etc/`)
      .replaceAll(' /var/lib/pve-cluster/', ` ${root}/var/lib/pve-cluster/`)
      .replace('for top in etc var', `for top in ${top}`);
    const dir = path.join(root, 'out');
    const out = execFileSync('sh', ['-c', script, 'sh', dir, 'pve1'], { encoding: 'utf8' });
    const files = out.split('\n').filter((l) => l.startsWith('file ')).map((l) => l.slice(`file ${root.slice(1)}/`.length)).sort();
    expect(files).toEqual(['etc/corosync/authkey', 'etc/corosync/corosync.conf', 'etc/pve/corosync.conf', 'etc/pve/nodes/pve1/lrm_status', 'etc/pve/nodes/pve1/qemu-server/100.conf']);
    expect(out).toContain(`missing ${root}/var/lib/pve-cluster/config.db`);
    const listed = execFileSync('tar', ['-tzf', path.join(dir, 'pve1.tar.gz')], { encoding: 'utf8' });
    expect(listed).not.toContain('.tmp.');
    expect(listed).toContain('lrm_status');
    // the stale-folder removal judges files by the same rule the script's find applies
    const all = execFileSync('find', [path.join(root, 'etc'), '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    const inArchive = new Set(listed.split('\n').filter(Boolean).map((e) => `/${e}`));
    for (const f of all) expect(isHalfWritten(f), f).toBe(!inArchive.has(f));
    expect(['/etc/pve/nodes/pve1/lrm_status.tmp', '/etc/pve/nodes/pve1/a.tmp.x1', '/etc/pve/x.tmp.1/y'].map(isHalfWritten)).toEqual([false, false, false]);
  });
});
