/** `pveversion` and `pveversion -v` (reference §3). */
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

const TOOL = 'pveversion';

/** pve-manager version; `version` is the installed package, `runningVersion` the code the API daemons run. */
export interface PveManagerVersion {
  version: string;
  major: number;
  minor: number;
  repoid: string;
  /** only in `-v` output; differs from `version` until pveproxy/pvedaemon restart */
  runningVersion?: string;
}

/** Parsed pveversion output; `packages` is empty for the one-line form. */
export interface PveVersion {
  manager: PveManagerVersion;
  /** running kernel (`uname -r`) */
  kernel: string;
  /** package -> version, or one of `residual config`, `not correctly installed`, `unknown package - internal error` */
  packages: Record<string, string>;
}

const ONE_LINE = /^pve-manager\/(\S+)\/([0-9a-fA-F]+)\s+\(running kernel:\s*(\S+)\)\s*$/;
// a '#' before the parenthesis shows up in pasted copies where the suffix was turned into a comment
const RUNNING_KERNEL = /^(.*?)\s*#?\(running kernel:\s*(\S+)\)\s*$/;
const RUNNING_VERSION = /^(.*?)\s*#?\(running version:\s*([^/\s]+)\/([0-9a-fA-F]+)\)\s*$/;

function majorMinor(version: string, input: string): { major: number; minor: number } {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) throw new ParseError(TOOL, `pve-manager version '${version}' is not <major>.<minor>[...]`, input);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** Parse either form: the one-liner `pve-manager/<ver>/<repoid> (running kernel: <k>)` or the `-v` package list. */
export function parsePveversion(text: string): PveVersion {
  const lines = splitLines(requireText(TOOL, text)).map((l) => l.trim());
  const one = lines.map((l) => ONE_LINE.exec(l)).find((m) => m !== null);
  if (one) {
    const version = one[1] ?? '';
    return { manager: { version, ...majorMinor(version, one[0]), repoid: one[2] ?? '' }, kernel: one[3] ?? '', packages: {} };
  }

  const packages: Record<string, string> = {};
  let kernel: string | undefined;
  let manager: PveManagerVersion | undefined;
  for (const line of lines) {
    const m = /^([a-z0-9][a-z0-9.+-]*):\s+(.+)$/.exec(line);
    if (!m) continue;
    const name = m[1] ?? '';
    let value = (m[2] ?? '').trim();
    if (name === 'proxmox-ve') {
      const k = RUNNING_KERNEL.exec(value);
      if (k) {
        kernel = k[2];
        value = k[1] ?? '';
      }
    } else if (name === 'pve-manager') {
      const r = RUNNING_VERSION.exec(value);
      if (!r) throw new ParseError(TOOL, "pve-manager line lacks '(running version: <ver>/<repoid>)'", line);
      value = r[1] ?? '';
      manager = { version: value, ...majorMinor(value, line), repoid: r[3] ?? '', runningVersion: r[2] ?? '' };
    }
    packages[name] = value;
  }
  if (!manager) throw new ParseError(TOOL, "no 'pve-manager' version found (not pveversion output?)", text);
  if (kernel === undefined) throw new ParseError(TOOL, "no '(running kernel: ...)' on the proxmox-ve line", text);
  return { manager, kernel, packages };
}
