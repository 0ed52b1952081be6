/** The root password a join needs: from a file, from a hidden prompt, or not at all (`--use-ssh`). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Deps } from '../../context.js';
import { CancelledError, UsageError } from '../../errors.js';
import { canPrompt } from '../../ui/io.js';
import { promptCancel } from '../../ui/prompter.js';
import type { JoinAuth } from '../../workflows/cluster/join-steps.js';

/** Where the password will come from, decided before any node is touched. */
export type PasswordSource =
  | { kind: 'file'; file: string; flag: '--password-file' | 'PVX_PASSWORD_FILE'; password: string }
  | { kind: 'prompt' }
  | { kind: 'ssh' }
  | { kind: 'none' };

/** The flags that give a password, for messages. */
export const PASSWORD_FLAGS = '--password-file <file> (or PVX_PASSWORD_FILE), or --use-ssh where the nodes already trust each other over SSH';

/** Read a password file: its content without the trailing newline; one line, not empty. */
export function readPasswordFile(file: string, cwd: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`${flag}: cannot read '${file}' (${code})`, { hint: 'give a file that holds the root password of the cluster member on one line' });
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new UsageError(`${flag}: '${file}' is empty`);
  // pvecm reads exactly one line from stdin as the password
  if (/[\r\n]/.test(password)) throw new UsageError(`${flag}: '${file}' holds more than one line; it must hold only the password`);
  return password;
}

/** Decide the password source from flags and environment; reads the file now so a bad one is exit 2. */
export function passwordSource(deps: Deps, opts: { passwordFile?: string | undefined; useSsh?: boolean | undefined }): PasswordSource {
  const envFile = deps.pvx.passwordFile;
  if (opts.useSsh && opts.passwordFile !== undefined) throw new UsageError('--use-ssh and --password-file exclude each other', { hint: 'SSH joins need no password' });
  if (opts.useSsh) return { kind: 'ssh' };
  if (opts.passwordFile !== undefined) return { kind: 'file', file: opts.passwordFile, flag: '--password-file', password: readPasswordFile(opts.passwordFile, deps.cwd, '--password-file') };
  if (envFile) return { kind: 'file', file: envFile, flag: 'PVX_PASSWORD_FILE', password: readPasswordFile(envFile, deps.cwd, 'PVX_PASSWORD_FILE') };
  if (canPrompt(deps.io, deps.globals.json)) return { kind: 'prompt' };
  return { kind: 'none' };
}

/** Fail before anything runs when a join will need a password that cannot be had. */
export function requirePasswordSource(src: PasswordSource, what: string): void {
  if (src.kind === 'none') {
    throw new UsageError(`${what} needs the root password of the cluster member, and there is no terminal to ask for it`, { hint: `pass ${PASSWORD_FLAGS}` });
  }
}

/** The join authentication; asks once at a terminal (never echoed, never stored). */
export async function joinAuth(deps: Deps, src: PasswordSource, member: string): Promise<JoinAuth> {
  switch (src.kind) {
    case 'ssh':
      return { kind: 'ssh' };
    case 'file':
      return { kind: 'password', password: () => src.password };
    case 'prompt': {
      let password: string;
      try {
        password = await deps.prompter.secret(`Root password of ${member} (used by pvecm add, never stored):`);
      } catch (e) {
        // the question comes after the reads and the preflight, before the first change
        const cancel = promptCancel(e);
        if (cancel) throw new CancelledError('cancelled at the password prompt: nothing was changed', { cause: cancel });
        throw e;
      }
      if (password === '') throw new UsageError('no password given');
      return { kind: 'password', password: () => password };
    }
    case 'none':
      throw new UsageError('a root password is needed to join', { hint: `pass ${PASSWORD_FLAGS}` });
  }
}

/** How the recovery command should pass the password again (never the password itself). */
export function passwordFlagsFor(src: PasswordSource): string[] {
  if (src.kind === 'ssh') return ['--use-ssh'];
  if (src.kind === 'file' && src.flag === '--password-file') return ['--password-file', src.file];
  return [];
}
