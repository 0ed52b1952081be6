/**
 * Input of `pvx replication …`, checked before any node is touched: the guest, the target node,
 * the schedule (pvesr's calendar event format, as far as it can be told apart without a node), the
 * rate (MB/s, pvesr's minimum 1), the comment, and job references (`<vmid>-<n>` or a VMID).
 */
import { excerptOf } from '../../pve/parse/errors.js';
import { nodeNameProblem } from '../../pve/names.js';
import { VMID_MAX, VMID_MIN } from '../guest-selectors.js';

/** What `pvx replication add` was given, as typed. */
export interface ReplicationAddInput {
  guest: string;
  to?: string;
  schedule?: string;
  rate?: string;
  comment?: string;
}

/** `pvx replication add`, checked. */
export interface ReplicationAddOptions {
  vmid: number;
  target: string;
  schedule?: string;
  rateMbps?: number;
  comment?: string;
}

/** A job named by its id, or every job of a guest. */
export type JobRef = { kind: 'job'; id: string; vmid: number } | { kind: 'guest'; vmid: number };

// pvesr's job id format pve-replication-job-id (reference §8.3)
const JOB_ID = /^([1-9][0-9]{2,8})-(\d{1,9})$/;
// pvesr takes a rate of at least 1 MB/s (ReplicationConfig: minimum 1)
const RATE_MIN = 1;
// ReplicationConfig's maxLength of schedule and comment
const SCHEDULE_MAX = 128;
const COMMENT_MAX = 4096;
// PVE::CalendarEvent keywords (proxmox-time)
const KEYWORDS = new Set(['minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly', 'semiannually']);
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const FULL_DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
// one calendar component: `*`, a value, a range `a..b`, each optionally repeated `/n`; lists with commas
const ITEM = String.raw`(?:\*|\d{1,4}(?:\.\.\d{1,4})?)(?:\/\d{1,4})?`;
const LIST = `${ITEM}(?:,${ITEM})*`;
const TIME = new RegExp(`^${LIST}(?::${LIST}){0,2}$`);
const DATE = new RegExp(`^${LIST}(?:-${LIST}){1,2}$`);

/** Why a VMID is not one, or undefined. */
export function vmidProblem(text: string): string | undefined {
  if (!/^[0-9]{3,9}$/.test(text) || Number(text) < VMID_MIN) return `'${excerptOf(text)}' is not a VMID (VMIDs are whole numbers from ${VMID_MIN} to ${VMID_MAX})`;
  return undefined;
}

function isDay(word: string): boolean {
  const w = word.toLowerCase();
  return DAYS.includes(w) || FULL_DAYS.includes(w);
}

function weekdaysOk(token: string): boolean {
  return token.split(',').every((part) => {
    const [a, b, ...rest] = part.split('..');
    return rest.length === 0 && a !== undefined && isDay(a) && (b === undefined || isDay(b));
  });
}

/** The values of one calendar component that are out of range (`max` exclusive). */
function outOfRange(list: string, max: number): string[] {
  return (list.match(/\d+/g) ?? []).filter((n) => Number(n) >= max && !list.includes(`/${n}`));
}

function timeProblem(token: string): string | undefined {
  const parts = token.split(':');
  // a lone component is minutes (`*/15`); with a colon: hours, minutes and optionally seconds
  const limits = parts.length === 1 ? [60] : [24, 60, 60];
  for (const [i, p] of parts.entries()) {
    const bad = outOfRange(p, limits[i] ?? 60);
    if (bad.length > 0) return `${bad[0]} is out of range for ${parts.length === 1 ? 'minutes' : (['hours', 'minutes', 'seconds'][i] ?? 'seconds')}`;
  }
  return undefined;
}

/**
 * Why a schedule is certainly not a calendar event pvesr takes (`[WEEKDAY] [[YEARS-]MONTHS-DAYS]
 * [HOURS:MINUTES[:SECONDS]]` or a keyword), or undefined. What passes may still be refused by
 * pvesr create-local-job, which has the last word.
 */
