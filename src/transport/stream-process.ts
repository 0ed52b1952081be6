/**
 * Running one process on node:child_process directly, for the SSH hot path: a process library
 * (execa, measured) costs about 0.13 s to import and a few ms per spawn, and a conversation needs
 * stdout as it arrives and stdin held open, which is all this does.
 */
import { spawn } from 'node:child_process';
import type { LineFeed } from './line-feed.js';
import type { ExecOptions } from './types.js';

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

/** Options of startStream. */
export interface StreamOptions {
  /** written to stdin, which is then closed */
  input?: string;
  /** keep stdin open for write()/end() instead of closing it at once */
  interactive?: boolean;
  timeoutMs?: number;
  /** the whole environment (default: this process's) */
  env?: NodeJS.ProcessEnv;
  /** told each stdout chunk as it arrives */
  onStdout?(chunk: string): void;
}

/** A started process. */
export interface StreamProcess {
  write(text: string): void;
  end(): void;
  /** SIGTERM now, SIGKILL if it is still there after a grace period */
  kill(): void;
  /** resolves once the process has exited and both streams have closed */
  done: Promise<ProcessResult>;
}

// after a timeout's SIGTERM, how long a process may take to go
const KILL_GRACE_MS = 2000;

/** Start a program with an argv (no shell); never rejects: a spawn failure is exit code 127. */
export function startStream(file: string, args: readonly string[], opts: StreamOptions = {}): StreamProcess {
  const started = performance.now();
  // a group of its own: Ctrl-C in a terminal signals the whole foreground group, and pvx stops
  // between steps, so the command under way must keep its ssh until it has finished
  const child = spawn(file, [...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...(opts.env ? { env: opts.env } : {}) });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  let spawnError: Error | undefined;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    stdout += d;
    opts.onStdout?.(d);
  });
  child.stderr.on('data', (d: string) => (stderr += d));
  // a peer that is gone makes writes fail; the exit code tells the story
  child.stdin.on('error', () => undefined);
  const timers: NodeJS.Timeout[] = [];
  const kill = () => {
    child.kill('SIGTERM');
    timers.push(setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS));
  };
  if (opts.timeoutMs) {
    timers.push(
      setTimeout(() => {
        timedOut = true;
        kill();
      }, opts.timeoutMs),
    );
  }
  const done = new Promise<ProcessResult>((resolve) => {
    child.once('error', (e) => (spawnError = e));
    child.once('close', (code, signal) => {
      timers.forEach(clearTimeout);
      const r: ProcessResult = { exitCode: code ?? (timedOut ? 124 : 128), stdout, stderr, durationMs: Math.round(performance.now() - started) };
      if (spawnError) {
        r.exitCode = 127;
        r.stderr = stderr || spawnError.message;
      }
      if (signal) r.signal = signal;
      if (timedOut) {
        r.timedOut = true;
        r.exitCode = 124;
      }
      resolve(r);
    });
  });
  if (opts.input !== undefined) child.stdin.end(opts.input);
  else if (!opts.interactive) child.stdin.end();
  return {
    write: (text) => {
      if (child.stdin.writable) child.stdin.write(text);
    },
    end: () => {
      if (child.stdin.writable) child.stdin.end();
    },
    kill,
    done,
  };
}

/**
 * Run opts.converse against a started process; resolves with what it threw (undefined when it
 * did not), never rejects, so a failed conversation cannot go unhandled while the process ends.
 * A conversation that fails closes stdin, so the command is not left waiting for it.
 */
export function converseWith(opts: ExecOptions, feed: LineFeed, proc: StreamProcess): Promise<unknown> {
  if (!opts.converse) return Promise.resolve(undefined);
  return opts.converse({ line: () => feed.line(), write: (s) => proc.write(s), end: () => proc.end() }).then(
    () => undefined,
    (e: unknown) => {
      proc.end();
      return e ?? new Error('the conversation failed');
    },
  );
}
