/** Closing ssh ControlMaster connections to lab nodes (after a clock change, and at `down`). */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { runProcess } from './process.js';

// where the tool that uses the lab keeps its `cm-%C` control sockets: it tells the lab (setSshControlDirs),
// the lab does not know its settings
let controlDirs: readonly string[] = [];

/** Name the directories whose ssh control sockets the lab closes when a node's environment changes and at `down`. */
export function setSshControlDirs(dirs: readonly string[]): void {
  controlDirs = [...new Set(dirs)];
}

async function hasSockets(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some((n) => n.startsWith('cm-'));
  } catch {
    return false;
  }
}

/**
 * Ask ssh to close the masters to `addresses` (user root, port 22, as the lab inventory says).
 * ssh computes %C from the same user/host/port as pvx's transport, so no hash is guessed here.
 * A session multiplexed over an old master keeps the environment of when it was opened (pitfall 6).
 */
export async function closeMasters(addresses: readonly string[]): Promise<number> {
  const dirs: string[] = [];
  for (const d of controlDirs) if (await hasSockets(d)) dirs.push(d);
  const attempts: Array<Promise<boolean>> = [];
  for (const addr of addresses) {
    const base = ['-o', 'BatchMode=yes', '-l', 'root', '-p', '22', '-O', 'exit', addr];
    for (const d of dirs) {
      attempts.push(runProcess('ssh', ['-o', `ControlPath=${path.join(d, 'cm-%C')}`, ...base], { timeoutMs: 5000 }).then((r) => r.exitCode === 0));
    }
    // a ControlPath from the user's own ssh_config, if any
    attempts.push(runProcess('ssh', base, { timeoutMs: 5000 }).then((r) => r.exitCode === 0));
  }
  return (await Promise.all(attempts)).filter(Boolean).length;
}
