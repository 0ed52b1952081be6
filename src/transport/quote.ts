/** POSIX shell quoting: the single place where argv becomes a remote command string. */

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one value so that a POSIX shell reads it back as exactly one word, byte for byte. */
export function shQuote(value: string): string {
  if (value === '') return "''";
  // A word made only of these characters has no meaning to the shell; a leading '=' or '%'
  // is harmless in argument position, and leading '-' is the callee's business, not the shell's.
  if (SAFE.test(value) && !value.startsWith('~')) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Join an argv into one command line for `sh -c`, every element quoted. */
export function shJoin(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('shJoin: empty argv');
  return argv.map(shQuote).join(' ');
}
