/**
 * `pvecm status` (a "Cluster information" header from corosync.conf, then `corosync-quorumtool -siH`)
 * and `pvecm nodes` (`corosync-quorumtool -l`), reference §1.5.
 */
import { clusterNameProblem } from '../names.js';
import { ParseError } from './errors.js';
import {
  findMembershipHeader,
  parseMembershipRows,
  parseQuorumBlocks,
  type Membership,
  type QdeviceMemberState,
  type QdeviceVote,
  type QuorumInfo,
} from './quorumtool.js';
import { labelledValues, meaningfulLines, requireText, splitLines, toInt, type CommandOutput } from './text.js';

const TOOL = 'pvecm status';

/** The header pvecm prints from the totem section of corosync.conf. */
export interface PvecmClusterInfo {
  name: string;
  configVersion: number;
  transport: string;
  secureAuth: boolean;
}

/** A member as `pvecm status` shows it: by its link-0 IP address (quorumtool `-i`). */
export interface PvecmMember {
  nodeid: number;
  votes: number;
  qdevice?: QdeviceMemberState;
  address: string;
  local: boolean;
  extraInfo?: string;
}

/**
 * Parsed `pvecm status`. `cluster` is absent when the header was not printed (empty totem section)
 * or was cut from a capture; the quorum part is always required.
 */
export interface PvecmStatus {
  cluster?: PvecmClusterInfo;
  quorum: QuorumInfo;
  members: PvecmMember[];
  qdevice?: QdeviceVote;
  /** membership rows that could not be read (see Membership.unrecognized) */
  unrecognized: string[];
}

const STANDALONE = /Corosync config '[^']*corosync\.conf' does not exist - is this node part of a cluster\?/;

/** True for the error pvecm prints on a node that is not in a cluster (no corosync.conf). */
export function isStandaloneError(stderr: string): boolean {
  return typeof stderr === 'string' && STANDALONE.test(stderr);
}

function parseClusterHeader(lines: readonly string[]): PvecmClusterInfo | undefined {
  const kv = labelledValues(lines);
  if (!kv.has('Name') && !kv.has('Config Version') && !lines.some((l) => l.trim() === 'Cluster information')) return undefined;
  const need = (label: string): string => {
    const v = kv.get(label);
    if (v === undefined) throw new ParseError(TOOL, `"Cluster information" block lacks '${label}:'`, lines.join('\n'));
    return v;
  };
  const name = need('Name');
  // the name becomes part of backup paths and messages: only a name PVE itself accepts is passed on
  const problem = clusterNameProblem(name);
  if (problem) throw new ParseError(TOOL, `"Cluster information" block: ${problem}`, name);
  return {
    name,
    configVersion: toInt(TOOL, 'Config Version', need('Config Version')),
    transport: need('Transport'),
    secureAuth: need('Secure auth') === 'on',
  };
}

/** `pvecm status` stdout; also accepts captures that start at the Votequorum block. */
export function parsePvecmStatus(text: string): PvecmStatus {
  const lines = splitLines(requireText(TOOL, text));
  const header = findMembershipHeader(lines);
  if (header < 0) throw new ParseError(TOOL, 'no "Membership information" table found (output truncated or not pvecm status output)', text);
  const before = lines.slice(0, header);
  const quorumStart = before.findIndex((l) => /^(Quorum|Votequorum) information\s*$/.test(l.trim()));
  const clusterPart = quorumStart >= 0 ? before.slice(0, quorumStart) : before;
  const cluster = parseClusterHeader(clusterPart);
  const quorum = parseQuorumBlocks(quorumStart >= 0 ? before.slice(quorumStart) : before, TOOL, text);
  const membership = parseMembershipRows(lines, header, TOOL);
  const out: PvecmStatus = {
    quorum,
    members: membership.members.map((m) => {
      const member: PvecmMember = { nodeid: m.nodeid, votes: m.votes, address: m.name, local: m.local };
      if (m.qdevice) member.qdevice = m.qdevice;
      if (m.extraInfo !== undefined) member.extraInfo = m.extraInfo;
      return member;
    }),
    unrecognized: membership.unrecognized,
  };
  if (cluster) out.cluster = cluster;
  if (membership.qdevice) out.qdevice = membership.qdevice;
  return out;
}

/** `pvecm nodes` stdout (decimal ids, node names). */
export function parsePvecmNodes(text: string): Membership {
  const lines = splitLines(requireText('pvecm nodes', text));
  const header = findMembershipHeader(lines);
  if (header < 0) throw new ParseError('pvecm nodes', 'no "Membership information" table found', text);
  return parseMembershipRows(lines, header, 'pvecm nodes');
}

/** What a `pvecm status` run means, including the expected failures. */
export type PvecmStatusOutcome =
  | { kind: 'status'; status: PvecmStatus }
  | { kind: 'standalone' }
  /** corosync is not running (quorumtool cannot reach it); the header may still have been printed */
  | { kind: 'corosync-down'; message: string; cluster?: PvecmClusterInfo }
  | { kind: 'pmxcfs-down'; message: string }
  | { kind: 'error'; message: string };

const COROSYNC_DOWN = /Cannot initiali[sz]e (CMAP|QUORUM|CFG|VOTEQUORUM) service/;
const PMXCFS_DOWN = /pve configuration filesystem \(pmxcfs\) not mounted/;

/** Classify a `pvecm status` run; throws ParseError only when stdout claims success but is garbage. */
export function classifyPvecmStatus(out: CommandOutput): PvecmStatusOutcome {
  const stdout = typeof out?.stdout === 'string' ? out.stdout : '';
  const stderr = typeof out?.stderr === 'string' ? out.stderr : '';
  if (isStandaloneError(stderr) || isStandaloneError(stdout)) return { kind: 'standalone' };
  const pm = PMXCFS_DOWN.exec(stderr);
  if (pm) return { kind: 'pmxcfs-down', message: pm[0] };
  const cd = COROSYNC_DOWN.exec(stderr);
  if (cd) {
    const res: PvecmStatusOutcome = { kind: 'corosync-down', message: cd[0] };
    const lines = splitLines(stdout);
    if (findMembershipHeader(lines) < 0) {
      try {
        const cluster = parseClusterHeader(lines);
        if (cluster) res.cluster = cluster;
      } catch (err) {
        // a damaged header must not hide the fact that corosync is down
        if (!(err instanceof ParseError)) throw err;
      }
    }
    return res;
  }
  if (findMembershipHeader(splitLines(stdout)) >= 0) return { kind: 'status', status: parsePvecmStatus(stdout) };
  const last = meaningfulLines(stderr).pop();
  if (last !== undefined) return { kind: 'error', message: last };
  return { kind: 'status', status: parsePvecmStatus(stdout) };
}
