/**
 * `dpkg-query -W -f '${db:Status-Status} ${Version}\n' <package>`: a package's state and version
 * from the package database (dpkg-query(1)); one line per matching package.
 */
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

const TOOL = 'dpkg-query';

/** The `--showformat` pvx asks for (dpkg-query expands the `\n` itself); the parser below reads exactly this shape. */
export const PACKAGE_STATE_FORMAT = '${db:Status-Status} ${Version}\\n';

// the states in which the package's files are on disk, so the code of that version is what runs
// (dpkg-query(1) db:Status-Status; config-files, half-installed and not-installed leave no usable copy)
const FILES_PRESENT = new Set(['installed', 'unpacked', 'half-configured', 'triggers-awaited', 'triggers-pending']);

/** A package's version when its files are installed, or null (absent, removed, or only its configuration left). */
export function parsePackageVersion(text: string): string | null {
  const lines = splitLines(requireText(TOOL, text)).filter((l) => l.trim() !== '');
  if (lines.length !== 1) throw new ParseError(TOOL, `expected one package line, got ${lines.length}`, text);
  const m = /^([a-z-]+) (\S*)$/.exec(lines[0]?.trim() ?? '');
  if (!m) throw new ParseError(TOOL, "expected '<state> <version>'", text);
  const [, state, version] = m;
  if (!FILES_PRESENT.has(state ?? '')) return null;
  if (!version) throw new ParseError(TOOL, `package is ${state} but has no version`, text);
  return version;
}
