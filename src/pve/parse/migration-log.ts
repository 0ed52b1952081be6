/**
 * `qm migrate` / `pct migrate` output and migration task logs (reference §4.3), and task ids (UPID, §0.3).
 * On a terminal the task log goes to stdout without `TASK OK`; a failure ends with the task status
 * (`migration aborted` / `migration problems`) on stderr. Copies from the task viewer end in `TASK ...`.
 */
import { ParseError } from './errors.js';
import { requireText, splitLines, type CommandOutput } from './text.js';

/** A parsed task id `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`. */
export interface Upid {
  raw: string;
  node: string;
  pid: number;
  pstart: number;
  /** epoch seconds */
  starttime: number;
  /** qmigrate, vzmigrate, hamigrate, clusterjoin, ... */
  type: string;
  /** the guest id for guest tasks, may be empty */
  id: string;
  user: string;
}

const UPID = /UPID:([a-zA-Z0-9][a-zA-Z0-9.-]*):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):/;

/** Parse one UPID; throws when the text is not one. */
export function parseUpid(text: string): Upid {
  const src = requireText('upid', text).trim();
  const m = new RegExp(`^${UPID.source}$`).exec(src);
  if (!m) throw new ParseError('upid', 'not a task id (UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:)', src);
  return {
    raw: m[0],
    node: m[1] ?? '',
    pid: Number.parseInt(m[2] ?? '', 16),
    pstart: Number.parseInt(m[3] ?? '', 16),
    starttime: Number.parseInt(m[4] ?? '', 16),
    type: m[5] ?? '',
    id: m[6] ?? '',
    user: m[7] ?? '',
  };
}

/** The first UPID anywhere in the text (`pvesh create` on a task endpoint prints it last). */
export function findUpid(text: string): Upid | undefined {
  if (typeof text !== 'string') return undefined;
  const m = UPID.exec(text);
  return m ? parseUpid(m[0]) : undefined;
}

/** How a migration ended, as far as the output tells. */
export type MigrationOutcome =
  | 'success'
  /** failed in phase 1, nothing moved */
  | 'aborted'
  /** failed later; the guest may be half-moved or paused on the source */
  | 'problems'
  /** failed before or outside the migration phases (pre-checks, locks) */
  | 'failed'
  /** an HA-managed guest: only a request was queued, the LRM migrates it later */
  | 'ha-requested'
  /** no final line: output cut, or still running */
  | 'unknown';

/** What a migration's output says. */
export interface MigrationLog {
  outcome: MigrationOutcome;
  guestType?: 'vm' | 'ct';
  vmid?: number;
  target?: string;
  targetIp?: string;
  /** `task started by HA resource agent` was the first line */
  startedByHa: boolean;
  /** HH:MM:SS from the final line */
  duration?: string;
  durationSec?: number;
  /** the abort reason, the task error, or the last stderr line */
  reason?: string;
  /** text of every `ERROR: ...` line, timestamps removed */
  errors: string[];
  /** `OK`, `ERROR: <msg>` or `WARNINGS: <n>` when the log carries its final status line */
  taskStatus?: string;
  warnings?: number;
  upid?: Upid;
  firstTimestamp?: string;
  lastTimestamp?: string;
}

const TS = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (.*)$/;
const START = /^starting migration of (VM|CT) (\d+) to node '([^']+)' \(([^)]*)\)/;
const SUCCESS = /^migration finished successfully \(duration (\d+:\d{2}:\d{2})\)/;
const ABORTED = /^ERROR: migration aborted \(duration (\d+:\d{2}:\d{2})\): (.*)$/;
const PROBLEMS = /^ERROR: migration finished with problems \(duration (\d+:\d{2}:\d{2})\)/;
const HA_REQUEST = /^Requesting HA migration for (VM|CT) (\d+) to node (\S+)/;

function seconds(hms: string): number {
  const [h, m, s] = hms.split(':').map(Number);
  return (h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0);
}

