/** `corosync-cfgtool -s` (reference §1.5; layout of corosync 3.1 `tools/corosync-cfgtool.c`). */
import { ParseError } from './errors.js';
import { requireText, splitLines, toInt } from './text.js';

const TOOL = 'corosync-cfgtool -s';

/** How the local node sees one peer on one link. */
export interface LinkPeer {
  nodeid: number;
  /** localhost | connected | disconnected */
  state: string;
}

/** One knet link. */
export interface CorosyncLink {
  id: number;
  /** `udp`, `sctp`; empty for non-knet transports, which print no protocol */
  proto: string;
  addr: string;
  peers: LinkPeer[];
  /** `-b` output: one status digit per node instead of peer lines */
  brief?: string;
}

/** Parsed link status of the local node. */
export interface CfgtoolStatus {
  localNodeId: number;
  transport: string;
  links: CorosyncLink[];
  /** lines this parser could not read (other corosync versions), kept rather than failing */
  unrecognized: string[];
}

/**
 * Parse `corosync-cfgtool -s` (also `-s -b`); peer lines are tab-indented `nodeid: <id>:\t<state>`.
 * Only output without the `Local node ID` line throws; any other line it cannot read is kept in
 * `unrecognized`.
 */
export function parseCfgtoolStatus(text: string): CfgtoolStatus {
  const lines = splitLines(requireText(TOOL, text));
  let head: RegExpExecArray | null = null;
  let start = 0;
  for (; start < lines.length; start++) {
    head = /^Local node ID (\d+), transport (\S+)\s*$/.exec(lines[start] ?? '');
    if (head) break;
  }
  if (!head) throw new ParseError(TOOL, "no 'Local node ID <n>, transport <t>' line", text);
  const out: CfgtoolStatus = { localNodeId: toInt(TOOL, 'Local node ID', head[1]), transport: head[2] ?? '', links: [], unrecognized: [] };
  let link: CorosyncLink | undefined;
  let inStatus = false;
  for (const raw of lines.slice(start + 1)) {
    if (raw.trim() === '') continue;
    const l = /^LINK ID (\d+)(?: (\S*))?\s*$/.exec(raw);
    if (l) {
      link = { id: toInt(TOOL, 'LINK ID', l[1]), proto: l[2] ?? '', addr: '', peers: [] };
      out.links.push(link);
      inStatus = false;
      continue;
    }
    const addr = /^\s+addr\s*=\s*(\S*)\s*$/.exec(raw);
    const brief = /^\s+status\s*=\s*(\S*)\s*$/.exec(raw);
    const peer = /^\s+nodeid:\s*(\d+):\s*(\S+)\s*$/.exec(raw);
    if (link && addr) link.addr = addr[1] ?? '';
    else if (link && brief) link.brief = brief[1] ?? '';
    else if (link && /^\s+status:\s*$/.test(raw)) inStatus = true;
    else if (link && peer && inStatus && /^\d{1,10}$/.test(peer[1] ?? '')) link.peers.push({ nodeid: Number(peer[1]), state: peer[2] ?? '' });
    else out.unrecognized.push(raw);
  }
  return out;
}
