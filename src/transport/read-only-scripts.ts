/**
 * Shell scripts the product declares read-only, by their exact text. A script's shape says nothing
 * about what it does, so dry-run runs `sh -c <script>` only when the script was declared here
 * where it is defined, never on the word of the caller that sends it.
 */

interface Declared {
  /** when set, the only positional arguments allowed after the script (they are code, not data) */
  args?: readonly string[];
}

const declared = new Map<string, Declared>();

/**
 * Declare a script read-only where it is defined; returns the text unchanged. Its positional
 * arguments are data (paths, names) unless `args` pins them, as for a program the script runs.
 */
export function readOnlyScript(text: string, opts: { args?: readonly string[] } = {}): string {
  declared.set(text, opts.args ? { args: [...opts.args] } : {});
  return text;
}

/** True for `sh -c <declared script> [$0 [args…]]`, with the pinned arguments when it has some. */
export function isReadOnlyScript(argv: readonly string[]): boolean {
  if (argv.length < 3 || argv[0] !== 'sh' || argv[1] !== '-c') return false;
  const d = declared.get(argv[2] ?? '');
  if (!d) return false;
  if (!d.args) return true;
  const rest = argv.slice(3);
  return rest.length === d.args.length && rest.every((a, i) => a === d.args?.[i]);
}

/** Every declared script text (for the test that no write was declared read-only). */
export function declaredReadOnlyScripts(): string[] {
  return [...declared.keys()];
}