/** Read a migration log (stdout or task log) plus the stderr of the CLI run, if any. */
export function parseMigrationLog(log: string, stderr = ''): MigrationLog {
  const lines = splitLines(requireText('migration log', log));
  const errLines = splitLines(typeof stderr === 'string' ? stderr : '')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const out: MigrationLog = { outcome: 'unknown', startedByHa: false, errors: [] };
  let success = false;
  let aborted = false;
  let problems = false;
  let haRequested = false;

  for (const raw of lines) {
    const full = raw.trim();
    if (full === '') continue;
    const ts = TS.exec(full);
    const text = ts ? (ts[2] ?? '') : full;
    if (ts) {
      out.firstTimestamp ??= ts[1];
      out.lastTimestamp = ts[1];
    }
    if (text === 'task started by HA resource agent') out.startedByHa = true;
    const start = START.exec(text);
    if (start) {
      out.guestType = start[1] === 'CT' ? 'ct' : 'vm';
      out.vmid = Number(start[2]);
      out.target = start[3] ?? '';
      out.targetIp = start[4] ?? '';
    }
    const ha = HA_REQUEST.exec(text);
    if (ha) {
      haRequested = true;
      out.guestType = ha[1] === 'CT' ? 'ct' : 'vm';
      out.vmid = Number(ha[2]);
      out.target = ha[3] ?? '';
    }
    const ok = SUCCESS.exec(text);
    if (ok) {
      success = true;
      out.duration = ok[1] ?? '';
    }
    const ab = ABORTED.exec(text);
    if (ab) {
      aborted = true;
      out.duration = ab[1] ?? '';
      out.reason = ab[2] ?? '';
    }
    const pr = PROBLEMS.exec(text);
    if (pr) {
      problems = true;
      out.duration = pr[1] ?? '';
    }
    if (text.startsWith('ERROR: ')) out.errors.push(text.slice('ERROR: '.length));
    const task = /^TASK (OK|ERROR: .*|WARNINGS: (\d+))$/.exec(text);
    if (task) {
      out.taskStatus = task[1] ?? '';
      if (task[2] !== undefined) out.warnings = Number(task[2]);
    }
    out.upid ??= findUpid(text);
  }
  for (const l of errLines) {
    const w = /^Task finished with (\d+) warning\(s\)!$/.exec(l);
    if (w) out.warnings = Number(w[1]);
    out.upid ??= findUpid(l);
  }
  if (out.duration !== undefined) out.durationSec = seconds(out.duration);

  const status = out.taskStatus?.startsWith('ERROR: ') ? out.taskStatus.slice('ERROR: '.length) : undefined;
  const lastErr = errLines.filter((l) => !/^Task finished with \d+ warning\(s\)!$/.test(l)).pop();
  const final = status ?? lastErr;
  if (aborted || final === 'migration aborted') out.outcome = 'aborted';
  else if (problems || final === 'migration problems') out.outcome = 'problems';
  else if (status !== undefined) {
    out.outcome = 'failed';
    out.reason ??= status;
  } else if (success) {
    // stderr noise (ssh warnings, banners) cannot outweigh the final success line
    out.outcome = 'success';
  } else if (lastErr !== undefined) {
    out.outcome = 'failed';
    out.reason ??= lastErr;
  } else if (haRequested) out.outcome = 'ha-requested';
  if ((out.outcome === 'aborted' || out.outcome === 'problems') && out.reason === undefined && out.errors.length > 0) {
    out.reason = out.errors[out.errors.length - 1];
  }
  return out;
}

/** Classify a finished `qm migrate`/`pct migrate` run; a non-zero exit without a recognised ending is a failure. */
export function classifyMigration(out: CommandOutput): MigrationLog {
  const res = parseMigrationLog(typeof out?.stdout === 'string' ? out.stdout : '', out?.stderr ?? '');
  if (out.exitCode !== undefined && out.exitCode !== 0 && (res.outcome === 'unknown' || res.outcome === 'success' || res.outcome === 'ha-requested')) {
    res.outcome = 'failed';
    res.reason ??= `exit code ${out.exitCode}`;
  }
  return res;
}
