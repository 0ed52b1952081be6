/** `getent ahosts <name>` (reference §7.2): the addresses getaddrinfo returns, as PVE's own lookups see them. */
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

const TOOL = 'getent ahosts';

// one line per address and socket type: "<address> <STREAM|DGRAM|RAW> [<canonical name>]"
const LINE = /^(\S+)\s+(STREAM|DGRAM|RAW)(?:\s+(\S+))?\s*$/;

/** Addresses in the order getaddrinfo returned them, each once. */
export function parseGetentAhosts(text: string): string[] {
  const out: string[] = [];
  for (const line of splitLines(requireText(TOOL, text))) {
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    if (!m) throw new ParseError(TOOL, 'unexpected line (expected "<address> STREAM|DGRAM|RAW [name]")', line);
    const addr = m[1] ?? '';
    if (!out.includes(addr)) out.push(addr);
  }
  return out;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback: addresses PVE refuses as a node address. */
export function isLoopbackAddress(addr: string): boolean {
  const a = addr.toLowerCase();
  return /^127\./.test(a) || a === '::1' || /^::ffff:127\./.test(a);
}
