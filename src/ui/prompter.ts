/** Questions to the user, behind an interface so commands never import inquirer. */
import type { IO } from './io.js';

/** What a command may ask. */
export interface Prompter {
  /** ask the user to type `expected` to go on; true when they did */
  confirmTyped(message: string, expected: string): Promise<boolean>;
  /** a hidden answer (passwords), never echoed */
  secret(message: string): Promise<string>;
}

/** Prompts through @inquirer/prompts on the IO's streams, loaded only when a question is asked. */
export function inquirerPrompter(io: IO): Prompter {
  const ctx = { input: io.stdin as NodeJS.ReadableStream, output: io.stderr as NodeJS.WritableStream };
  return {
    async confirmTyped(message, expected) {
      const { input } = await import('@inquirer/prompts');
      const answer = await input({ message }, ctx);
      return answer.trim() === expected;
    },
    async secret(message) {
      const { password } = await import('@inquirer/prompts');
      return password({ message, mask: false }, ctx);
    },
  };
}
