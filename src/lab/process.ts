/** The one seam through which the lab starts local processes, on node:child_process; the product's own runner is transport/stream-process.ts (the lab shares no code with the product it tests). */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

/** Result of a finished process; a non-zero exit is data, not an exception. */
export interface ProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** set when the process was killed by a signal or timed out */
  signal?: string;
  timedOut?: boolean;
}

/** Options of runProcess. */
export interface ProcessOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
  /** replace the environment instead of extending process.env */
  cleanEnv?: boolean;
  cwd?: string;
  /** redirect stderr to a file (for daemons that fork and keep the fd) */
  stderrFile?: string;
  /** do not capture stdout/stderr at all */
  ignoreOutput?: boolean;
  /** share this process's stdin/stdout/stderr (interactive shells); stdout/stderr come back empty */
  inheritStdio?: boolean;
}

const FORCE_KILL_AFTER_MS = 5_000;

/**
 * Run a program with an argv (no shell) and collect its output. A non-zero exit, a signal, a time-out
 * (SIGTERM, then SIGKILL 5 s later; exit code 124) or a failed start (exit code 127 with the reason)
 * is data, not an exception.
 */
export function runProcess(file: string, args: readonly string[], opts: ProcessOptions = {}): Promise<ProcessResult> {
  const started = performance.now();
  const env = opts.cleanEnv ? { ...(opts.env ?? {}) } : opts.env ? { ...process.env, ...opts.env } : process.env;
  // a daemon that forks keeps its stderr open: a file, not a pipe this call would wait on
  const errFd = opts.stderrFile && !opts.inheritStdio ? openSync(opts.stderrFile, 'a') : undefined;
  const stdin = opts.inheritStdio ? 'inherit' : opts.input !== undefined ? 'pipe' : 'ignore';
  const output = opts.inheritStdio ? 'inherit' : opts.ignoreOutput || errFd !== undefined ? 'ignore' : 'pipe';
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, [...args], {
        stdio: [stdin, output, errFd ?? output],
        env,
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      });
    } finally {
      // the child holds its own copy of the descriptor
      if (errFd !== undefined) closeSync(errFd);
    }
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
      // a program that exits without reading its input must not fail the call (EPIPE)
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    // after a failed start 'close' still comes, with a negative errno as the code
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (forceKill) clearTimeout(forceKill);
      const r: ProcessResult = {
        exitCode: typeof code === 'number' && code >= 0 ? code : timedOut ? 124 : 128,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Math.round(performance.now() - started),
      };
      if (signal) r.signal = signal;
      if (timedOut) r.timedOut = true;
      if (spawnError && child.pid === undefined) {
        // the program could not start (ENOENT, EACCES): keep the reason readable
        r.exitCode = 127;
        r.stderr = r.stderr || `${file}: ${spawnError.message}`;
      }
      resolve(r);
    });
  });
}

/** Options of spawnDetached. */
export interface DetachedOptions {
  env?: Record<string, string | undefined>;
  /** replace the environment instead of extending process.env */
  cleanEnv?: boolean;
  cwd?: string;
  /** append stderr to this file (stdout is discarded); without it both go to /dev/null */
  stderrFile?: string;
}

/**
 * Start a long-running program in a session of its own and do not wait for it (a daemon that
 * stays in the foreground, e.g. `corosync -f`). Resolves with its PID once it has been spawned.
 */
export async function spawnDetached(file: string, args: readonly string[], opts: DetachedOptions = {}): Promise<number> {
  const errFd = opts.stderrFile ? openSync(opts.stderrFile, 'a') : undefined;
  try {
    const env = opts.cleanEnv ? { ...(opts.env ?? {}) } : { ...process.env, ...(opts.env ?? {}) };
    const child = spawn(file, [...args], {
      detached: true,
      stdio: ['ignore', 'ignore', errFd ?? 'ignore'],
      env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => (child.pid !== undefined ? resolve(child.pid) : reject(new Error(`${file}: no pid`))));
    });
    child.unref();
    return pid;
  } finally {
    if (errFd !== undefined) closeSync(errFd);
  }
}
