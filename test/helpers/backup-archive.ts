/** Real tar.gz archives for tests, made with the system's tar from a scratch tree. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpDir } from './tmp.js';

/** A gzipped tar holding `files` (archive path → content), as the backup script makes them. */
export function makeArchive(files: Record<string, string>): Buffer {
  const root = tmpDir('pvx-archive-');
  try {
    const stage = path.join(root, 'stage');
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(stage, name)), { recursive: true });
      writeFileSync(path.join(stage, name), content);
    }
    const tops = [...new Set(Object.keys(files).map((f) => f.split('/')[0] as string))].sort();
    const out = path.join(root, 'a.tar.gz');
    execFileSync('tar', ['-C', stage, '-czf', out, ...tops]);
    return readFileSync(out);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The cluster files of a member as its backup holds them. */
export function memberArchiveFiles(conf: string): Record<string, string> {
  return { 'etc/corosync/authkey': 'k'.repeat(256), 'etc/corosync/corosync.conf': conf, 'etc/pve/corosync.conf': conf };
}
