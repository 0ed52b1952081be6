/** `/proc/net/udp` and `/proc/net/udp6`: which UDP ports something on the node has bound. */
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

const TOOL = '/proc/net/udp';

/** One bound UDP socket; the address stays in the kernel's hex form. */
export interface UdpSocket {
  localAddressHex: string;
  port: number;
}

/** Parsed `/proc/net/udp` (and udp6). */
export interface ProcNetUdp {
  sockets: UdpSocket[];
  /** lines that could not be read, kept rather than failing; a port there is unknown to the caller */
  unrecognized: string[];
}

/**
 * Parse one or both files concatenated (each starts with its own `sl local_address …` header);
 * throws only when no line at all is of the format, keeps any other unreadable line in `unrecognized`.
 */
export function parseProcNetUdp(text: string): ProcNetUdp {
  const out: ProcNetUdp = { sockets: [], unrecognized: [] };
  let read = 0;
  for (const line of splitLines(requireText(TOOL, text))) {
    if (line.trim() === '') continue;
    if (/^\s*sl\s+local_address/.test(line)) {
      read++;
      continue;
    }
    const m = /^\s*\d+:\s+([0-9A-Fa-f]+):([0-9A-Fa-f]{4})\s/.exec(line);
    if (!m) {
      out.unrecognized.push(line);
      continue;
    }
    read++;
    out.sockets.push({ localAddressHex: (m[1] ?? '').toUpperCase(), port: Number.parseInt(m[2] ?? '0', 16) });
  }
  if (read === 0 && out.unrecognized.length > 0) throw new ParseError(TOOL, 'unexpected output (expected "<sl>: <hex address>:<hex port> …" lines)', text);
  return out;
}

/** The distinct local ports in use, ascending, and the lines that could not be read. */
export function udpPortsInUse(text: string): { ports: number[]; unrecognized: string[] } {
  const p = parseProcNetUdp(text);
  return { ports: [...new Set(p.sockets.map((s) => s.port))].sort((a, b) => a - b), unrecognized: p.unrecognized };
}
