import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackupSetDir, CorruptBackupError, readBackupSet, verifyArchive } from '../../../src/commands/backup-store.js';
import { UsageError } from '../../../src/errors.js';
import { sha256Hex, type NodeBackup } from '../../../src/workflows/teardown-backup.js';
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
    node: 'pve1', nodeDir: '/var/lib/pvx/backups/x', nodeFile: '/var/lib/pvx/backups/x/pve1.tar.gz', localFile,
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
  });

  it('says what is wrong with a directory that is no backup set', () => {
    expect(() => readBackupSet(tmpDir('pvx-none-'))).toThrow(UsageError);
    const dir = tmpDir('pvx-badmanifest-');
    writeFileSync(path.join(dir, 'manifest.json'), '{"schemaVersion":1}');
    expect(() => readBackupSet(dir)).toThrow(CorruptBackupError);
    writeFileSync(path.join(dir, 'manifest.json'), '{');
    expect(() => readBackupSet(dir)).toThrow(/not valid JSON/);
  });
});
