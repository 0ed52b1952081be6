import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackupSetDir, CorruptBackupError, readBackupSet, verifyArchive } from '../../../src/commands/cluster/backup-store.js';
import { UsageError } from '../../../src/errors.js';
import { sha256Hex, type NodeBackup } from '../../../src/workflows/teardown/backup.js';
import { makeArchive, memberArchiveFiles } from '../../helpers/backup-archive.js';
import { tmpDir } from '../../helpers/tmp.js';

const CONF = 'totem {\n  cluster_name: prod\n  config_version: 3\n}\n';
const FILES = ['etc/corosync/authkey', 'etc/corosync/corosync.conf', 'etc/pve/corosync.conf'];

function set(files: Record<string, string> = memberArchiveFiles(CONF)) {
  const dir = path.join(tmpDir('pvx-bk-'), 'prod-20260101T000000Z');
  const store = new BackupSetDir(dir);
  const data = makeArchive(files);
  const sha = sha256Hex(data);
  const localFile = store.save('pve1.tar.gz', data, sha);
  const record: NodeBackup = {
    node: 'pve1', nodeDir: '/var/lib/pvx/backups/prod-20260101T000000Z', nodeFile: '/var/lib/pvx/backups/prod-20260101T000000Z/pve1.tar.gz', localFile,
    have: [], missing: ['/var/lib/pve-cluster/config.db'], files: Object.keys(files).sort(), sha256: sha, size: data.length, verified: true,
  };
  const manifest = store.writeManifest('prod', 'prod-20260101T000000Z', '2026-01-01T00:00:00.000Z', [record]);
  return { dir, manifest, localFile, data, sha };
}

describe('backup sets on the workstation', () => {
  it('writes archives with sha256sum-style checksums and a manifest, and reads them back verified', () => {
    const { dir, manifest, localFile, sha } = set();
    expect(readFileSync(`${localFile}.sha256`, 'utf8')).toBe(`${sha}  pve1.tar.gz\n`);
    expect(readBackupSet(dir)).toEqual(manifest);
    expect(manifest.nodes[0]).toMatchObject({ node: 'pve1', file: 'pve1.tar.gz', files: FILES, sha256: sha });
    const v = verifyArchive(dir, manifest.nodes[0]!);
    expect(v.corosyncConf).toBe(CONF);
  });

  it('refuses a corrupted archive, a changed .sha256, a missing archive and one without the corosync files', () => {
    const a = set();
    const bytes = readFileSync(a.localFile);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
    writeFileSync(a.localFile, bytes);
    expect(() => verifyArchive(a.dir, a.manifest.nodes[0]!)).toThrow(/is refused: checksum mismatch/);
    try {
      verifyArchive(a.dir, a.manifest.nodes[0]!);
    } catch (e) {
      expect(e).toBeInstanceOf(CorruptBackupError);
      expect((e as CorruptBackupError).exitCode).toBe(2);
    }

    const b = set();
    writeFileSync(`${b.localFile}.sha256`, `${'0'.repeat(64)}  pve1.tar.gz\n`);
    expect(() => verifyArchive(b.dir, b.manifest.nodes[0]!)).toThrow(/pve1.tar.gz.sha256 says 0000/);

    const c = set({ 'etc/pve/corosync.conf': CONF });
    expect(() => verifyArchive(c.dir, c.manifest.nodes[0]!)).toThrow(/lacks etc\/corosync\/corosync.conf, etc\/corosync\/authkey/);

    const d = set();
    expect(() => verifyArchive(d.dir, { ...d.manifest.nodes[0]!, file: 'pve9.tar.gz' })).toThrow(/the archive is missing/);

    const hostile = 'nodelist {\n  node {\n    name: ../../etc\n    nodeid: 1\n  }\n}\n\ntotem {\n  cluster_name: prod\n  config_version: 3\n}\n';
    const e = set(memberArchiveFiles(hostile));
    expect(() => verifyArchive(e.dir, e.manifest.nodes[0]!)).toThrow(/corosync\.conf cannot be read: corosync\.conf: node 1: '\.\.\/\.\.\/etc' is not a node name/);
  });

  it('says what is wrong with a directory that is no backup set', () => {
    expect(() => readBackupSet(tmpDir('pvx-none-'))).toThrow(UsageError);
    const dir = tmpDir('pvx-badmanifest-');
    writeFileSync(path.join(dir, 'manifest.json'), '{"schemaVersion":1}');
    expect(() => readBackupSet(dir)).toThrow(CorruptBackupError);
    writeFileSync(path.join(dir, 'manifest.json'), '{');
    expect(() => readBackupSet(dir)).toThrow(/not valid JSON/);
  });

  it('accepts exactly what the teardown writes: set, file and node path follow from the cluster and node names', () => {
    const { dir } = set();
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const edit = (change: (m: typeof manifest) => void): string => {
      const m = structuredClone(manifest);
      change(m);
      writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
      try {
        readBackupSet(dir);
        return 'accepted';
      } catch (e) {
        expect(e).toBeInstanceOf(CorruptBackupError);
        return (e as Error).message.replace(/^.*manifest: /, '');
      }
    };
    expect(edit(() => undefined)).toBe('accepted');
    expect(edit((m) => (m.set = 'prod-20260101T000000Z/../../etc'))).toBe("set: 'prod-20260101T000000Z/../../etc' is not a backup set of cluster 'prod' (expected prod-<YYYYMMDDTHHMMSSZ>)");
    expect(edit((m) => (m.set = 'other-20260101T000000Z'))).toMatch(/^set: 'other-20260101T000000Z' is not a backup set of cluster 'prod'/);
    expect(edit((m) => (m.set = 'prod-20261301T000000Z'))).toMatch(/^set: /);
    expect(edit((m) => (m.cluster = 'prod;reboot'))).toMatch(/^cluster: cluster name 'prod;reboot' is invalid/);
    expect(edit((m) => (m.nodes[0].node = '../pve1'))).toMatch(/^nodes\.0\.node: node name '\.\.\/pve1' is invalid/);
    expect(edit((m) => (m.nodes[0].file = 'pve2.tar.gz'))).toBe("nodes.0.file: must be pve1.tar.gz, not 'pve2.tar.gz'");
    expect(edit((m) => (m.nodes[0].nodePath = '/etc/passwd'))).toBe("nodes.0.nodePath: must be /var/lib/pvx/backups/prod-20260101T000000Z/pve1.tar.gz, not '/etc/passwd'");
    expect(edit((m) => (m.nodes[0].files = ['etc/corosync/../../root/.ssh/id_rsa']))).toMatch(/^nodes\.0\.files\.0: /);
    expect(edit((m) => (m.nodes[0].missing = ['/etc/shadow']))).toMatch(/^nodes\.0\.missing\.0: /);
    expect(edit((m) => (m.createdAt = '$(reboot)'))).toMatch(/^createdAt: /);
    expect(edit((m) => (m.extra = 1))).toMatch(/extra/);
    expect(edit((m) => m.nodes.push(structuredClone(m.nodes[0])))).toBe('nodes.1.node: pve1 is listed twice');
  });
});
