/** How PVE's Perl tools fail: a plain `die` message, or a PVE::Exception with an HTTP code. */

/** A Perl `die "...\n"`: the message goes to stderr as-is and the tool exits non-zero. */
export class Die extends Error {
  constructor(
    message: string,
    readonly exitCode = 255,
  ) {
    super(message);
  }
}

/** Options of a PVE::Exception. */
export interface PveExceptionOptions {
  code?: number;
  /** per-parameter messages (`param: msg` lines) */
  errors?: Record<string, string>;
  /** short usage appended by the CLI handler to parameter errors */
  usage?: string;
}

/** PVE::Exception: `<code> <msg>`, then `<param>: <msg>` lines, then the usage. */
export class PveException extends Error {
  constructor(
    readonly msg: string,
    readonly opts: PveExceptionOptions = {},
  ) {
    super(msg);
  }

  /** The text Perl prints for this exception (PVE::Exception::stringify). */
  render(): string {
    let out = this.opts.code ? `${this.opts.code} ${this.msg}` : this.msg;
    if (!out.endsWith('\n')) out += '\n';
    // Perl walks a hash here; sorted keys keep the output stable
    for (const k of Object.keys(this.opts.errors ?? {}).sort()) out += `${k}: ${this.opts.errors?.[k] ?? ''}\n`;
    if (this.opts.usage) {
      out += this.opts.usage;
      if (!out.endsWith('\n')) out += '\n';
    }
    return out;
  }

  /** A 400 raised while checking parameters (the CLI handler adds the usage to these). */
  get isParamError(): boolean {
    return this.opts.code === 400;
  }
}

/** raise_param_exc: `400 Parameter verification failed.` with one line per parameter. */
export function paramError(errors: Record<string, string>): PveException {
  return new PveException('Parameter verification failed.\n', { code: 400, errors });
}

/** The text a failed tool prints for an error, newline-terminated. */
export function errorText(e: unknown): string {
  if (e instanceof PveException) return e.render();
  const msg = e instanceof Error ? e.message : String(e);
  return msg.endsWith('\n') ? msg : `${msg}\n`;
}

/** The message of an error as a task records it: one line, no trailing newline. */
export function taskErrorText(e: unknown): string {
  return errorText(e).replace(/\n+$/, '').replace(/\n/g, ' ');
}

/** Node's error code (ENOENT, EROFS, …) of a failed fs call, if any. */
export function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}
