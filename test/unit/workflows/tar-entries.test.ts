import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { normalizeEntry, tarGzFile, tarGzNames, TarFormatError } from '../../../src/workflows/teardown/tar-entries.js';
import { makeArchive } from '../../helpers/backup-archive.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('tar member names', () => {
  it('lists what GNU tar put in, directories included, without ./ or trailing slashes', () => {
    const gz = makeArchive({ 'etc/corosync/authkey': 'key', 'etc/corosync/corosync.conf': 'conf', 'var/lib/pve-cluster/config.db': 'db' });
    expect(tarGzNames(gz).sort()).toEqual([
      'etc', 'etc/corosync', 'etc/corosync/authkey', 'etc/corosync/corosync.conf', 'var', 'var/lib', 'var/lib/pve-cluster', 'var/lib/pve-cluster/config.db',
    ]);
    expect(tarGzFile(gz, 'etc/corosync/corosync.conf')?.toString()).toBe('conf');
    expect(tarGzFile(gz, './etc/corosync/authkey')?.toString()).toBe('key');
    expect(tarGzFile(gz, 'etc/corosync')).toBeUndefined();
    expect(tarGzFile(gz, 'etc/nothing')).toBeUndefined();
  });

  it('reads GNU long names and pax paths', () => {
    const long = `etc/${'d'.repeat(120)}/file`;
    const dir = tmpDir('pvx-tar-');
    mkdirSync(path.join(dir, 'src', path.dirname(long)), { recursive: true });
    writeFileSync(path.join(dir, 'src', long), 'x');
    for (const format of ['gnu', 'pax']) {
      const out = path.join(dir, `${format}.tar.gz`);
      execFileSync('tar', ['-C', path.join(dir, 'src'), `--format=${format}`, '-czf', out, 'etc']);
      expect(tarGzNames(readFileSync(out))).toContain(long);
    }
  });

  it('refuses what is not a gzipped tar, a truncated one and a damaged header', () => {
    expect(() => tarGzNames(Buffer.from('hello'))).toThrow(TarFormatError);
    const tar = execFileSync('sh', ['-c', 'cd "$1" && head -c 2000 /dev/zero > f && tar -cf - f', 'sh', tmpDir('pvx-tar-')]);
    expect(() => tarGzNames(gzipSync(tar.subarray(0, 600)))).toThrow(/truncated/);
    expect(() => tarGzNames(gzipSync(tar.subarray(0, 512 + 2048)))).toThrow(/truncated/);
    expect(() => tarGzNames(gzipSync(tar).subarray(0, 40))).toThrow(TarFormatError);
    const damaged = Buffer.from(tar);
    damaged[0] = 'g'.charCodeAt(0);
    expect(() => tarGzNames(gzipSync(damaged))).toThrow(/checksum/);
  });

  it('normalizes member names', () => {
    expect(normalizeEntry('./etc/corosync/')).toBe('etc/corosync');
    expect(normalizeEntry('etc/pve/corosync.conf')).toBe('etc/pve/corosync.conf');
  });
});
