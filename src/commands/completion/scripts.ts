/**
 * The completion scripts `pvx completion <shell>` prints, shipped in the package's completions/
 * folder. Each one only hands the command line's words to `pvx __complete -- <words…>` and shows
 * the answer (complete.ts), so a new command or option completes without a new script.
 */
import { readFile } from 'node:fs/promises';
import { packageFileUrl } from '../../config/package-files.js';

/** The shells pvx writes completion for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** One of SHELLS. */
export type Shell = (typeof SHELLS)[number];

/** The script's file in completions/ (zsh wants its function's name). */
const FILES: Record<Shell, string> = { bash: 'pvx.bash', zsh: '_pvx', fish: 'pvx.fish' };

/** Whether `name` is one of SHELLS. */
export function isShell(name: string): name is Shell {
  return (SHELLS as readonly string[]).includes(name);
}

/** The completion script for `shell`, as shipped. */
export async function completionScript(shell: Shell): Promise<string> {
  return readFile(packageFileUrl(`completions/${FILES[shell]}`), 'utf8');
}
