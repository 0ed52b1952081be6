/** `ip -o addr show` (iproute2, one line per address): which addresses a node has configured. */
import { isIpAddress } from '../names.js';
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

/** Parsed `ip -o addr show`. */
export interface IpAddresses {
  addresses: InterfaceAddress[];
  /** lines that could not be read, kept rather than failing; an address there is unknown to the caller */
  unrecognized: string[];
}

/**
 * Parse the one-line form; lines of other families (link/ether with -o link) are skipped. Throws
 * only when no line at all is of its format; any other line it cannot read is kept in `unrecognized`.
 */
export function parseIpAddr(text: string): IpAddresses {
  const out: IpAddresses = { addresses: [], unrecognized: [] };
  let read = 0;
  for (const line of splitLines(requireText(TOOL, text))) {
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    if (!m || !isIpAddress(m[3] ?? '')) {
      if (/^\d+:\s+\S+/.test(line) && !/\s(inet6?)\s/.test(line)) read++;
      else out.unrecognized.push(line);
      continue;
    }
    read++;
    const entry: InterfaceAddress = {
      ifname: m[1] ?? '',
      family: m[2] === 'inet6' ? 'inet6' : 'inet',
      address: m[3] ?? '',
      prefixLength: Number(m[4] ?? m[5]),
    };
    const scope = /\sscope\s+(\S+)/.exec(m[6] ?? '');
    if (scope) entry.scope = scope[1] ?? '';
    out.addresses.push(entry);
  }
  if (read === 0 && out.unrecognized.length > 0) throw new ParseError(TOOL, 'unexpected output (expected "<index>: <ifname> …" lines)', text);
  return out;
}
