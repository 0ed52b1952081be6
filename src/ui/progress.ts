/** Progress of long steps: a spinner on a TTY stderr, plain lines otherwise, nothing in --json. */
import type { IO } from './io.js';
import type { Theme } from './theme.js';

/** One step in progress. */
export interface StepProgress {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  skip(text?: string): void;
}

/** Starts steps; the same calls whatever the terminal is. */
export interface Progress {
  start(text: string): Promise<StepProgress>;
  /** a one-line note between steps (never while a spinner spins) */
  note(text: string): void;
}

/** Progress for this IO: ora only when stderr is a TTY (loaded then, not at start-up). */
export function makeProgress(io: IO, theme: Theme, mode: { json: boolean; quiet: boolean }): Progress {
  if (mode.json || mode.quiet) {
    const silent: StepProgress = { update() {}, succeed() {}, fail() {}, skip() {} };
    return { start: async () => silent, note() {} };
  }
  if (!io.stderrIsTTY) {
    return {
      async start(text) {
        let current = text;
        return {
          update: (t) => void (current = t),
          succeed: (t) => io.err(`${theme.ok} ${t ?? current}\n`),
          fail: (t) => io.err(`${theme.fail} ${t ?? current}\n`),
          skip: (t) => io.err(`${theme.info} ${t ?? current}\n`),
        };
      },
      note: (t) => io.err(`${t}\n`),
    };
  }
  return {
    async start(text) {
      const { default: ora } = await import('ora');
      const s = ora({ text, stream: io.stderr as NodeJS.WritableStream, color: 'cyan', isEnabled: true }).start();
      return {
        update: (t) => void (s.text = t),
        succeed: (t) => void s.stopAndPersist({ symbol: theme.ok, text: t ?? s.text }),
        fail: (t) => void s.stopAndPersist({ symbol: theme.fail, text: t ?? s.text }),
        skip: (t) => void s.stopAndPersist({ symbol: theme.info, text: t ?? s.text }),
      };
    },
    note: (t) => io.err(`${t}\n`),
  };
}
