/**
 * corosync-quorumtool output: the quorum/votequorum blocks of `-s` and the membership table that
 * `-s` and `-l` share. `pvecm status` (`-siH`) and `pvecm nodes` (`-l`) are built on these.
 */
import { isIpAddress, nodeNameProblem } from '../names.js';
import { ParseError } from './errors.js';
import { labelledValues, requireText, splitLines, toInt, toNodeId } from './text.js';

/** Per-node QDevice flags (`A,V,NMW`); `NR` means the node has no QDevice registered. */
export interface QdeviceMemberState {
  raw: string;
  registered: boolean;
  alive: boolean;
  voting: boolean;
  masterWins: boolean;
}

/** One row of the membership table; `name` is a node name, or an IP with `-i`. */
export interface MembershipRow {
  nodeid: number;
  votes: number;
  qdevice?: QdeviceMemberState;
  name: string;
  local: boolean;
  /** QDevice extra info that newer corosync prints as ` [..]` after the name */
  extraInfo?: string;
}

/** The QDevice pseudo-row (node id 0); `voting` is false when the row ends with `(votes N)`. */
export interface QdeviceVote {
  name: string;
  votes: number;
  voting: boolean;
}

/** The membership table without the QDevice pseudo-row, which is reported separately. */
export interface Membership {
  members: MembershipRow[];
  qdevice?: QdeviceVote;
  /**
   * table rows this parser could not read, kept rather than failing; a caller that must see every
   * member (quorum, who is in the cluster) treats a non-empty list as an unreadable membership
   */
  unrecognized: string[];
}

/**
 * The "Quorum information" and "Votequorum information" blocks. Fields of the first block are
 * optional because captures are often cut to the votequorum part.
 */
export interface QuorumInfo {
  date?: string;
  provider?: string;
  nodes?: number;
  nodeId?: number;
  ringId?: string;
  quorate: boolean;
  expectedVotes: number;
  highestExpected: number;
  totalVotes: number;
  quorum: number;
  activityBlocked: boolean;
  flags: string[];
}

/** Parsed `corosync-quorumtool -s`. */
export interface QuorumtoolStatus extends Membership {
  quorum: QuorumInfo;
}

const HEADER = /^\s*Nodeid(\s+Votes)?(\s+Qdevice)?\s+Name\s*$/;
const QDEVICE_FLAGS = /^(NR|N?A,N?V,N?MW)$/;

/** Index of the membership table header, or -1. */
export function findMembershipHeader(lines: readonly string[]): number {
  return lines.findIndex((l) => HEADER.test(l));
}

function qdeviceState(raw: string): QdeviceMemberState {
  if (raw === 'NR') return { raw, registered: false, alive: false, voting: false, masterWins: false };
  const [a, v, mw] = raw.split(',');
  return { raw, registered: true, alive: a === 'A', voting: v === 'V', masterWins: mw === 'MW' };
}

type ReadRow = { kind: 'member'; row: MembershipRow } | { kind: 'qdevice'; qdevice: QdeviceVote };

/** One table row; a ParseError when it is not a row corosync prints. */
function readRow(raw: string, hasQdeviceColumn: boolean, tool: string): ReadRow {
  let rest = raw.trim();
  let local = false;
  if (rest.endsWith(' (local)') || rest === '(local)') {
    local = true;
    rest = rest.slice(0, -'(local)'.length).trimEnd();
  }
  let votesSuffix: number | undefined;
  const vs = /\s\(votes (\d+)\)$/.exec(rest);
  if (vs) {
    votesSuffix = Number(vs[1]);
    rest = rest.slice(0, vs.index).trimEnd();
  }
  const tokens = rest.split(/\s+/);
  const [idText, votesText] = tokens;
  if (tokens.length < 2 || !/^(0x[0-9a-fA-F]+|\d+)$/.test(idText ?? '') || !/^\d+$/.test(votesText ?? '')) {
    throw new ParseError(tool, 'unexpected line in membership table', raw);
  }
  const nodeid = toNodeId(tool, 'Nodeid', idText);
  const votes = toInt(tool, 'Votes', votesText);

  if (nodeid === 0) {
    // corosync reserves id 0 for the QDevice row; with an inactive device it shows 0 votes plus `(votes N)`
    return { kind: 'qdevice', qdevice: { name: tokens.slice(2).join(' '), votes: votesSuffix ?? votes, voting: votesSuffix === undefined } };
  }
  if (votesSuffix !== undefined) throw new ParseError(tool, '`(votes N)` on a row that is not the QDevice row', raw);

  let i = 2;
  let qd: QdeviceMemberState | undefined;
  if (hasQdeviceColumn) {
    const flags = tokens[2] ?? '';
    if (!QDEVICE_FLAGS.test(flags)) throw new ParseError(tool, `unexpected Qdevice flags '${flags}'`, raw);
    qd = qdeviceState(flags);
    i = 3;
  }
  const name = tokens[i] ?? '';
  // a member is named by its node name (-l) or its link address (-i); anything else is not a member row
  if (nodeNameProblem(name) !== undefined && !isIpAddress(name)) throw new ParseError(tool, `'${name}' is neither a node name nor an address`, raw);
  const tail = tokens.slice(i + 1).join(' ');
  const row: MembershipRow = { nodeid, votes, name, local };
  if (qd) row.qdevice = qd;
  if (tail) {
    const ex = /^\[(.*)\]$/.exec(tail);
    if (!ex) throw new ParseError(tool, 'unexpected text after the member name', raw);
    row.extraInfo = ex[1] ?? '';
  }
  return { kind: 'member', row };
}