export function scheduleProblem(s: string): string | undefined {
  const example = "e.g. '*/15' (every 15 minutes, the default), '*/5', 'mon..fri 22:00', 'sat 03:00', 'hourly', 'daily'";
  if (/[\u0000-\u001f\u007f]/.test(s)) return `--schedule contains control characters; ${example}`;
  if (s.trim() === '') return `--schedule is empty; ${example}`;
  if (s.length > SCHEDULE_MAX) return `--schedule is ${s.length} characters long; pvesr takes at most ${SCHEDULE_MAX}`;
  const tokens = s.trim().split(/\s+/);
  if (tokens.length === 1 && KEYWORDS.has((tokens[0] ?? '').toLowerCase())) return undefined;
  let i = 0;
  if (tokens[i] !== undefined && /^[a-z.,]+$/i.test(tokens[i] ?? '')) {
    if (!weekdaysOk(tokens[i] ?? '')) return `--schedule '${excerptOf(s)}' is not a calendar event: '${excerptOf(tokens[i])}' is neither a keyword (${[...KEYWORDS].join(', ')}) nor weekdays (mon..fri, sat,sun); ${example}`;
    i++;
  }
  if (tokens[i] !== undefined && DATE.test(tokens[i] ?? '')) i++;
  const time = tokens[i];
  if (time !== undefined) {
    if (!TIME.test(time)) return `--schedule '${excerptOf(s)}' is not a calendar event: '${excerptOf(time)}' is not a time (HOURS:MINUTES, or MINUTES as in */15); ${example}`;
    const p = timeProblem(time);
    if (p) return `--schedule '${excerptOf(s)}': ${p}`;
    i++;
  }
  if (i < tokens.length) return `--schedule '${excerptOf(s)}' is not a calendar event: '${excerptOf(tokens[i])}' is not understood there (the order is [WEEKDAYS] [[YEARS-]MONTHS-DAYS] [HOURS:MINUTES]); ${example}`;
  return undefined;
}

/** The rate in MB/s, or why it is not one pvesr takes. */
export function parseRate(text: string): { rate?: number; problem?: string } {
  if (!/^(\d+(\.\d+)?|\.\d+)$/.test(text)) return { problem: `--rate must be a number of MB/s (e.g. 10 or 12.5), got '${excerptOf(text)}'` };
  const rate = Number(text);
  if (!Number.isFinite(rate) || rate < RATE_MIN) return { problem: `--rate must be at least ${RATE_MIN} MB/s (pvesr's minimum), got '${excerptOf(text)}'; leave it out for no limit` };
  return { rate };
}

/** Check the input of `replication add`; every problem at once. */
export function parseAddOptions(input: ReplicationAddInput): { options?: ReplicationAddOptions; problems: string[] } {
  const problems: string[] = [];
  const vp = vmidProblem(input.guest);
  if (vp) problems.push(vp);
  if (input.to === undefined || input.to === '') problems.push('--to <node> is required: the node to replicate to');
  else {
    const np = nodeNameProblem(input.to);
    if (np) problems.push(`--to: ${np}`);
  }
  if (input.schedule !== undefined) {
    const sp = scheduleProblem(input.schedule);
    if (sp) problems.push(sp);
  }
  let rate: number | undefined;
  if (input.rate !== undefined) {
    const r = parseRate(input.rate);
    if (r.problem) problems.push(r.problem);
    rate = r.rate;
  }
  if (input.comment !== undefined) {
    if (/[\u0000-\u001f\u007f]/.test(input.comment)) problems.push('--comment contains control characters (a newline, a tab, an escape): write it on one line');
    else if (input.comment.length > COMMENT_MAX) problems.push(`--comment is ${input.comment.length} characters long; pvesr takes at most ${COMMENT_MAX}`);
  }
  if (problems.length > 0) return { problems };
  const options: ReplicationAddOptions = { vmid: Number(input.guest), target: input.to ?? '' };
  if (input.schedule !== undefined) options.schedule = input.schedule.trim();
  if (rate !== undefined) options.rateMbps = rate;
  if (input.comment !== undefined) options.comment = input.comment;
  return { options, problems };
}

/** A job id (`100-0`) or a VMID (every job of that guest), or why it is neither. */
export function parseJobRef(text: string): { ref?: JobRef; problem?: string } {
  const m = JOB_ID.exec(text);
  if (m) return { ref: { kind: 'job', id: text, vmid: Number(m[1]) } };
  if (/^[0-9]+$/.test(text)) {
    const p = vmidProblem(text);
    return p ? { problem: p } : { ref: { kind: 'guest', vmid: Number(text) } };
  }
  return { problem: `'${excerptOf(text)}' is neither a replication job id (<vmid>-<n>, e.g. 100-0) nor a VMID` };
}
