/** The one interface through which every remote (or local) command runs. */

/** Options of one command. */
export interface ExecOptions {
  /**
   * true when the command changes the node: journaled and shown as such, and dry-run never runs it.
   * false does not let a command run under dry-run: only a known read does (known-reads.ts).
   */
  mutates?: boolean;
  timeoutMs?: number;
  /** fed on stdin; never logged or journaled (passwords travel only this way) */
  input?: string;
  /** short human title of the step, for verbose output and the dry-run plan */
  title?: string;
  /**
   * Talk to the command while it runs (only where the transport can: see `conversations`): lines
   * of its stdout as they come, and its stdin. exec resolves once the command has ended and this
   * has returned; the result still holds all of stdout. Not with `input`.
   */
  converse?(c: Conversation): Promise<void>;
}

/** A running command's stdout, line by line, and its stdin. */
export interface Conversation {
  /** the next whole line of stdout without its newline; undefined once stdout has ended */
  line(): Promise<string | undefined>;
  write(text: string): void;
  /** close stdin */
  end(): void;
}

/** What a finished command returned; a non-zero exit is data, not an exception. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** true when dry-run recorded the command instead of running it */
  skipped?: boolean;
  /** true when the command was cut off (its connection broke, or its time limit): whether it ran to its end is unknown */
  cutOff?: boolean;
}

/** Runs argv on a named node. Throws UnreachableError when the node cannot be reached. */
export interface Transport {
  exec(node: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** true when exec honours `converse`; a transport without it runs each exchange as its own command */
  readonly conversations?: boolean;
  /** release connections a run opened (control masters persist by design; this only forgets state) */
  close?(): Promise<void>;
}

/** A command that dry-run recorded instead of running: one that mutates, or one not known as a read. */
export interface PlannedCommand {
  node: string;
  title: string;
  command: string[];
  mutates: true;
  /** the caller did not flag it as mutating, but its shape is not a known read */
  unflagged?: true;
}

/** Called after every command, for --verbose and the journal. */
export type ExecObserver = (event: {
  node: string;
  argv: readonly string[];
  mutates: boolean;
  result: ExecResult | undefined;
  error?: unknown;
  hasInput: boolean;
}) => void;
