/** The one check behind every stateful double's verify(): nothing unexpected attempted, nothing expected left unused. */

/** A command a test declared it expects to be run at least once (`argv` matches the space-joined argv). */
export interface Expectation {
  node: string;
  argv: RegExp;
}

/** Throws when a command was refused as unexpected, or an expected command was never run. */
export function verifyStrict(unexpected: readonly string[], expectations: readonly Expectation[], calls: ReadonlyArray<{ node: string; argv: readonly string[] }>): void {
  if (unexpected.length > 0) throw new Error(`unexpected commands attempted: ${unexpected.join('; ')}`);
  const unused = expectations.filter((e) => !calls.some((c) => c.node === e.node && e.argv.test(c.argv.join(' '))));
  if (unused.length > 0) throw new Error(`expected commands never run: ${unused.map((e) => `${e.node}: ${e.argv}`).join('; ')}`);
}
