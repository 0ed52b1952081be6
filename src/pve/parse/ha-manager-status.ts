/**
 * `ha-manager status [--verbose]` (reference §5.3): PVE 8 (pve-ha-manager 4.0), 9.0 and 9.1+
 * (fencing line, watchdog field in lrm lines, disarm and CRS suffixes on the master line).
 */
import { nodeNameProblem } from '../names.js';
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

const TOOL = 'ha-manager status';

/** `quorum OK` or `quorum No quorum on node '<node>'!`. */
export interface HaQuorum {
  ok: boolean;
  message: string;
  node?: string;
}

/** HA disarm state (pve-ha-manager >= 5.1.3). */
export interface HaDisarm {
  /** disarming | disarmed */
  state: string;
  /** freeze | ignore */
  mode: string;
}

/** `master <node> (<state>, <time>)[ - <extra>...]`. */
export interface HaMaster {
  node: string;
  /** active | idle | old timestamp - dead? | detected time drift! */
  state: string;
  /** Perl localtime() string of the manager status timestamp, node-local time zone */
  time: string;
  /** everything after the closing parenthesis, without the leading ` - ` */
  extra?: string;
  disarm?: HaDisarm;
  /** `static` or `dynamic` when datacenter.cfg sets `crs: ha=...` (basic prints nothing) */
  crsMode?: string;
  /** text in parentheses after `load CRS`, e.g. `load imbalance: 2.9%` */
  crsDetail?: string;
  loadImbalancePercent?: number;
}

/** `fencing <state> (<CRM watchdog ...>)` (pve-ha-manager >= 5.1.3). */
export interface HaFencing {
  /** armed | standby | disarming | disarmed */
  state: string;
  resourceMode?: string;
  /** CRM watchdog active | CRM watchdog standby | CRM watchdog released */
  watchdog: string;
}

/** `lrm <node> (<state>[, <watchdog>], <time>)` or `lrm <node> (unable to read lrm status)`. */
export interface HaLrm {
  node: string;
  /** active | idle | wait_for_agent_lock | lost_agent_lock | maintenance mode | ... | unable to read lrm status */
  state: string;
  /** false when the LRM never wrote a status */
  readable: boolean;
  /** watchdog active | watchdog standby | watchdog released (pve-ha-manager >= 5.1.3) */
  watchdog?: string;
  time?: string;
}

/** `service <sid> (<node>, <state>)`. */
export interface HaService {
  sid: string;
  type: 'vm' | 'ct';
  vmid: number;
  /** absent when ha-manager prints `---` (node unknown) */
  node?: string;
  /** the verbose state: started, stopped, migrate, fence, error, queued, clearing error flag, ... */
  state: string;
}

/** Parsed `ha-manager status`. */
export interface HaManagerStatus {
  quorum: HaQuorum;
  master?: HaMaster;
  fencing?: HaFencing;
  lrms: HaLrm[];
  services: HaService[];
  /** `--verbose`: the JSON after `full cluster state:` */
  fullClusterState?: unknown;
  /**
   * lines this parser could not read (a type a newer version prints, or a known type in a shape it
   * does not know), kept rather than failing; the other lines are still read
   */
  unrecognized: string[];
}

// Perl scalar localtime(): "Wed Feb  7 13:30:06 2024" (pasted copies sometimes squeeze the double space)
const TIME = String.raw`[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}`;
const MASTER = new RegExp(String.raw`^(\S+) \((.+), (${TIME})\)(.*)$`);
const LRM_TIME = new RegExp(String.raw`^(.*), (${TIME})$`);

/** Parse the text after `quorum `. */
export function parseHaQuorum(status: string): HaQuorum {
  const out: HaQuorum = { ok: status === 'OK', message: status };
  const m = /^No quorum on node '(.*)'!$/.exec(status);
  if (m) out.node = m[1] ?? '';
  return out;
}

/** Parse the text after `master `. */
export function parseHaMaster(status: string): HaMaster {
  const m = MASTER.exec(status);
  if (!m) throw new ParseError(TOOL, 'unexpected master line', `master ${status}`);
  if (nodeNameProblem(m[1] ?? '')) throw new ParseError(TOOL, 'the master line names no valid node', `master ${status}`);
  const out: HaMaster = { node: m[1] ?? '', state: m[2] ?? '', time: m[3] ?? '' };
  const extra = (m[4] ?? '').replace(/^\s*-\s*/, '').trim();
  if (!extra) return out;
  out.extra = extra;
  for (const seg of extra.split(/\s+-\s+/)) {
    const d = /^(\S+), resource mode: (\S+)$/.exec(seg);
    if (d) {
      out.disarm = { state: d[1] ?? '', mode: d[2] ?? '' };
      continue;
    }
    const c = /^(\S+) load CRS(?: \((.*)\))?$/.exec(seg);
    if (c) {
      out.crsMode = c[1] ?? '';
      if (c[2] !== undefined) {
        out.crsDetail = c[2];
        const li = /load imbalance: ([\d.]+)%/.exec(c[2]);
        if (li) out.loadImbalancePercent = Number(li[1]);
      }
    }
  }
  return out;
}

