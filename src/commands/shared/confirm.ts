/**
 * The one confirmation policy of every command that asks before it changes a cluster: --yes skips
 * the question, --dry-run never asks, --json or no terminal without --yes is a usage error before
 * any node is read, and otherwise the user types a word; a different word, Ctrl-C or the end of
 * the input cancels (exit 130) with nothing changed.
 */
import type { Deps } from '../../context.js';
import { CancelledError, UsageError } from '../../errors.js';
import { canPrompt } from '../../ui/io.js';
import { promptCancel } from '../../ui/prompter.js';

/** The question itself, asked once the plan is known. */
export interface TypedQuestion {
  /** written to stderr just before the question, and only when it is asked (the risk, the plan) */
  preface?: string;
  /** the question, naming the word to type */
  message: string;
  /** the word the user must type */
  typed: string;
  /** the error message when another word was typed */
  mismatch: string;
  /** what stayed as it was, said after Ctrl-C or the end of the input ("cancelled: " goes before it) */
  untouched: string;
}

/** A confirmation decided up front; `ask` puts the question when the command is about to change something. */
export interface Confirmation {
  /** resolves when the change may go ahead; rejects with CancelledError when it may not */
  ask(q: TypedQuestion): Promise<void>;
}

/**
 * Start the confirmation of a command: throws UsageError (exit 2) at once when it could never be
 * given (no terminal, or --json, without --yes), so that happens before any node is read.
 * `noTtyMessage` says why a confirmation is needed and that there is no terminal to give it.
 */
export function confirmOrCancel(deps: Deps, opts: { noTtyMessage: string }): Confirmation {
  const { globals } = deps;
  const skip = globals.yes || globals.dryRun;
  if (!skip && !canPrompt(deps.io, globals.json)) {
    throw new UsageError(opts.noTtyMessage, { hint: 'pass --yes to confirm (or --dry-run to see the plan)' });
  }
  return {
    async ask(q) {
      if (skip) return;
      if (q.preface !== undefined) deps.io.err(q.preface);
      let ok: boolean;
      try {
        ok = await deps.prompter.confirmTyped(q.message, q.typed);
      } catch (e) {
        const cancel = promptCancel(e);
        if (cancel) throw new CancelledError(`cancelled: ${q.untouched}`, { cause: cancel });
        throw e;
      }
      if (!ok) throw new CancelledError(q.mismatch);
    },
  };
}
