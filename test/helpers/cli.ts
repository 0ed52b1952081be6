/** Runs the built CLI (bin/pvx.js) as a user would, with an ssh spy on the PATH. */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { validEnvelope } from './json-schema.js';

/** Absolute path of the project. */
export const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);

/** Result of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `node bin/pvx.js …` with extra env; stdin is not a TTY. */
export function pvx(args: string[], env: Record<string, string> = {}, input?: string): CliResult {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'pvx.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    ...(input !== undefined ? { input } : { stdio: ['ignore', 'pipe', 'pipe'] }),
    timeout: 120_000,
  });
  // every --json document an end-to-end run prints must match the schema pvx ships for its command
  if (args.includes('--json')) validEnvelope(r.stdout ?? '');
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Like pvx, without blocking the test process (long lab runs); no timeout: the test's own applies. */
export function pvxAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'pvx.js'), ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    child.on('close', (code) => {
      if (args.includes('--json')) validEnvelope(stdout);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** A directory with an `ssh` that logs each call before running the real one; `calls()` reads the log. */
export function sshSpy(dir: string): { pathPrefix: string; calls(): string[] } {
  const bin = path.join(dir, 'spy-bin');
  mkdirSync(bin, { recursive: true });
  const log = path.join(dir, 'ssh-calls.log');
  // one record per call, ended by ASCII RS: a remote script spans lines
  writeFileSync(path.join(bin, 'ssh'), `#!/bin/sh\nprintf '%s\\036' "$*" >> '${log}'\nexec /usr/bin/ssh "$@"\n`);
  chmodSync(path.join(bin, 'ssh'), 0o755);
  return {
    pathPrefix: bin,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\x1e').filter(Boolean) : []),
  };
}

/** A run of pvxCtrlC: the result, and whether Ctrl-C was pressed. */
export interface CtrlCResult extends CliResult {
  pressed: boolean;
  /** the signal that ended pvx, when one did (Ctrl-C before pvx listens for it) */
  signal: NodeJS.Signals | null;
}

/** A pvx run in progress that a test can press Ctrl-C on. */
export interface CtrlCRun {
  /** SIGINT to the run's whole process group, as a terminal sends it (once) */
  press(): void;
  done: Promise<CtrlCResult>;
}

/**
 * Run the built CLI as a terminal's foreground job (a process group of its own); Ctrl-C is pressed
 * once `when` is true of its stderr so far, or by press(): SIGINT to the whole group, so every
 * process pvx started gets it too unless pvx keeps them apart.
 */
export function pvxCtrlC(args: string[], env: Record<string, string>, when: (stderr: string) => boolean = () => false): CtrlCRun {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'pvx.js'), ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  let pressed = false;
  let exited = false;
  const press = (): void => {
    if (pressed || exited || child.pid === undefined) return;
    pressed = true;
    process.kill(-child.pid, 'SIGINT');
  };
  child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (when(stderr)) press();
  });
  const done = new Promise<CtrlCResult>((resolve) =>
    child.on('close', (code, signal) => {
      exited = true;
      resolve({ code: code ?? -1, stdout, stderr, pressed, signal });
    }),
  );
  return { press, done };
}

/** Run a command line pvx printed (`continue with: pvx …`) as a user pastes it into sh, with `bin` (pvxOnPath) first on PATH. */
export function runPrinted(line: string | undefined, env: Record<string, string>, bin: string): CliResult {
  const r = spawnSync('sh', ['-c', line ?? 'false'], { encoding: 'utf8', env: { ...process.env, ...env, NO_COLOR: '1', PATH: `${bin}:${process.env['PATH']}` }, timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** A folder holding a `pvx` that runs the built CLI, to put first on PATH so a printed command line runs as printed. */
export function pvxOnPath(dir: string): string {
  const bin = path.join(dir, 'pvx-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, 'pvx'), `#!/bin/sh\nexec '${process.execPath}' '${path.join(ROOT, 'bin', 'pvx.js')}' "$@"\n`, { mode: 0o755 });
  return bin;
}
