/**
 * A running node's files and processes, seen from the host through /proc/<pid-1>/root: that path
 * resolves inside the node's mount namespace, so writes land in its overlay /etc without a process.
 */
import { chmod, lstat, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive, processComm } from './procfs.js';
import type { UnitSpec } from './units.js';

/** Host path of `p` (an absolute path inside the node). */
export function inNode(initPid: number, p: string): string {
  return `/proc/${initPid}/root${p}`;
}

/** Contents of a node file, or undefined when absent. */
export async function readNodeFile(initPid: number, p: string): Promise<string | undefined> {
  try {
    return await readFile(inNode(initPid, p), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Write a node file when its content differs; returns true if it was written. A symlink is left
 * alone: an absolute link would resolve on the host, and a node whose tools replaced the file with
 * a link (e.g. to /etc/pve/priv/…) wants to keep it.
 */
export async function writeNodeFile(initPid: number, p: string, content: string, mode = 0o644): Promise<boolean> {
  const target = inNode(initPid, p);
  try {
    const st = await lstat(target);
    if (st.isSymbolicLink()) return false;
    if ((await readFile(target, 'utf8')) === content) {
      if ((st.mode & 0o7777) !== mode) await chmod(target, mode);
      return false;
    }
  } catch {
    /* absent: write it */
  }
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.pvx-tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, target);
  return true;
}

/** Make a node directory hold exactly `files` (name → content), removing other entries. Returns true if anything changed. */
export async function syncNodeDir(initPid: number, dir: string, files: ReadonlyMap<string, string>, mode: number): Promise<boolean> {
  let changed = false;
  for (const [name, content] of files) {
    if (await writeNodeFile(initPid, path.join(dir, name), content, mode)) changed = true;
  }
  const present = await readdir(inNode(initPid, dir)).catch(() => [] as string[]);
  for (const name of present) {
    if (!files.has(name)) {
      await unlink(inNode(initPid, path.join(dir, name))).catch(() => undefined);
      changed = true;
    }
  }
  return changed;
}

/** The node-namespace PID of a unit's daemon when it is running (pidfile present, process alive and named right). */
export async function unitPid(initPid: number, u: Pick<UnitSpec, 'pidFile' | 'comm'>): Promise<number | undefined> {
  const text = await readNodeFile(initPid, u.pidFile);
  const pid = text ? Number(text.trim()) : NaN;
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // the node's own /proc (mounted for its PID namespace) is reachable through its root
  const procRoot = inNode(initPid, '/proc');
  if (!(await isAlive(pid, procRoot))) return undefined;
  if (u.comm && (await processComm(pid, procRoot)) !== u.comm) return undefined;
  return pid;
}
