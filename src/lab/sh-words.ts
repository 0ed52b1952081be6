/**
 * The lab's own shell quoting for the scripts it runs in its nodes. The lab shares no code with the
 * product it tests (a bug in a shared quoter would hide on both sides), so this one is deliberately
 * plain: every word goes in single quotes, a quote inside as '"'"'.
 */

/** One word a POSIX shell reads back byte for byte. */
export function labWord(value: string): string {
  return `'${value.split("'").join(`'"'"'`)}'`;
}

/** A command line of words, each quoted. */
export function labLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('labLine: no words');
  return argv.map(labWord).join(' ');
}
