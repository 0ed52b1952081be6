/**
 * Backups of a node's cluster configuration before anything is deleted: a tar of /etc/corosync,
 * /etc/pve/corosync.conf, /etc/pve/nodes and the pmxcfs database, with its sha256, kept on the node and copied to
 * the workstation, then checked on both sides (checksum and the files it must hold).
 */
import { createHash } from 'node:crypto';
import { CLUSTER_PATHS } from '../../pve/argv.js';
import { readOnlyScript } from '../../transport/read-only-scripts.js';
import type { Step } from '../plan.js';
import { TarFormatError, normalizeEntry, tarGzNames } from './tar-entries.js';
import { lastLine } from '../../pve/parse/text.js';

/** Where nodes keep pvx backups. */
export const NODE_BACKUP_ROOT = '/var/lib/pvx/backups';

/**
 * What a backup holds, where it exists on the node. The node folders are there as files (not only
 * inside config.db) because the teardown removes the other nodes' folders once a node is separated,
 * and a restore puts them back from here.
 */
export const BACKUP_SOURCES: readonly string[] = [CLUSTER_PATHS.corosyncDir, CLUSTER_PATHS.pveCorosyncConf, CLUSTER_PATHS.pveNodes, CLUSTER_PATHS.configDb];

/** Files a cluster member must have; a backup without them is reported. */
export const CLUSTER_ESSENTIALS: readonly string[] = [CLUSTER_PATHS.corosyncConf, CLUSTER_PATHS.authkey, CLUSTER_PATHS.pveCorosyncConf];

/** `<cluster>-<UTC timestamp>`, the name of one backup set on the nodes and on the workstation. */
export function backupSetName(cluster: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `${cluster}-${stamp}`;
}

/** The directory of a backup set on a node. */
export function nodeBackupDir(set: string): string {
  return `${NODE_BACKUP_ROOT}/${set}`;
}

/** The archive name of a node's backup. */
export function backupFileName(node: string): string {
  return `${node}.tar.gz`;
}

/** The path inside the archive of an absolute path on the node. */
export function entryOf(absolute: string): string {
  return normalizeEntry(absolute.replace(/^\/+/, ''));
}

// Positional arguments only ($1 directory, $2 node): nothing is interpolated into the script.
// sqlite3 .backup gives a consistent copy of the live database; cp is the fallback without sqlite3.
// PVE writes a file in /etc/pve as <file>.tmp.<pid> and renames it (the HA LRM every few seconds),
// so a copy can meet a file that is gone the next moment: it is tried again, and those half-written
// files are no part of the backup.
const CREATE_SCRIPT = [
  'set -eu; dir=$1; node=$2; umask 077; mkdir -p "$dir"; stage=$(mktemp -d); trap \'rm -rf "$stage"\' EXIT',
  `for p in ${BACKUP_SOURCES.join(' ')}; do if [ ! -e "$p" ]; then echo "missing $p"; continue; fi; mkdir -p "$stage$(dirname "$p")"; ` +
    `if [ "$p" = ${CLUSTER_PATHS.configDb} ] && command -v sqlite3 >/dev/null 2>&1; then sqlite3 "$p" ".backup '$stage$p'"; ` +
    `else n=0; until cp -a "$p" "$stage$p" 2>"$stage/.cp-error"; do n=$((n+1)); if [ $n -ge 5 ]; then cat "$stage/.cp-error" >&2; exit 1; fi; rm -rf "$stage$p"; done; fi; echo "have $p"; done`,
  'rm -f "$stage/.cp-error"; find "$stage" -type f -name \'*.tmp.[0-9]*\' -delete',
  '(cd "$stage" && find . -type f) | sed \'s|^\\./|file |\'; set --; for top in etc var; do if [ -e "$stage/$top" ]; then set -- "$@" "$top"; fi; done',
  'tar -C "$stage" -czf "$dir/$node.tar.gz" "$@"; cd "$dir"; sha256sum "$node.tar.gz" > "$node.tar.gz.sha256"; echo "sha256 $(cut -d\' \' -f1 "$node.tar.gz.sha256")"; echo "size $(wc -c < "$node.tar.gz")"',
].join('\n');

