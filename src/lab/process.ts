/** The one seam through which the lab starts local processes (execa); the product's own runner is transport/stream-process.ts. */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { execa } from 'execa';

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

/** Run a program with an argv (no shell) and collect its output. */
export async function runProcess(file: string, args: readonly string[], opts: ProcessOptions = {}): Promise<ProcessResult> {
  const started = performance.now();
  const r = await execa(file, [...args], {
    reject: false,
    stripFinalNewline: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    extendEnv: !opts.cleanEnv,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.ignoreOutput ? { stdout: 'ignore' as const, stderr: 'ignore' as const } : {}),
    ...(opts.stderrFile ? { stdout: 'ignore' as const, stderr: { file: opts.stderrFile, append: true } } : {}),
    ...(opts.inheritStdio ? { stdin: 'inherit' as const, stdout: 'inherit' as const, stderr: 'inherit' as const } : {}),
  });
  const durationMs = Math.round(performance.now() - started);
  const out: ProcessResult = {
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : r.timedOut ? 124 : 128,
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    durationMs,
  };
  if (r.signal) out.signal = r.signal;
  if (r.timedOut) out.timedOut = true;
  if (r.failed && r.exitCode === undefined && !r.signal && !r.timedOut) {
    // spawn failure (ENOENT, EACCES): keep the reason readable
    out.exitCode = 127;
    out.stderr = out.stderr || String(r.message);
  }
  return out;
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
