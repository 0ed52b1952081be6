/** Questions to the user, behind an interface so commands never import inquirer. */
import { CancelledError } from '../errors.js';
import type { IO } from './io.js';

/** What a command may ask; a question the user walks away from (Ctrl-C, EOF) rejects with CancelledError. */
export interface Prompter {
  /** ask the user to type `expected` to go on; true when they did */
  confirmTyped(message: string, expected: string): Promise<boolean>;
  /** a hidden answer (passwords), never echoed */
  secret(message: string): Promise<string>;
}

// inquirer's own error names: Ctrl-C or the process going away, an AbortSignal, a cancel() call
const PROMPT_CANCELS = new Set(['ExitPromptError', 'AbortPromptError', 'CancelPromptError']);

/** The CancelledError for an error a prompt rejected with, or undefined when it is no cancel. */
export function promptCancel(e: unknown): CancelledError | undefined {
  if (e instanceof CancelledError) return e;
  if (!(e instanceof Error) || !PROMPT_CANCELS.has(e.name)) return undefined;
  // an aborted prompt carries the reason it was aborted for (the input ended)
  if (e.cause instanceof CancelledError) return e.cause;
  return new CancelledError('cancelled at the prompt', { cause: e });
}

/** The same prompter, with every prompt cancel (whatever raised it) turned into CancelledError. */
export function cancellable(p: Prompter): Prompter {
  const guard = async <T>(ask: () => Promise<T>): Promise<T> => {
    try {
      return await ask();
    } catch (e) {
      throw promptCancel(e) ?? e;
    }
  };
  return {
    confirmTyped: (message, expected) => guard(() => p.confirmTyped(message, expected)),
    secret: (message) => guard(() => p.secret(message)),
  };
}

/** Prompts through @inquirer/prompts on the IO's streams, loaded only when a question is asked. */
export function inquirerPrompter(io: IO): Prompter {
  return cancellable({
    async confirmTyped(message, expected) {
      const { input } = await import('@inquirer/prompts');
      const answer = await untilInputEnds(io, (ctx) => input({ message }, ctx));
      return answer.trim() === expected;
    },
    async secret(message) {
      const { password } = await import('@inquirer/prompts');
      return untilInputEnds(io, (ctx) => password({ message, mask: false }, ctx));
    },
  });
}

interface PromptContext {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  signal: AbortSignal;
}

const INPUT_ENDED = 'cancelled: the input ended before an answer was given';

/**
 * Run one prompt, aborting it once its input is gone. inquirer leaves its promise pending when
 * stdin ends or readline closes on Ctrl-D, and the process would then exit without a word; the
 * readline it reads through pauses the input when it closes, so an input that pauses or ends
 * while the question is still open can never answer it.
 */
async function untilInputEnds<T>(io: IO, prompt: (ctx: PromptContext) => Promise<T>): Promise<T> {
  const input = io.stdin;
  if (input.readableEnded || input.destroyed) throw new CancelledError(INPUT_ENDED);
  const ac = new AbortController();
  let open = true;
  // a prompt that was answered settles before the next turn of the event loop, also when its own
  // close is what paused the input
  const released = (): void => void setImmediate(() => open && ac.abort(new CancelledError(INPUT_ENDED)));
  input.on('pause', released);
  input.on('end', released);
  try {
    return await prompt({ input, output: io.stderr, signal: ac.signal });
  } finally {
    open = false;
    input.off('pause', released);
    input.off('end', released);
  }
}