// only reads: dry-run may run it
const CHECK_SCRIPT = readOnlyScript('set -eu; cd "$1"; sha256sum -c --quiet "$2.sha256" >&2; sha256sum "$2"; tar -tzf "$2"');

/** A file PVE is half-way through writing (`<file>.tmp.<pid>`, renamed once written): never part of a backup. */
export function isHalfWritten(file: string): boolean {
  return /\.tmp\.[0-9][^/]*$/.test(file);
}

/** Create the archive and its .sha256 in `dir` on the node. */
export function createBackupArgv(dir: string, node: string): string[] {
  return ['sh', '-c', CREATE_SCRIPT, 'sh', dir, node];
}

/** Print the archive base64-encoded (the transport carries text; binary goes through this). */
export function fetchBackupArgv(file: string): string[] {
  return ['base64', '-w', '0', file];
}

/** On the node: check the archive against its .sha256, print its checksum and its listing. */
export function checkBackupArgv(dir: string, file: string): string[] {
  return ['sh', '-c', CHECK_SCRIPT, 'sh', dir, file];
}

/** What the create script reported. */
export interface CreateReport {
  have: string[];
  missing: string[];
  /** regular files in the archive, as archive paths */
  files: string[];
  sha256?: string;
  size?: number;
}

/** Parse the create script's output. */
export function parseCreateReport(stdout: string): CreateReport {
  const r: CreateReport = { have: [], missing: [], files: [] };
  for (const line of stdout.split('\n')) {
    const [word, ...rest] = line.trim().split(' ');
    const value = rest.join(' ');
    if (word === 'have') r.have.push(value);
    else if (word === 'missing') r.missing.push(value);
    else if (word === 'file') r.files.push(normalizeEntry(value));
    else if (word === 'sha256' && /^[0-9a-f]{64}$/.test(value)) r.sha256 = value;
    else if (word === 'size' && /^\d+$/.test(value)) r.size = Number(value);
  }
  r.files.sort();
  return r;
}

/** Parse the check script's output: the checksum line, then the listing. */
export function parseCheckOutput(stdout: string): { sha256?: string; entries: string[] } {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const m = /^([0-9a-f]{64})\s/.exec(lines[0] ?? '');
  return { ...(m ? { sha256: m[1] as string } : {}), entries: lines.slice(m ? 1 : 0).map(normalizeEntry) };
}

