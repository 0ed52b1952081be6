/** SSH transport: the system `ssh`, key auth only, one multiplexed TCP connection per node. */
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { LineFeed } from './line-feed.js';
import { shJoin, shQuote } from './quote.js';
import { sshFailure, type SshEndpoint } from './ssh-errors.js';
import { converseWith, startStream } from './stream-process.js';
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
  /** Wait for a place; the returned function gives it back (once). */
  async enter(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }
}

/** A promise with its settle functions outside. */
function deferred(): { promise: Promise<void>; resolve(): void; reject(e: unknown): void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // a failure nobody else waits for is already reported by the command that met it
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * SSH transport over a fixed set of named targets. The first command to a node opens its
 * connection itself (ControlMaster=auto: that ssh authenticates, leaves a master behind for
 * ControlPersist seconds and runs the command over it), so a cold command costs one ssh process,
 * not three. Commands that come while it connects wait until its remote shell has spoken.
 */
export class SshTransport implements Transport {
  readonly conversations = true;
  private readonly opened = new Map<string, Promise<void>>();
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
    const waitFor = this.opened.get(node);
    if (waitFor) {
      // a failed connect is reported to every command of this run, not retried per command
      await waitFor;
      return this.run(t, argv, opts);
    }
    const open = deferred();
    this.opened.set(node, open.promise);
    const leave = await this.gate.enter();
    try {
      return await this.run(t, argv, opts, { opened: open.resolve, failed: open.reject, leave });
    } finally {
      leave();
      open.resolve();
    }
  }

  private async run(
    t: SshTarget,
    argv: readonly string[],
    opts: ExecOptions,
    opener?: { opened(): void; failed(e: unknown): void; leave(): void },
  ): Promise<ExecResult> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.runOnce(t, argv, opts, opener, attempt < 2 && !opts.converse);
      if (r !== 'not-started') return r;
    }
  }

  /**
   * One ssh process. Every ssh runs in a process group of its own (stream-process.ts), so a
   * terminal's Ctrl-C reaches it only in the moment between its fork and its own setsid, before
   * ssh itself starts: a process that died of SIGINT, silent, never ran the command, and when
   * `mayRestart` it is 'not-started' so the caller runs it again.
   */
  private async runOnce(
    t: SshTarget,
    argv: readonly string[],
    opts: ExecOptions,
    opener: { opened(): void; failed(e: unknown): void; leave(): void } | undefined,
    mayRestart: boolean,
  ): Promise<ExecResult | 'not-started'> {
    const args = [
      ...sshBaseArgs(t, this.settings),
      '-o', 'ControlMaster=auto',
      '-o', `ControlPersist=${this.settings.controlPersist}`,
      '-T', t.host, remoteCommand(argv, this.marker),
    ];
    let spoke = false;
    let stalled = false;
    const feed = new LineFeed(this.marker, () => {
      spoke = true;
      opener?.opened();
      opener?.leave();
    });
    const proc = startStream('ssh', args, {
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.converse ? { interactive: true } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      onStdout: (d) => feed.push(d),
    });
    // authentication that hangs must not wait for the command's own (possibly absent) timeout
    const connectTimer = setTimeout(() => {
      if (spoke) return;
      stalled = true;
      proc.kill();
    }, (t.connectTimeout + 10) * 1000);
    const talk = converseWith(opts, feed, proc);
    const r = await proc.done;
    clearTimeout(connectTimer);
    feed.close();
    const talked = await talk;
    if (mayRestart && r.signal === 'SIGINT' && !r.timedOut && !stalled && !spoke && r.stdout === '' && r.stderr === '') return 'not-started';
    const out = afterMarker(r.stdout, this.marker);
    const err = afterMarker(r.stderr, this.marker);
    if (out === undefined) {
      // the remote shell never ran: ssh itself failed (its exit is 255), the session broke, or
      // logging in took longer than the connect limit or the command's own timeout
      const limit = stalled ? `${t.connectTimeout + 10} s` : `${opts.timeoutMs} ms`;
      const why = stalled || r.timedOut ? `${r.stderr}ssh: ${t.host} did not let pvx log in within ${limit}\n` : r.stderr;
      const e = sshFailure(t, why);
      opener?.failed(e);
      throw e;
    }
    if (talked !== undefined) throw talked;
    let stderr = err ?? r.stderr;
    // ssh exits 255 when the connection breaks under a running command (a node gone, its link cut):
    // say so, since nothing else will; a command that itself exits 255 says something first, as a rule
    const silent = r.exitCode === 255 && !r.timedOut && stderr.trim() === '';
    if (silent) stderr = `the ssh connection to ${t.host} broke while the command ran (exit 255), or the command exited 255 without a word\n`;
    const lost = silent || (r.exitCode === 255 && !r.timedOut && brokenConnection(stderr));
    return {
      exitCode: r.timedOut ? 124 : r.exitCode,
      stdout: out,
      stderr,
      durationMs: r.durationMs,
      // a command stopped at its own time limit may also have done part of its work
      ...(lost || r.timedOut ? { cutOff: true } : {}),
    };
  }
}

/** ssh's own words, last on its stderr, for a session that broke under a running command. */
function brokenConnection(stderr: string): boolean {
  const last = stderr.trim().split('\n').pop() ?? '';
  return /^(Connection to \S+ closed by remote host\.|client_loop: send disconnect: .*|Timeout, server \S+ not responding\.|.*: Broken pipe)$/.test(last.trim());
}
