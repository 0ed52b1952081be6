/** The workstation side of teardown backups: one directory per backup set, a manifest, archives with .sha256 files. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { backupsDir } from '../../config/paths.js';
import { EXIT, PvxError, UsageError } from '../../errors.js';
import { CLUSTER_PATHS } from '../../pve/argv.js';
import { clusterNameProblem, nodeNameProblem } from '../../pve/names.js';
import { parseCorosyncConf, summarizeCorosyncConf } from '../../pve/parse/corosync-conf.js';
import { ParseError, excerptOf } from '../../pve/parse/errors.js';
import {
  BACKUP_SOURCES,
  backupFileName,
  backupSetName,
  entryOf,
  localArchiveProblem,
  nodeBackupDir,
  parseSha256Line,
  sha256Line,
  type BackupSink,
  type NodeBackup,
} from '../../workflows/teardown/backup.js';
import { tarGzFile } from '../../workflows/teardown/tar-entries.js';

/** The manifest's file name inside a backup set directory. */
export const MANIFEST = 'manifest.json';

const refineWith = (problem: (v: string) => string | undefined) => (v: string, ctx: z.RefinementCtx) => {
  const p = problem(v);
  if (p) ctx.addIssue({ code: 'custom', message: p });
};

// archive paths as the teardown's create script lists them: relative, normalised, inside what it backs up
function archiveEntryProblem(entry: string): string | undefined {
  const inside = BACKUP_SOURCES.map(entryOf).some((src) => entry === src || entry.startsWith(`${src}/`));
  const clean = entry.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..') && !/[\u0000-\u001f\u007f]/.test(entry);
  return inside && clean ? undefined : `'${excerptOf(entry)}' is not a file the backup takes (${BACKUP_SOURCES.join(', ')})`;
}

const nodeEntrySchema = z
  .object({
    node: z.string().superRefine(refineWith(nodeNameProblem)),
    file: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 (64 hex digits)'),
    size: z.number().int().nonnegative(),
    nodePath: z.string(),
    files: z.array(z.string().superRefine(refineWith(archiveEntryProblem))),
    missing: z.array(z.enum(BACKUP_SOURCES as [string, ...string[]])),
  })
  .strict();

// `<cluster>-<UTC timestamp>` exactly as backupSetName writes it
const SET_STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function setProblem(set: string, cluster: string): string | undefined {
  const stamp = set.startsWith(`${cluster}-`) ? SET_STAMP.exec(set.slice(cluster.length + 1)) : null;
  const [y, mo, d, h, mi, se] = (stamp?.slice(1) ?? []).map(Number) as number[];
  const t = stamp ? new Date(Date.UTC(y ?? 0, (mo ?? 0) - 1, d ?? 0, h ?? 0, mi ?? 0, se ?? 0)) : undefined;
  if (t && backupSetName(cluster, t.getTime()) === set) return undefined;
  return `'${excerptOf(set)}' is not a backup set of cluster '${excerptOf(cluster)}' (expected ${cluster}-<YYYYMMDDTHHMMSSZ>)`;
}

const manifestSchema = z
  .object({
    schemaVersion: z.literal(1),
    cluster: z.string().superRefine(refineWith(clusterNameProblem)),
    set: z.string(),
    createdAt: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'must be an ISO time (e.g. 2026-01-01T12:00:00.000Z)').refine((v) => !Number.isNaN(Date.parse(v)), 'must be a real time'),
    nodes: z.array(nodeEntrySchema),
  })
  .strict()
  // the set, file and node path become paths on the nodes: each must be exactly what the teardown wrote
  .superRefine((m, ctx) => {
    if (clusterNameProblem(m.cluster) !== undefined) return;
    const sp = setProblem(m.set, m.cluster);
    if (sp) ctx.addIssue({ code: 'custom', path: ['set'], message: sp });
    const seen = new Set<string>();
    m.nodes.forEach((n, i) => {
      if (nodeNameProblem(n.node) !== undefined) return;
      if (seen.has(n.node)) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'node'], message: `${n.node} is listed twice` });
      seen.add(n.node);
      if (n.file !== backupFileName(n.node)) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'file'], message: `must be ${backupFileName(n.node)}, not '${excerptOf(n.file)}'` });
      const nodePath = `${nodeBackupDir(m.set)}/${backupFileName(n.node)}`;
      if (!sp && n.nodePath !== nodePath) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'nodePath'], message: `must be ${nodePath}, not '${excerptOf(n.nodePath)}'` });
    });
  });

/** What a backup set holds (manifest.json). */
export type BackupManifest = z.infer<typeof manifestSchema>;

/** One node's entry of a manifest. */
export type ManifestNode = z.infer<typeof nodeEntrySchema>;

/** Where backup sets go by default: `<state dir>/backups` (`stateOverride` is PVX_STATE_DIR). */
export function defaultBackupRoot(stateOverride: string | undefined, env: NodeJS.ProcessEnv): string {
  return backupsDir(stateOverride, env);
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

/**
 * Read a backup set's manifest; a directory that is not one is a usage error, and a manifest whose
 * fields are not exactly what the teardown writes (names, set, paths) is a corrupt backup (exit 2).
 */
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
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
    throw new CorruptBackupError(`${file} is not a pvx backup manifest: ${where}${issue?.message ?? 'invalid'}`, 'nothing was changed; give the directory pvx cluster teardown made, unedited');
  }
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
  const text = conf.toString('utf8');
  // its node and cluster names go into the restored configuration: the same checks as a node's own copy
  try {
    summarizeCorosyncConf(parseCorosyncConf(text));
  } catch (e) {
    if (e instanceof ParseError) throw refuse(`its ${CLUSTER_PATHS.corosyncConf} cannot be read: ${e.message}`);
    throw e;
  }
  return { entry, path: file, data, corosyncConf: text };
}
