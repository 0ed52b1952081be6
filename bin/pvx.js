#!/usr/bin/env node
// Plain JavaScript on purpose: it must run (and explain itself) on any Node before anything else loads.
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  process.stderr.write(`pvx needs Node.js 20 or newer; this is Node.js ${process.versions.node}.\n`);
  process.exit(1);
}
let entry;
try {
  entry = await import('../dist/cli.js');
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/cli.js')) {
    process.stderr.write('pvx is not built yet: run `npm run build` in its directory.\n');
    process.exit(1);
  }
  throw e;
}
process.exitCode = await entry.run(process.argv.slice(2));
