/** `ip -o addr show` (iproute2, one line per address): which addresses a node has configured. */
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

const TOOL = 'ip -o addr show';

/** One configured address. */
export interface InterfaceAddress {
  ifname: string;
  family: 'inet' | 'inet6';
  address: string;
  prefixLength: number;
  /** host | link | global | … */
  scope?: string;
}

// "<index>: <ifname> inet|inet6 <addr>/<len> [brd <b>] scope <s> …"; a '\' stands for the wrapped line break;
// point-to-point addresses read "<addr> peer <peer>/<len>"
const LINE = /^\d+:\s+(\S+?)(?:@\S+)?\s+(inet6?)\s+([0-9A-Fa-f.:]+)(?:\/(\d+)|\s+peer\s+[0-9A-Fa-f.:]+\/(\d+))(.*)$/;

/** Parse the one-line form; lines of other families (link/ether with -o link) are skipped. */
export function parseIpAddr(text: string): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const line of splitLines(requireText(TOOL, text))) {
    if (line.trim() === '') continue;
    if (!/^\d+:\s+\S+/.test(line)) throw new ParseError(TOOL, 'unexpected line (expected "<index>: <ifname> …")', line);
    const m = LINE.exec(line);
    if (!m) {
      if (/\s(inet6?)\s/.test(line)) throw new ParseError(TOOL, 'unreadable address line', line);
      continue;
    }
    const entry: InterfaceAddress = {
      ifname: m[1] ?? '',
      family: m[2] === 'inet6' ? 'inet6' : 'inet',
      address: m[3] ?? '',
      prefixLength: Number(m[4] ?? m[5]),
    };
    const scope = /\sscope\s+(\S+)/.exec(m[6] ?? '');
    if (scope) entry.scope = scope[1] ?? '';
    out.push(entry);
  }
  return out;
}
