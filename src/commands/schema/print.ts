/** `pvx schema [command…]`: the JSON Schema of a command's `--json` output, as shipped in the package's schemas/. */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { packageFileUrl } from '../../config/package-files.js';
import type { PrintContext } from '../shared/dispatch.js';
import { RESULT_COMMANDS, isResultCommand, schemaFileName, type ResultCommand } from '../../schema/names.js';

/** The shipped schema text; made on the spot (zod) where the package was not built with its schemas/. */
async function schemaText(name: ResultCommand | undefined): Promise<string> {
  const file = packageFileUrl(`schemas/${schemaFileName(name ?? 'envelope')}`);
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return (await import('../../schema/json-schema.js')).schemaText(name);
  }
}

/** Print the schema of the command named by `words` (none: the envelope of any command), or the list of commands. */
export async function printSchema(print: PrintContext, words: readonly string[], list: boolean): Promise<void> {
  if (list) {
    print.out(`${RESULT_COMMANDS.join('\n')}\n`);
    return;
  }
  const name = words.join(' ');
  if (name === '') {
    print.out(await schemaText(undefined));
    return;
  }
  if (!isResultCommand(name)) {
    throw new UsageError(`no command '${name}' has a JSON result`, { hint: 'pvx schema --list names the ones that do, e.g. pvx schema cluster status' });
  }
  print.out(await schemaText(name));
}
