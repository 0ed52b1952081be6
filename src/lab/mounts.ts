/** Mount table reading (/proc/PID/mountinfo) and unmounting of the lab's host-side mounts. */
import { readFile } from 'node:fs/promises';

/** One line of mountinfo. */
export interface MountEntry {
  id: number;
  mountPoint: string;
  fsType: string;
  source: string;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parse the text of a mountinfo file. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    const f = left?.split(' ') ?? [];
    const r = right?.split(' ') ?? [];
    if (f.length < 5 || r.length < 2) continue;
    out.push({ id: Number(f[0]), mountPoint: unescapeOctal(f[4] ?? ''), fsType: r[0] ?? '', source: unescapeOctal(r[1] ?? '') });
  }
  return out;
}

/** Mounts as seen by `pid` (default: this process). */
export async function readMounts(pid: number | 'self' = 'self'): Promise<MountEntry[]> {
  return parseMountInfo(await readFile(`/proc/${pid}/mountinfo`, 'utf8'));
}

/** True when `p` is `dir` or lies below it. */
export function isUnder(p: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  return p === d || p.startsWith(`${d}/`);
}

/** Mount points (deepest first, stacked mounts repeated) matching `pred`, from this process's mount table. */
export async function mountPointsWhere(pred: (m: MountEntry) => boolean): Promise<string[]> {
  const ms = (await readMounts()).filter(pred);
  const depth = (m: MountEntry): number => m.mountPoint.split('/').length;
  // children before parents; among mounts stacked on one point, the newer (higher id) first
  return ms.sort((a, b) => depth(b) - depth(a) || b.id - a.id).map((m) => m.mountPoint);
}

/** Unmount each mount point (in order); lazily if busy. Returns the ones that could not be unmounted. */
export async function unmountAll(points: readonly string[]): Promise<string[]> {
  const { runProcess } = await import('./process.js');
  const failed: string[] = [];
  for (const p of points) {
    const r = await runProcess('umount', [p]);
    if (r.exitCode === 0) continue;
    const lazy = await runProcess('umount', ['-l', p]);
    if (lazy.exitCode !== 0) failed.push(`${p}: ${(lazy.stderr || r.stderr).trim()}`);
  }
  return failed;
}
