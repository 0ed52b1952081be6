#!/usr/bin/env node
// Plain JavaScript on purpose: it must run (and explain itself) on any Node before anything else loads.
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  process.stderr.write(`pvx needs Node.js 20 or newer; this is Node.js ${process.versions.node}.\n`);
  process.exit(1);
}
// `--version` answers before anything else loads (the same text as run() in dist/cli.js prints)
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { readFileSync } = await import('node:fs');
  let version = '0.0.0';
  try {
    version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version ?? '0.0.0';
  } catch {
    // as run() does: an unreadable package.json is version 0.0.0
  }
  process.stdout.write(`${version}\n`);
} else if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
  // the root help written at build time: the same text without loading every command's definition
  const [fs, { preRenderedRootHelp }] = await Promise.all([import('node:fs'), import('./root-help.js')]);
  const text = preRenderedRootHelp(fs, process.stdout);
  if (text !== undefined) process.stdout.write(text);
  else await runCli();
} else {
  await runCli();
}

async function runCli() {
  // the one-file build (dist/bundle/) starts faster; a build without a bundler has dist/cli.js only
  const entry = (await load('../dist/bundle/cli.js')) ?? (await load('../dist/cli.js'));
  if (!entry) {
    process.stderr.write('pvx is not built yet: run `npm run build` in its directory.\n');
    process.exit(1);
  }
  process.exitCode = await entry.run(args);
}

/** The module at `rel`, or undefined when that file itself does not exist. */
async function load(rel) {
  try {
    return await import(rel);
  } catch (e) {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(rel.slice(3))) return undefined;
    throw e;
  }
}
