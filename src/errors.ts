/** Exit codes and the error classes that map to them: the one table of CLI.md. */

/** Every exit code pvx uses, by meaning. */
export const EXIT = {
  OK: 0,
  STEP_FAILED: 1,
  USAGE: 2,
  PREFLIGHT_FAILED: 3,
  CHANGED_THEN_FAILED: 4,
  NOT_QUORATE: 5,
  UNREACHABLE: 6,
  CANCELLED: 130,
} as const;

/** One of the documented exit codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The documented meaning of each exit code (README and --help render this). */
export const EXIT_MEANINGS: ReadonlyArray<[ExitCode, string]> = [
  [EXIT.OK, 'success'],
  [EXIT.STEP_FAILED, 'a step failed; nothing was left half-changed (or it was undone)'],
  [EXIT.USAGE, 'usage, bad input or bad config; nothing ran on any node'],
  [EXIT.PREFLIGHT_FAILED, 'preflight failed; nothing changed'],
  [EXIT.CHANGED_THEN_FAILED, 'failed after changes; the message names the journal and the recovery command'],
  [EXIT.NOT_QUORATE, 'cluster not quorate'],
  [EXIT.UNREACHABLE, 'a node could not be reached over SSH'],
  [EXIT.CANCELLED, 'cancelled by the user'],
];

/** Options shared by every PvxError. */
export interface PvxErrorOptions {
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** Base of every expected failure; carries a stable code, an exit code and a hint. */
export class PvxError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, exitCode: ExitCode, message: string, opts: PvxErrorOptions = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = opts.hint;
    this.details = opts.details;
  }
}

/** Bad flags, arguments or values: exit 2, nothing ran. */
export class UsageError extends PvxError {
  constructor(message: string, opts: PvxErrorOptions = {}) {
    super('USAGE', EXIT.USAGE, message, opts);
  }
}

/** A malformed or missing inventory/settings file: exit 2, nothing ran. */
export class ConfigError extends PvxError {
  constructor(message: string, opts: PvxErrorOptions = {}) {
    super('CONFIG', EXIT.USAGE, message, opts);
  }
}

/** A node could not be reached (network, auth, host key): exit 6. */
export class UnreachableError extends PvxError {
  readonly node: string;
  /** true when the command surely never started (no login); false when the connection may have broken under it */
  readonly beforeCommand: boolean;
  constructor(node: string, message: string, opts: PvxErrorOptions & { code?: string; beforeCommand?: boolean } = {}) {
    super(opts.code ?? 'UNREACHABLE', EXIT.UNREACHABLE, message, opts);
    this.node = node;
    this.beforeCommand = opts.beforeCommand ?? false;
  }
}

/** Prerequisites not met: exit 3, nothing changed. */
export class PreflightError extends PvxError {
  constructor(message: string, opts: PvxErrorOptions = {}) {
    super('PREFLIGHT_FAILED', EXIT.PREFLIGHT_FAILED, message, opts);
  }
}

/** A step failed before anything changed (or its change was undone): exit 1. */
export class StepError extends PvxError {
  constructor(message: string, opts: PvxErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'STEP_FAILED', EXIT.STEP_FAILED, message, opts);
  }
}

/** A step failed after earlier steps changed the cluster: exit 4, with recovery advice. */
export class ChangedThenFailedError extends PvxError {
  constructor(message: string, opts: PvxErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'CHANGED_THEN_FAILED', EXIT.CHANGED_THEN_FAILED, message, opts);
  }
}

/** The cluster (or the partition we can see) has no quorum: exit 5. */
export class NotQuorateError extends PvxError {
  constructor(message: string, opts: PvxErrorOptions = {}) {
    super('NOT_QUORATE', EXIT.NOT_QUORATE, message, opts);
  }
}

/** The user said no, or pressed Ctrl-C: exit 130. */
export class CancelledError extends PvxError {
  constructor(message = 'cancelled', opts: PvxErrorOptions = {}) {
    super('CANCELLED', EXIT.CANCELLED, message, opts);
  }
}

/** Map anything thrown to an exit code (unexpected errors are 1). */
export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof PvxError ? err.exitCode : EXIT.STEP_FAILED;
}
