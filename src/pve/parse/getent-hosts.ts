/** `getent ahosts <name>` (reference §7.2): the addresses getaddrinfo returns, as PVE's own lookups see them. */
import { isIpAddress } from '../names.js';
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

const TOOL = 'getent ahosts';

// one line per address and socket type: "<address> <STREAM|DGRAM|RAW> [<canonical name>]"
const LINE = /^(\S+)\s+(STREAM|DGRAM|RAW)(?:\s+(\S+))?\s*$/;

/** Parsed `getent ahosts`. */
export interface GetentAhosts {
  /** addresses in the order getaddrinfo returned them, each once */
  addresses: string[];
  /**
   * lines that could not be read (or name no IP address), kept rather than failing; the order of the
   * addresses decides which one PVE uses, so a caller treats a non-empty list as an unreadable answer
   */
  unrecognized: string[];
}

/** Parse `getent ahosts`; throws only when no line at all is of its format. */
export function parseGetentAhosts(text: string): GetentAhosts {
  const out: GetentAhosts = { addresses: [], unrecognized: [] };
  let read = 0;
  for (const line of splitLines(requireText(TOOL, text))) {
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    const addr = m?.[1] ?? '';
    if (!m || !isIpAddress(addr)) {
      out.unrecognized.push(line);
      continue;
    }
    read++;
    if (!out.addresses.includes(addr)) out.addresses.push(addr);
  }
  if (read === 0 && out.unrecognized.length > 0) {
    throw new ParseError(TOOL, 'unexpected output (expected "<address> STREAM|DGRAM|RAW [name]" lines)', text);
  }
  return out;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback: addresses PVE refuses as a node address. */
export function isLoopbackAddress(addr: string): boolean {
  const a = addr.toLowerCase();
  return /^127\./.test(a) || a === '::1' || /^::ffff:127\./.test(a);
}
