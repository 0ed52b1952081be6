/**
 * config.db, the node's SQLite database behind memdb (pve-cluster src/pmxcfs/database.c), written
 * through Debian's `sqlite3` command-line shell: Node 20 has no built-in SQLite and native addons or
 * prebuilt binaries cannot be installed for the lab, while the shell writes a genuine SQLite file in
 * WAL mode with pmxcfs's own schema, which tests and people can read with `sqlite3` independently.
 * One long-lived shell per daemon is fed SQL on stdin; each batch ends with a `SELECT 'ack N'` whose
 * echo tells that the batch is committed.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DT_DIR, DT_REG, type DbChange, type TreeEntry } from './memdb.js';

/** Debian's sqlite3 shell (package sqlite3, a dependency of pve-cluster). */
export const SQLITE3 = '/usr/bin/sqlite3';

/** database.c sql_create_db, verbatim. */
export const SQL_CREATE_DB =
  'CREATE TABLE IF NOT EXISTS tree (' +
  '  inode INTEGER PRIMARY KEY NOT NULL,' +
  "  parent INTEGER NOT NULL CHECK(typeof(parent)=='integer')," +
  "  version INTEGER NOT NULL CHECK(typeof(version)=='integer')," +
  "  writer INTEGER NOT NULL CHECK(typeof(writer)=='integer')," +
  "  mtime INTEGER NOT NULL CHECK(typeof(mtime)=='integer')," +
  "  type INTEGER NOT NULL CHECK(typeof(type)=='integer')," +
  '  name TEXT NOT NULL,' +
  '  data BLOB);';

function sqlText(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
}

/** database.c sql_replace_entry for one row; blobs as X'hex'. */
export function replaceSql(e: TreeEntry): string {
  const data = e.data && e.data.length > 0 ? `X'${e.data.toString('hex')}'` : 'NULL';
  return `REPLACE INTO tree (inode, parent, version, writer, mtime, type, name, data) VALUES (${int(e.inode)}, ${int(e.parent)}, ${int(e.version)}, ${int(e.writer)}, ${int(e.mtime)}, ${int(e.type)}, ${sqlText(e.name)}, ${data});`;
}

/** bdb_backend_write: the entry, the deleted inode and the `__version__` row in one transaction. */
export function changeSql(c: DbChange): string {
  let sql = 'BEGIN TRANSACTION;\n';
  if (c.deleteInode !== undefined) sql += `DELETE FROM tree WHERE inode = ${int(c.deleteInode)};\n`;
  if (c.upsert) sql += `${replaceSql(c.upsert)}\n`;
  sql += `${replaceSql({ inode: 0, parent: 0, version: c.index.version, writer: c.index.writer, mtime: c.index.mtime, type: DT_REG, name: '__version__' })}\n`;
  return `${sql}COMMIT TRANSACTION;\n`;
}

/** The whole tree replaced (a member taking the leader's database, or a fresh one). */
export function replaceAllSql(rows: readonly TreeEntry[]): string {
  return `BEGIN TRANSACTION;\nDELETE FROM tree;\n${rows.map(replaceSql).join('\n')}\nCOMMIT TRANSACTION;\n`;
}

interface JsonRow {
  inode: number;
  parent: number;
  version: number;
  writer: number;
  mtime: number;
  type: number;
  name: string;
  data: string;
}

function runSqlite(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(SQLITE3, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Read every row of config.db (none when the file does not exist yet). */
export async function loadRows(file: string): Promise<TreeEntry[]> {
  if (!existsSync(file)) return [];
  const r = await runSqlite(['-json', '-readonly', file, 'SELECT inode, parent, version, writer, mtime, type, name, hex(data) AS data FROM tree ORDER BY inode;']);
  if (r.code !== 0) throw new Error(`sqlite3 ${file}: ${r.stderr.trim()}`);
  if (!r.stdout.trim()) return [];
  return (JSON.parse(r.stdout) as JsonRow[]).map((j) => {
    const e: TreeEntry = { inode: j.inode, parent: j.parent, version: j.version, writer: j.writer, mtime: j.mtime, type: j.type === DT_DIR ? DT_DIR : DT_REG, name: j.name };
    if (j.data) e.data = Buffer.from(j.data, 'hex');
    return e;
  });
}

/** One open config.db: a `sqlite3` shell that commits what it is sent, in order. */
export class ConfigDb {
  private readonly child: ChildProcessWithoutNullStreams;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private buffered = '';
  private failed: Error | undefined;
  private stderr = '';

  private constructor(readonly file: string) {
    this.child = spawn(SQLITE3, ['-batch', file], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => this.onOutput(d.toString()));
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child.on('error', (e) => this.fail(e));
    this.child.on('close', (code) => this.fail(new Error(`sqlite3 exited (${code ?? 'signal'}): ${this.stderr.trim()}`)));
  }

  /** Open (creating) `file`: WAL mode, synchronous=NORMAL and the tree table, as bdb_create does. */
  static async open(file: string): Promise<ConfigDb> {
    const db = new ConfigDb(file);
    await db.exec(`PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n${SQL_CREATE_DB}\n`);
    return db;
  }

  private onOutput(text: string): void {
    this.buffered += text;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const m = /^ack (\d+)$/.exec(line);
      if (!m) continue;
      const n = Number(m[1]);
      const w = this.waiting.get(n);
      this.waiting.delete(n);
      if (!w) continue;
      // an error printed before the ack belongs to this batch
      if (this.stderr.trim()) {
        const msg = this.stderr.trim();
        this.stderr = '';
        w.reject(new Error(`sqlite3: ${msg}`));
      } else {
        w.resolve();
      }
    }
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /** Run SQL and resolve once the shell has executed it. */
  exec(sql: string): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const n = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(n, { resolve, reject });
      this.child.stdin.write(`${sql}SELECT 'ack ${n}';\n`);
    });
  }

  /** Persist one applied change. */
  write(c: DbChange): Promise<void> {
    return this.exec(changeSql(c));
  }

  /** Replace the whole tree. */
  replaceAll(rows: readonly TreeEntry[]): Promise<void> {
    return this.exec(replaceAllSql(rows));
  }

  /** Close the shell (it checkpoints the WAL on exit). */
  async close(): Promise<void> {
    if (this.failed) return;
    await new Promise<void>((resolve) => {
      this.child.once('close', () => resolve());
      this.child.stdin.end('.quit\n');
    });
  }
}
