/** SSH transport: the system `ssh`, key auth only, one multiplexed TCP connection per node. */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { runProcess } from './process.js';
import { shJoin, shQuote } from './quote.js';
import { sshFailure, type SshEndpoint } from './ssh-errors.js';
import type { ExecOptions, ExecResult, Transport } from './types.js';

/** How to reach one node. */
export interface SshTarget extends SshEndpoint {
  user?: string;
  identityFile?: string;
  configFile?: string;
  connectTimeout: number;
}

/** Transport-wide SSH settings. */
export interface SshSettings {
  /** directory for control sockets and master logs (0700) */
  runtimeDir: string;
  /** seconds a master stays after its last use, so a second run is warm */
  controlPersist: number;
  /** concurrent new connections (sshd's MaxStartups drops the excess) */
  maxNewConnections: number;
}

/** ssh options common to masters, clients and `-O` control commands. Never weakens host-key checks. */
export function sshBaseArgs(t: SshTarget, s: Pick<SshSettings, 'runtimeDir'>): string[] {
  const args = [
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${t.connectTimeout}`,
    '-o', `ControlPath=${path.join(s.runtimeDir, 'cm-%C')}`,
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=3',
  ];
  if (t.configFile) args.push('-F', t.configFile);
  if (t.identityFile) args.push('-i', t.identityFile);
  if (t.knownHostsFile) args.push('-o', `UserKnownHostsFile=${t.knownHostsFile}`);
  if (t.port !== undefined) args.push('-p', String(t.port));
  if (t.user) args.push('-l', t.user);
  return args;
}

/**
 * The remote command line: a marker on both streams first, so anything a login shell prints
 * before it (.bashrc noise) is cut away, and so ssh's own exit 255 can be told from the
 * command's; then the quoted argv under the C locale.
 */
export function remoteCommand(argv: readonly string[], marker: string): string {
  const m = shQuote(marker);
  return `printf '%s\\n' ${m}; printf '%s\\n' ${m} >&2; LC_ALL=C; LANG=C; export LC_ALL LANG; exec ${shJoin(argv)}`;
}

/** Everything after the marker line, or undefined when the marker never came. */
export function afterMarker(text: string, marker: string): string | undefined {
  const at = text.indexOf(marker + '\n');
  if (at < 0) return undefined;
  return text.slice(at + marker.length + 1);
}

/** A small counting semaphore (caps concurrent connection set-ups). */
class Gate {
  private active = 0;
  private waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** SSH transport over a fixed set of named targets. */
export class SshTransport implements Transport {
  private readonly ready = new Map<string, Promise<void>>();
  private readonly gate: Gate;
  private readonly marker = `__pvx_${randomBytes(6).toString('hex')}__`;

  constructor(
    private readonly targets: ReadonlyMap<string, SshTarget>,
    private readonly settings: SshSettings,
  ) {
    this.gate = new Gate(settings.maxNewConnections);
    mkdirSync(settings.runtimeDir, { recursive: true, mode: 0o700 });
  }

  /** The target of a node name (throws on an unknown name: a bug, callers validate first). */
  target(node: string): SshTarget {
    const t = this.targets.get(node);
    if (!t) throw new Error(`no SSH target for node '${node}'`);
    return t;
  }

  async exec(node: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const t = this.target(node);
    await this.connect(node, t);
    const args = [...sshBaseArgs(t, this.settings), '-o', 'ControlMaster=no', '-T', t.host, remoteCommand(argv, this.marker)];
    const r = await runProcess('ssh', args, {
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    const out = afterMarker(r.stdout, this.marker);
    const err = afterMarker(r.stderr, this.marker);
    if (out === undefined) {
      if (r.timedOut) return { exitCode: 124, stdout: '', stderr: `timed out after ${opts.timeoutMs} ms`, durationMs: r.durationMs };
      // the remote shell never ran: ssh itself failed (its exit is 255) or the session broke
      throw sshFailure(t, r.stderr);
    }
    return {
      exitCode: r.timedOut ? 124 : r.exitCode,
      stdout: out,
      stderr: err ?? r.stderr,
      durationMs: r.durationMs,
    };
  }

  /** Open (or reuse) this node's control master once per run; later commands ride on it. */
  private connect(node: string, t: SshTarget): Promise<void> {
    let p = this.ready.get(node);
    if (!p) {
      p = this.gate.run(() => this.ensureMaster(t));
      this.ready.set(node, p);
      // a failed connect is reported to every caller of this run, not retried per command
    }
    return p;
  }

  private async ensureMaster(t: SshTarget): Promise<void> {
    const base = sshBaseArgs(t, this.settings);
    const check = await runProcess('ssh', [...base, '-O', 'check', t.host]);
    if (check.exitCode === 0) return;
    const log = path.join(this.settings.runtimeDir, `master-${process.pid}-${randomBytes(4).toString('hex')}.log`);
    try {
      // -f backgrounds the master after authentication; its stderr goes to a file, not a pipe,
      // so the persisting master never holds one of our pipes open.
      const r = await runProcess(
        'ssh',
        [...base, '-o', 'ControlMaster=yes', '-o', `ControlPersist=${this.settings.controlPersist}`, '-f', '-N', t.host],
        { stderrFile: log, timeoutMs: (t.connectTimeout + 10) * 1000 },
      );
      if (r.exitCode !== 0) throw sshFailure(t, safeRead(log) || r.stderr);
    } finally {
      rmSync(log, { force: true });
    }
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