/** Parse the text after `fencing `. */
export function parseHaFencing(status: string): HaFencing {
  const m = /^(\S+?)(?:, resource mode: (\S+))? \((CRM watchdog [^)]*)\)$/.exec(status);
  if (!m) throw new ParseError(TOOL, 'unexpected fencing line', `fencing ${status}`);
  const out: HaFencing = { state: m[1] ?? '', watchdog: m[3] ?? '' };
  if (m[2] !== undefined) out.resourceMode = m[2];
  return out;
}

/** Parse the text after `lrm `. */
export function parseHaLrm(status: string): HaLrm {
  const m = /^(\S+) \((.*)\)$/.exec(status);
  if (!m) throw new ParseError(TOOL, 'unexpected lrm line', `lrm ${status}`);
  const node = m[1] ?? '';
  if (nodeNameProblem(node)) throw new ParseError(TOOL, 'the lrm line names no valid node', `lrm ${status}`);
  const inner = m[2] ?? '';
  if (inner === 'unable to read lrm status') return { node, state: inner, readable: false };
  const t = LRM_TIME.exec(inner);
  if (!t) throw new ParseError(TOOL, 'lrm line without a timestamp', `lrm ${status}`);
  const parts = (t[1] ?? '').split(', ');
  const out: HaLrm = { node, state: '', readable: true, time: t[2] ?? '' };
  const last = parts[parts.length - 1] ?? '';
  if (parts.length > 1 && /^watchdog \S+$/.test(last)) {
    out.watchdog = last;
    parts.pop();
  }
  out.state = parts.join(', ');
  return out;
}

/** Parse the text after `service `; undefined for SIDs that are not `vm:<id>`/`ct:<id>` or a node that is not a node name. */
export function parseHaService(status: string): HaService | undefined {
  const m = /^((vm|ct):([1-9]\d{2,8})) \(([^,]*), (.*)\)$/.exec(status);
  if (!m) return undefined;
  const out: HaService = { sid: m[1] ?? '', type: m[2] === 'ct' ? 'ct' : 'vm', vmid: Number(m[3]), state: m[5] ?? '' };
  // ha-manager prints `---` for a node it does not know; anything else must be a node name
  const node = m[4] ?? '';
  if (node !== '---') {
    if (nodeNameProblem(node)) return undefined;
    out.node = node;
  }
  return out;
}

/** Run one line's reader; a line it cannot read is kept in `unrecognized` instead of failing the whole output. */
function readLine(line: string, unrecognized: string[], read: () => unknown): void {
  try {
    read();
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    unrecognized.push(line);
  }
}

/**
 * Parse `ha-manager status` (and `--verbose`); throws only when there is no `quorum` line (not
 * ha-manager output at all) or the verbose JSON is cut. Any other line it cannot read is kept in
 * `unrecognized`.
 */
export function parseHaManagerStatus(text: string): HaManagerStatus {
  const lines = splitLines(requireText(TOOL, text));
  let quorum: HaQuorum | undefined;
  const out: Omit<HaManagerStatus, 'quorum'> = { lrms: [], services: [], unrecognized: [] };
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trimEnd();
    if (line.trim() === '') continue;
    if (line === 'full cluster state:') {
      const json = lines.slice(i + 1).join('\n');
      try {
        out.fullClusterState = JSON.parse(json) as unknown;
      } catch (err) {
        throw new ParseError(TOOL, "the JSON after 'full cluster state:' is invalid (output truncated?)", json, { cause: err });
      }
      break;
    }
    const sp = line.indexOf(' ');
    const type = sp < 0 ? line : line.slice(0, sp);
    const status = sp < 0 ? '' : line.slice(sp + 1);
    switch (type) {
      case 'quorum':
        quorum = parseHaQuorum(status);
        break;
      case 'master':
        readLine(line, out.unrecognized, () => (out.master = parseHaMaster(status)));
        break;
      case 'fencing':
        readLine(line, out.unrecognized, () => (out.fencing = parseHaFencing(status)));
        break;
      case 'lrm':
        readLine(line, out.unrecognized, () => out.lrms.push(parseHaLrm(status)));
        break;
      case 'service': {
        const s = parseHaService(status);
        if (s) out.services.push(s);
        else out.unrecognized.push(line);
        break;
      }
      default:
        out.unrecognized.push(line);
    }
  }
  if (!quorum) throw new ParseError(TOOL, "no 'quorum' line (not ha-manager status output?)", text);
  return { quorum, ...out };
}
