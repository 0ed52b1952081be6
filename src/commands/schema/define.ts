/** The definition of `pvx schema`: help, options and flag → input mapping; run and render load only when a command runs. */
import { Command } from 'commander';
import type { PrintContext } from '../shared/dispatch.js';

/** Register `pvx schema` on the root. */
export function registerSchema(program: Command, print: PrintContext): void {
  program
    .command('schema')
    .description("print the JSON Schema of a command's --json output (without a command: the envelope every command prints)")
    .argument('[command...]', 'the command, e.g. cluster status')
    .option('--list', 'list the commands whose --json output has a result schema')
    .addHelpText('after', `
The schemas are also in the package's schemas/ folder (envelope.json, cluster-status.json, …).

Examples:
  pvx schema cluster status > cluster-status.schema.json
  pvx schema --list`)
    .action(async (words: string[], opts: { list?: boolean }) => (await import('./print.js')).printSchema(print, words, opts.list === true));
}
