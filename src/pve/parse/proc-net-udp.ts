/** `/proc/net/udp` and `/proc/net/udp6`: which UDP ports something on the node has bound. */
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

const TOOL = '/proc/net/udp';

/** One bound UDP socket; the address stays in the kernel's hex form. */
export interface UdpSocket {
  localAddressHex: string;
  port: number;
}

/** Parse one or both files concatenated (each starts with its own `sl local_address …` header). */
export function parseProcNetUdp(text: string): UdpSocket[] {
  const out: UdpSocket[] = [];
  for (const line of splitLines(requireText(TOOL, text))) {
    if (line.trim() === '' || /^\s*sl\s+local_address/.test(line)) continue;
    const m = /^\s*\d+:\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{4})\s/.exec(line);
    if (!m) throw new ParseError(TOOL, 'unexpected line (expected "<sl>: <hex address>:<hex port> …")', line);
    out.push({ localAddressHex: (m[1] ?? '').toUpperCase(), port: Number.parseInt(m[2] ?? '0', 16) });
  }
  return out;
}

/** The distinct local ports in use, ascending. */
export function udpPortsInUse(text: string): number[] {
  return [...new Set(parseProcNetUdp(text).map((s) => s.port))].sort((a, b) => a - b);
}
