/** `pvx completion <shell>` and `pvx __complete -- <words…>`: they print, and never touch a node. */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { PrintContext } from '../shared/dispatch.js';
import { complete, formatCompletion } from './complete.js';
import { SHELLS, completionScript, isShell } from './scripts.js';

/** Print the completion script of `shell`. */
export async function printCompletionScript(print: PrintContext, shell: string): Promise<void> {
  if (!isShell(shell)) throw new UsageError(`pvx has no completion for the shell '${shell}'`, { hint: `give one of: ${SHELLS.join(', ')}` });
  print.out(await completionScript(shell));
}

/** Print the candidates for the last of `words` (what the completion scripts ask). */
export async function printCompletions(print: PrintContext, program: Command, words: readonly string[]): Promise<void> {
  print.out(formatCompletion(await complete(program, words.length > 0 ? words : [''], print.env, print.cwd)));
}