/** SHA-256 of bytes, hex. */
export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The `.sha256` file content for an archive (sha256sum's format). */
export function sha256Line(sha: string, file: string): string {
  return `${sha}  ${file}\n`;
}

/** Read the checksum out of a `.sha256` file. */
export function parseSha256Line(text: string): string | undefined {
  return /^([0-9a-f]{64})\s/.exec(text.trim())?.[1];
}

/** Why an archive's listing lacks files it must hold, or undefined. */
export function listingProblem(entries: readonly string[], expected: readonly string[]): string | undefined {
  const have = new Set(entries);
  const lacking = expected.filter((f) => !have.has(f));
  return lacking.length > 0 ? `the archive lacks ${lacking.join(', ')}` : undefined;
}

/** Why a local archive is not the backup it claims to be (checksum, then contents), or undefined. */
export function localArchiveProblem(data: Buffer, sha: string, expected: readonly string[]): string | undefined {
  const actual = sha256Hex(data);
  if (actual !== sha) return `checksum mismatch: the archive's sha256 is ${actual}, the backup records ${sha}`;
  let entries: string[];
  try {
    entries = tarGzNames(data);
  } catch (e) {
    if (e instanceof TarFormatError) return `the archive cannot be read: ${e.message}`;
    throw e;
  }
  return listingProblem(entries, expected);
}

/** An archive's files in a line: each one outside the node folders, then how many of theirs (a cluster has hundreds). */
export function archiveFilesText(files: readonly string[]): string {
  const nodes = `${entryOf(CLUSTER_PATHS.pveNodes)}/`;
  const inNodes = files.filter((f) => f.startsWith(nodes)).length;
  const rest = files.filter((f) => !f.startsWith(nodes));
  return [...rest, ...(inNodes > 0 ? [`${inNodes} file(s) under ${nodes}`] : [])].join(', ') || 'no files';
}

/** One node's backup as the steps fill it in. */
export interface NodeBackup {
  node: string;
  /** directory and archive on the node */
  nodeDir: string;
  nodeFile: string;
  /** the archive on the workstation, once copied */
  localFile?: string;
  have: string[];
  missing: string[];
  files: string[];
  sha256?: string;
  size?: number;
  verified: boolean;
}

/** Where the workstation copies go. */
export interface BackupSink {
  /** write an archive and its .sha256; returns the archive's path */
  save(fileName: string, data: Buffer, sha256: string): string;
}


/** The steps that back up, copy and verify one node's configuration; `record` is filled as they run. */
export function backupSteps(node: string, set: string, sink: BackupSink): { steps: Step[]; record: NodeBackup } {
  const dir = nodeBackupDir(set);
  const file = backupFileName(node);
  const record: NodeBackup = { node, nodeDir: dir, nodeFile: `${dir}/${file}`, have: [], missing: [], files: [], verified: false };
  let data: Buffer | undefined;
  const create: Step = {
    node,
    title: `back up ${BACKUP_SOURCES.join(', ')} on ${node}`,
    argv: createBackupArgv(dir, node),
    mutates: true,
    timeoutMs: 120_000,
    judge: (r) => {
      if (r.exitCode !== 0) return `the backup could not be made: ${lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`}`;
      const rep = parseCreateReport(r.stdout);
      if (!rep.sha256) return 'the backup script printed no checksum';
      Object.assign(record, { have: rep.have, missing: rep.missing, files: rep.files, sha256: rep.sha256, ...(rep.size !== undefined ? { size: rep.size } : {}) });
      return undefined;
    },
    undo: [{ node, title: `remove the unfinished backup ${dir} on ${node}`, argv: ['rm', '-rf', dir], mutates: true }],
  };
  const fetch: Step = {
    node,
    title: `copy ${node}'s backup to this workstation`,
    argv: fetchBackupArgv(record.nodeFile),
    mutates: false,
    run: async (t) => {
      const r = await t.exec(node, fetchBackupArgv(record.nodeFile), { title: `copy ${node}'s backup`, timeoutMs: 300_000 });
      if (r.exitCode !== 0) return { ok: false, message: `could not read ${record.nodeFile}: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}` };
      const text = r.stdout.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return { ok: false, message: `${record.nodeFile} did not come through as base64` };
      data = Buffer.from(text, 'base64');
      const sha = sha256Hex(data);
      if (sha !== record.sha256) return { ok: false, message: `the copy's sha256 ${sha} differs from the node's ${record.sha256 ?? '(none)'}` };
      record.localFile = sink.save(file, data, sha);
      return { ok: true, message: `${data.length} bytes, sha256 ${sha.slice(0, 12)}…` };
    },
  };
  const check: Step = {
    node,
    title: `verify ${node}'s backup on both sides (sha256 and contents)`,
    argv: checkBackupArgv(dir, file),
    mutates: false,
    run: async (t) => {
      if (!data || !record.sha256) return { ok: false, message: 'nothing was copied to verify' };
      const expected = record.files;
      const local = localArchiveProblem(data, record.sha256, expected);
      if (local) return { ok: false, message: `workstation copy: ${local}` };
      const r = await t.exec(node, checkBackupArgv(dir, file), { title: `verify ${node}'s backup` });
      if (r.exitCode !== 0) return { ok: false, message: `on ${node}: ${lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`}` };
      const onNode = parseCheckOutput(r.stdout);
      if (onNode.sha256 !== record.sha256) return { ok: false, message: `on ${node} the archive's sha256 is ${onNode.sha256 ?? '(unreadable)'}, expected ${record.sha256}` };
      const listing = listingProblem(onNode.entries, expected);
      if (listing) return { ok: false, message: `on ${node}: ${listing}` };
      record.verified = true;
      return { ok: true, message: `${expected.length} file(s): ${archiveFilesText(expected)}` };
    },
  };
  return { steps: [create, fetch, check], record };
}
