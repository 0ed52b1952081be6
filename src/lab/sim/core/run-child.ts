/**
 * Run a program and collect its output with node:child_process alone. The simulated tools start
 * a Node process per call, and loading execa (≈140 modules) cost more CPU than the tool's own
 * work; results match lab/process.ts's runProcess for the options the tools use.
 */
import { spawn } from 'node:child_process';
// the type only: it vanishes from the build, so a tool never loads the runner (and execa) itself
import type { ProcessResult } from '../../process.js';

/** A finished child: a non-zero exit, a signal or a timeout is data, not an exception (the lab runner's result). */
export type ChildResult = ProcessResult;

/** What a simulated tool may ask of a child process. */
export interface ChildOptions {
  /** written to the child's stdin, which is then closed; without it stdin is /dev/null */
  input?: string;
  /** SIGTERM after this long (SIGKILL 5 s later), reported as exit code 124 */
  timeoutMs?: number;
  /** variables set on top of this process's environment */
  env?: NodeJS.ProcessEnv;
}

const FORCE_KILL_AFTER_MS = 5_000;

/** Run `file` with `args` (no shell); a non-zero exit, a signal or a failed start is data, not an exception. */
export function runChild(file: string, args: readonly string[], opts: ChildOptions = {}): Promise<ChildResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(file, [...args], {
      stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    let timedOut = false;
    let forceKill: NodeJS.Timeout | undefined;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
          forceKill = setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
          forceKill.unref();
        }, opts.timeoutMs)
      : undefined;
    let spawnError: Error | undefined;
    child.once('error', (e) => {
      spawnError = e;
    });
    if (opts.input !== undefined && child.stdin) {
      // a child that exits without reading its input must not fail the call (EPIPE)
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    // after a failed start 'close' still comes, with a negative errno as the code
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (forceKill) clearTimeout(forceKill);
      const r: ChildResult = {
        exitCode: typeof code === 'number' ? code : timedOut ? 124 : 128,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Date.now() - started,
      };
      if (signal) r.signal = signal;
      if (timedOut) r.timedOut = true;
      if (spawnError && child.pid === undefined) {
        // the program could not start (ENOENT, EACCES): keep the reason readable
        r.exitCode = 127;
        r.stderr = r.stderr || spawnError.message;
      }
      resolve(r);
    });
  });
}
