/** Reading /proc: which processes live in which namespaces, whether a PID is alive, killing by PID. */
import { readdir, readFile, readlink, stat } from 'node:fs/promises';

/** Namespace kinds the lab creates. */
export type NsKind = 'net' | 'mnt' | 'uts' | 'pid';

/** Inode of a namespace file (a bind-mounted ns, /run/netns/X or /proc/PID/ns/X), or undefined. */
export async function nsInode(file: string): Promise<number | undefined> {
  try {
    const s = await stat(file);
    return s.ino;
  } catch {
    return undefined;
  }
}

/** Inode of the namespace of kind `kind` that `pid` is in (as seen from `procRoot`), or undefined. */
export async function processNs(pid: number, kind: NsKind, procRoot = '/proc'): Promise<number | undefined> {
  try {
    const link = await readlink(`${procRoot}/${pid}/ns/${kind}`);
    const m = /\[(\d+)\]$/.exec(link);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** State letter of a process (R, S, Z, …) from /proc/PID/stat, or undefined when it is gone. */
export async function processState(pid: number, procRoot = '/proc'): Promise<string | undefined> {
  try {
    const s = await readFile(`${procRoot}/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses; the state follows the last ')'
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) || undefined;
  } catch {
    return undefined;
  }
}

/** True when the process exists and is not a zombie (a zombie has exited, its parent just has not reaped it). */
export async function isAlive(pid: number, procRoot = '/proc'): Promise<boolean> {
  const st = await processState(pid, procRoot);
  return st !== undefined && st !== 'Z' && st !== 'X';
}

/** /proc/PID/comm, or undefined. */
export async function processComm(pid: number, procRoot = '/proc'): Promise<string | undefined> {
  try {
    return (await readFile(`${procRoot}/${pid}/comm`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Every numeric entry of /proc (all PIDs visible from here). */
export async function allPids(procRoot = '/proc'): Promise<number[]> {
  const names = await readdir(procRoot);
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Sets of namespace inodes; a process matches when any of its namespaces is in the matching set. */
export interface NsSelector {
  net?: ReadonlySet<number>;
  mnt?: ReadonlySet<number>;
  pid?: ReadonlySet<number>;
  uts?: ReadonlySet<number>;
}

/** Live (non-zombie) PIDs of this machine that are in any of the selected namespaces. */
export async function pidsInNamespaces(sel: NsSelector): Promise<number[]> {
  const kinds = (Object.keys(sel) as NsKind[]).filter((k) => (sel[k]?.size ?? 0) > 0);
  if (kinds.length === 0) return [];
  const found: number[] = [];
  await Promise.all(
    (await allPids()).map(async (pid) => {
      if (pid === process.pid) return;
      for (const k of kinds) {
        const ino = await processNs(pid, k);
        if (ino !== undefined && sel[k]?.has(ino)) {
          if (await isAlive(pid)) found.push(pid);
          return;
        }
      }
    }),
  );
  return found.sort((a, b) => a - b);
}

/** The host PID of PID 1 of the PID namespace with inode `pidNs`, or undefined. */
export async function findNsInit(pidNs: number): Promise<number | undefined> {
  for (const pid of await allPids()) {
    if ((await processNs(pid, 'pid')) !== pidNs) continue;
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const m = /^NSpid:\s*(.*)$/m.exec(status);
      const ids = m?.[1]?.trim().split(/\s+/) ?? [];
      if (ids[ids.length - 1] === '1' && (await isAlive(pid))) return pid;
    } catch {
      /* exited meanwhile */
    }
  }
  return undefined;
}

/** Send `signal` to each PID (ignoring ones already gone), then wait until all are gone or zombies. */
export async function killAndWait(pids: readonly number[], signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 5000): Promise<number[]> {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
  return waitGone(pids, timeoutMs);
}

/** Wait until none of `pids` is alive; returns the ones still alive at the deadline. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = [...pids];
  while (left.length > 0) {
    const alive = await Promise.all(left.map((p) => isAlive(p)));
    left = left.filter((_, i) => alive[i]);
    if (left.length === 0 || Date.now() > deadline) break;
    await sleep(25);
  }
  return left;
}

/** Resident memory of a process in KiB (VmRSS), 0 when unknown. */
export async function rssKiB(pid: number): Promise<number> {
  try {
    const m = /^VmRSS:\s*(\d+)\s*kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
