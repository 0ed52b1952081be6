/** `pvesr list` and `pvesr status` (reference §8.3); empty output or a header alone gives no jobs. */
import { nodeNameProblem } from '../names.js';
import { ParseError } from './errors.js';
import { requireText, splitLines, toInt, toNumber } from './text.js';

/** One replication job from `pvesr list`. */
export interface PvesrJob {
  /** `<vmid>-<jobnum>` */
  jobId: string;
  vmid: number;
  /** target node (the text prints `local/<node>`) */
  target: string;
  /** calendar event, may contain spaces (`mon..fri 22`) */
  schedule: string;
  /** MB/s; absent when unlimited (`-`) */
  rateMbps?: number;
  enabled: boolean;
}

/** One job state from `pvesr status`; times are node-local `YYYY-MM-DD_HH:MM:SS` strings. */
export interface PvesrJobStatus {
  jobId: string;
  vmid: number;
  enabled: boolean;
  target: string;
  lastSync?: string;
  /** absent when never scheduled; `pending` when due or overdue */
  nextSync?: string;
  durationSec?: number;
  failCount: number;
  /** OK, SYNCING, or the error of the last failed run */
  state: string;
}

/** Rows of a `pvesr` listing: the jobs read, and the rows that could not be read. */
export interface PvesrRows<T> {
  jobs: T[];
  /** rows kept rather than failing the listing; a job there is unknown to the caller */
  unrecognized: string[];
}

// `<vmid>-<jobnum>`, reference §8.3
const JOB_ID = /^([1-9][0-9]{2,8})-\d{1,9}$/;

function rows(tool: string, text: string, header: RegExp): string[] {
  const lines = splitLines(requireText(tool, text));
  if (lines.every((l) => l.trim() === '')) return [];
  const at = lines.findIndex((l) => header.test(l));
  if (at < 0) throw new ParseError(tool, 'header line not found', text);
  return lines.slice(at + 1).filter((l) => l.trim() !== '');
}

/** Read each row; a row `read` throws a ParseError for is kept in `unrecognized`. */
function readRows<T>(lines: readonly string[], read: (line: string) => T): PvesrRows<T> {
  const out: PvesrRows<T> = { jobs: [], unrecognized: [] };
  for (const line of lines) {
    try {
      // pvesr pads with spaces only: a control character means the row is not what it seems
      if (/[\u0000-\u001f\u007f]/.test(line)) throw new ParseError('pvesr', 'control character in a row', line);
      out.jobs.push(read(line));
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.unrecognized.push(line);
    }
  }
  return out;
}

function targetNode(tool: string, raw: string, line: string): string {
  const m = /^local\/(.+)$/.exec(raw);
  if (!m) throw new ParseError(tool, `unexpected target '${raw}'`, line);
  const node = m[1] ?? '';
  if (nodeNameProblem(node)) throw new ParseError(tool, `target '${raw}' names no valid node`, line);
  return node;
}

function vmidOf(tool: string, jobId: string, line: string): number {
  const m = JOB_ID.exec(jobId);
  if (!m) throw new ParseError(tool, `unexpected job id '${jobId}'`, line);
  return Number(m[1]);
}

/** Parse `pvesr list`; only output without its header throws, an unreadable row is kept in `unrecognized`. */
export function parsePvesrList(text: string): PvesrRows<PvesrJob> {
  const tool = 'pvesr list';
  return readRows(rows(tool, text, /^\s*JobID\s+Target\s+Schedule\s+Rate\s+Enabled\s*$/), (line) => {
    const m = /^\s*(\S+)\s+(\S+)\s+(.*?)\s+(\S+)\s+(yes|no)\s*$/.exec(line);
    if (!m) throw new ParseError(tool, 'unexpected row', line);
    const jobId = m[1] ?? '';
    const job: PvesrJob = {
      jobId,
      vmid: vmidOf(tool, jobId, line),
      target: targetNode(tool, m[2] ?? '', line),
      schedule: m[3] ?? '',
      enabled: m[5] === 'yes',
    };
    if (m[4] !== '-') job.rateMbps = toNumber(tool, 'Rate', m[4]);
    return job;
  });
}

/** Parse `pvesr status` (only jobs whose guest lives on the local node are listed); unreadable rows as for `pvesr list`. */
export function parsePvesrStatus(text: string): PvesrRows<PvesrJobStatus> {
  const tool = 'pvesr status';
  const header = /^\s*JobID\s+Enabled\s+Target\s+LastSync\s+NextSync\s+Duration\s+FailCount\s+State\s*$/;
  return readRows(rows(tool, text, header), (line) => {
    const m = /^\s*(\S+)\s+(Yes|No)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)(?:\s+(.*?))?\s*$/.exec(line);
    if (!m) throw new ParseError(tool, 'unexpected row', line);
    const jobId = m[1] ?? '';
    const st: PvesrJobStatus = {
      jobId,
      vmid: vmidOf(tool, jobId, line),
      enabled: m[2] === 'Yes',
      target: targetNode(tool, m[3] ?? '', line),
      failCount: toInt(tool, 'FailCount', m[7]),
      state: m[8] ?? '',
    };
    if (m[4] !== '-') st.lastSync = m[4];
    if (m[5] !== '-') st.nextSync = m[5];
    if (m[6] !== '-') st.durationSec = toNumber(tool, 'Duration', m[6]);
    return st;
  });
}
