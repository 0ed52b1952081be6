/** The workstation side of teardown backups: one directory per backup set, a manifest, archives with .sha256 files. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { stateDir } from '../config/paths.js';
import { EXIT, PvxError, UsageError } from '../errors.js';
import { CLUSTER_PATHS } from '../pve/argv.js';
import { entryOf, localArchiveProblem, parseSha256Line, sha256Line, type BackupSink, type NodeBackup } from '../workflows/teardown-backup.js';
import { tarGzFile } from '../workflows/tar-entries.js';

/** The manifest's file name inside a backup set directory. */
export const MANIFEST = 'manifest.json';

const nodeEntrySchema = z.object({
  node: z.string().min(1),
  file: z.string().regex(/^[^/]+\.tar\.gz$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  nodePath: z.string(),
  files: z.array(z.string()),
  missing: z.array(z.string()),
});

const manifestSchema = z.object({
  schemaVersion: z.literal(1),
  cluster: z.string().min(1),
  set: z.string().min(1),
  createdAt: z.string(),
  nodes: z.array(nodeEntrySchema),
});

/** What a backup set holds (manifest.json). */
export type BackupManifest = z.infer<typeof manifestSchema>;

/** One node's entry of a manifest. */
export type ManifestNode = z.infer<typeof nodeEntrySchema>;

/** Where backup sets go by default: `<state dir>/backups`. */
export function defaultBackupRoot(env: NodeJS.ProcessEnv): string {
  return path.join(stateDir(env), 'backups');
}

/** A backup set being written on the workstation. */
export class BackupSetDir implements BackupSink {
  constructor(readonly dir: string) {}

  save(fileName: string, data: Buffer, sha256: string): string {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, fileName);
    writeFileSync(file, data, { mode: 0o600 });
    writeFileSync(`${file}.sha256`, sha256Line(sha256, fileName), { mode: 0o600 });
    return file;
  }

  /** Write the manifest of the verified backups. */
  writeManifest(cluster: string, set: string, createdAt: string, records: readonly NodeBackup[]): BackupManifest {
    const manifest: BackupManifest = {
      schemaVersion: 1,
      cluster,
      set,
      createdAt,
      nodes: records.map((r) => ({
        node: r.node,
        file: path.basename(r.localFile ?? `${r.node}.tar.gz`),
        sha256: r.sha256 ?? '',
        size: r.size ?? 0,
        nodePath: r.nodeFile,
        files: r.files,
        missing: r.missing,
      })),
    };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(this.dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
    return manifest;
  }

  /** Remove the set (a backup that failed is not kept half-made). */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A backup that fails its checks: exit 2, nothing ran on any node. */
export class CorruptBackupError extends PvxError {
  constructor(message: string, hint?: string) {
    super('BACKUP_CORRUPT', EXIT.USAGE, message, hint ? { hint } : {});
  }
}

/** Read a backup set's manifest; a directory that is not one is a usage error. */
export function readBackupSet(dir: string): BackupManifest {
  const file = path.join(dir, MANIFEST);
  if (!existsSync(file)) {
    throw new UsageError(`${dir} is not a pvx backup: it has no ${MANIFEST}`, { hint: 'give the directory pvx cluster teardown printed (…/backups/<cluster>-<timestamp>)' });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CorruptBackupError(`${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = manifestSchema.safeParse(doc);
  if (!parsed.success) throw new CorruptBackupError(`${file} is not a pvx backup manifest: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** A node's archive, verified: bytes and the corosync.conf it holds. */
export interface VerifiedArchive {
  entry: ManifestNode;
  path: string;
  data: Buffer;
  corosyncConf: string;
}

/** Check one node's archive against the manifest and its .sha256 file, and that it holds the cluster files. */
export function verifyArchive(dir: string, entry: ManifestNode): VerifiedArchive {
  const file = path.join(dir, entry.file);
  const refuse = (why: string) => new CorruptBackupError(`the backup of ${entry.node} (${file}) is refused: ${why}`, 'nothing was changed; use another backup set, or the copy kept on the node (' + entry.nodePath + ')');
  if (!existsSync(file)) throw refuse('the archive is missing');
  const data = readFileSync(file);
  const sidecar = existsSync(`${file}.sha256`) ? parseSha256Line(readFileSync(`${file}.sha256`, 'utf8')) : undefined;
  if (sidecar === undefined) throw refuse(`${file}.sha256 is missing or unreadable`);
  if (sidecar !== entry.sha256) throw refuse(`${file}.sha256 says ${sidecar}, the manifest ${entry.sha256}`);
  const required = [...new Set([...entry.files, entryOf(CLUSTER_PATHS.corosyncConf), entryOf(CLUSTER_PATHS.authkey)])];
  const problem = localArchiveProblem(data, entry.sha256, required);
  if (problem) throw refuse(problem);
  const conf = tarGzFile(data, entryOf(CLUSTER_PATHS.corosyncConf));
  if (!conf) throw refuse(`it holds no ${CLUSTER_PATHS.corosyncConf}`);
  return { entry, path: file, data, corosyncConf: conf.toString('utf8') };
}
