/** Build step: writes dist/root-help.json, the root help bin/pvx.js prints (`node dist/write-root-help.js` after tsc). */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rootHelpRenders } from './root-help.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
const file = new URL('./root-help.json', import.meta.url);
const tmp = new URL('./root-help.json.tmp', import.meta.url);
writeFileSync(tmp, `${JSON.stringify({ renders: rootHelpRenders(pkg.version ?? '0.0.0') })}\n`);
// written whole or not at all: bin/pvx.js may read it at any moment
renameSync(tmp, file);
