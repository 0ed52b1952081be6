/** Daemonising: the one place that starts a process without waiting for it (pmxcfs forks its server). */
import { spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync } from 'node:fs';

/** Start `node <script> <args>` detached in its own session; resolves with its pid once it reports ready. */
export function spawnDaemon(script: string, args: readonly string[], env: NodeJS.ProcessEnv, logFile: string, readyTimeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const log = openSync(logFile, 'a');
    const child = spawn(process.execPath, [script, ...args], {
      detached: true,
      env,
      stdio: ['ignore', log, log, 'ipc'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('child failed to send \'1\''));
    }, readyTimeoutMs);
    child.once('message', (m) => {
      clearTimeout(timer);
      if (m !== 'ready') {
        reject(new Error(String(m)));
        return;
      }
      child.disconnect();
      child.unref();
      resolve(child.pid ?? 0);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child failed to send '1' (exit ${code ?? 'signal'})`));
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** In the daemon: tell the starting parent that start-up finished. */
export function reportReady(): void {
  if (process.send) {
    process.send('ready');
    process.disconnect?.();
  }
}

/** In the daemon: tell the starting parent that start-up failed. */
export function reportFailure(message: string): void {
  if (process.send) process.send(message);
}

/** In the daemon: run `tick` every `pollMs` until SIGTERM or SIGINT (SIGHUP is ignored); a signal cuts the wait short. */
export async function pollUntilStopped(pollMs: number, tick: (stopping: () => boolean) => Promise<void>): Promise<void> {
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = (): void => {
    stopping = true;
    wake?.();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => undefined);
  while (!stopping) {
    await tick(() => stopping);
    if (stopping) break;
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, pollMs);
    });
  }
}

/** In the daemon: remove its pid file, unless another process has written its own there since. */
export function removeOwnPidFile(file: string): void {
  try {
    if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
  } catch {
    // pid file already gone
  }
}

/** Is a process with this pid alive (signal 0 only checks)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
