/** Build step: writes the package's schemas/ folder (`node dist/schema/write-files.js` after tsc). */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { schemaFiles } from './json-schema.js';

// dist/schema/ is two levels below the package
const dir = fileURLToPath(new URL('../../schemas/', import.meta.url));
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
for (const { file, text } of schemaFiles()) writeFileSync(`${dir}${file}`, text);