/**
 * Rows after the header at `headerIndex`; hex or decimal ids, optional Qdevice column. A row that
 * cannot be read is kept in `unrecognized`; only a missing header or a table without rows throws.
 */
export function parseMembershipRows(lines: readonly string[], headerIndex: number, tool: string): Membership {
  const header = lines[headerIndex] ?? '';
  const m = HEADER.exec(header);
  if (!m) throw new ParseError(tool, 'membership table header not found', header);
  if (!m[1]) throw new ParseError(tool, 'membership table has no Votes column (quorum provider is not votequorum)', header);
  const hasQdeviceColumn = Boolean(m[2]);
  const out: Membership = { members: [], unrecognized: [] };

  for (const raw of lines.slice(headerIndex + 1)) {
    if (raw.trim() === '') continue;
    try {
      const r = readRow(raw, hasQdeviceColumn, tool);
      if (r.kind === 'qdevice') out.qdevice = r.qdevice;
      else out.members.push(r.row);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.unrecognized.push(raw);
    }
  }

  if (out.members.length === 0 && out.unrecognized.length === 0) {
    throw new ParseError(tool, 'membership table has no rows (output truncated?)', lines.slice(headerIndex).join('\n'));
  }
  return out;
}

/** Membership table of `corosync-quorumtool -l` (what `pvecm nodes` prints). */
export function parseMembership(text: string, tool = 'corosync-quorumtool -l'): Membership {
  const lines = splitLines(requireText(tool, text));
  const header = findMembershipHeader(lines);
  if (header < 0) throw new ParseError(tool, 'no "Membership information" table found', text);
  return parseMembershipRows(lines, header, tool);
}

/** The quorum and votequorum blocks found in `lines` (labels are unique across blocks). */
export function parseQuorumBlocks(lines: readonly string[], tool: string, context: string): QuorumInfo {
  const kv = labelledValues(lines);
  const need = (label: string): string => {
    const v = kv.get(label);
    if (v === undefined) throw new ParseError(tool, `missing '${label}:' line (no Votequorum information block; output truncated?)`, context);
    return v;
  };
  const quorumText = need('Quorum');
  const qm = /^(\d+)(?:\s+(Activity blocked))?\s*$/.exec(quorumText);
  if (!qm) throw new ParseError(tool, `unexpected Quorum value '${quorumText}'`, quorumText);
  const flags = (kv.get('Flags') ?? '').split(/\s+/).filter((f) => f.length > 0);
  const activityBlocked = Boolean(qm[2]);

  const info: QuorumInfo = {
    quorate: flags.includes('Quorate'),
    expectedVotes: toInt(tool, 'Expected votes', need('Expected votes')),
    highestExpected: toInt(tool, 'Highest expected', need('Highest expected')),
    totalVotes: toInt(tool, 'Total votes', need('Total votes')),
    quorum: toInt(tool, 'Quorum', qm[1]),
    activityBlocked,
    flags,
  };
  const quorate = kv.get('Quorate');
  if (quorate !== undefined) {
    if (quorate !== 'Yes' && quorate !== 'No') throw new ParseError(tool, `unexpected Quorate value '${quorate}'`, quorate);
    info.quorate = quorate === 'Yes';
  }
  const date = kv.get('Date');
  if (date !== undefined) info.date = date;
  const provider = kv.get('Quorum provider');
  if (provider !== undefined) info.provider = provider;
  const nodes = kv.get('Nodes');
  if (nodes !== undefined) info.nodes = toInt(tool, 'Nodes', nodes);
  const nodeId = kv.get('Node ID');
  if (nodeId !== undefined) info.nodeId = toNodeId(tool, 'Node ID', nodeId);
  const ringId = kv.get('Ring ID');
  if (ringId !== undefined) info.ringId = ringId;
  return info;
}

/** `corosync-quorumtool -s` in any id/name mode (`-H`, `-i`). */
export function parseQuorumtoolStatus(text: string, tool = 'corosync-quorumtool -s'): QuorumtoolStatus {
  const lines = splitLines(requireText(tool, text));
  const header = findMembershipHeader(lines);
  if (header < 0) throw new ParseError(tool, 'no "Membership information" table found (output truncated or not quorumtool output)', text);
  const quorum = parseQuorumBlocks(lines.slice(0, header), tool, text);
  return { quorum, ...parseMembershipRows(lines, header, tool) };
}
