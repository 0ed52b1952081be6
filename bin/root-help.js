// Plain JavaScript, as bin/pvx.js: picks the root help written at build time (dist/root-help.json).

/** The help width commander uses for stdout: its columns at a terminal, else 80. */
export function helpWidthOf(stdout) {
  return (stdout.isTTY ? stdout.columns : undefined) ?? 80;
}

/** The text of `renders` for this width, or undefined when none covers it. */
export function pickRootHelp(renders, width) {
  if (!Array.isArray(renders) || !Number.isInteger(width)) return undefined;
  const r = renders.find((x) => width >= x.min && (x.max === null || width <= x.max));
  return typeof r?.text === 'string' ? r.text : undefined;
}

/**
 * The pre-rendered root help for this stdout, or undefined (the live path then renders it):
 * no file, an unreadable one, or one older than the build's program.js (tsc ran after it).
 */
export function preRenderedRootHelp(fs, stdout) {
  const file = new URL('../dist/root-help.json', import.meta.url);
  try {
    if (fs.statSync(file).mtimeMs < fs.statSync(new URL('../dist/program.js', import.meta.url)).mtimeMs) return undefined;
    return pickRootHelp(JSON.parse(fs.readFileSync(file, 'utf8')).renders, helpWidthOf(stdout));
  } catch {
    return undefined;
  }
}
