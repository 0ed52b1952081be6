import { PassThrough } from 'node:stream';
import { ExitPromptError } from '@inquirer/core';
import { describe, expect, it } from 'vitest';
import { CancelledError, EXIT } from '../../../src/errors.js';
import { cancellable, inquirerPrompter, type Prompter } from '../../../src/ui/prompter.js';
import { testIO } from '../../helpers/test-io.js';

/** A terminal-like IO whose stdin the test types into; `stdin` is the stream the prompt reads. */
function terminal() {
  const io = testIO({ tty: true });
  return { io, stdin: io.stdin as PassThrough };
}

/** Act (type, end the input) once the prompt reads its input: readline resumes the stream when it starts. */
function typeWhenAsked(stdin: PassThrough, act: () => void): void {
  stdin.once('resume', () => setImmediate(act));
}

async function cancelOf(p: Promise<unknown>): Promise<CancelledError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CancelledError);
  return e as CancelledError;
}

describe('inquirerPrompter: Ctrl-C and EOF at the real inquirer prompts are a cancel', () => {
  it('takes the typed word as a confirmation, a different one as a no', async () => {
    const { io, stdin } = terminal();
    typeWhenAsked(stdin, () => stdin.write('prod\r'));
    await expect(inquirerPrompter(io).confirmTyped('Type prod:', 'prod')).resolves.toBe(true);

    const other = terminal();
    typeWhenAsked(other.stdin, () => other.stdin.write('prd\r'));
    await expect(inquirerPrompter(other.io).confirmTyped('Type prod:', 'prod')).resolves.toBe(false);
  });

  it('a typed answer followed by the end of the input is still the answer', async () => {
    const { io, stdin } = terminal();
    typeWhenAsked(stdin, () => stdin.write('s3cret\r', () => setImmediate(() => stdin.end())));
    await expect(inquirerPrompter(io).secret('Password:')).resolves.toBe('s3cret');
  });

  it('Ctrl-C (\\x03) at the typed confirmation rejects with CancelledError (exit 130)', async () => {
    const { io, stdin } = terminal();
    typeWhenAsked(stdin, () => stdin.write('pr\x03'));
    const e = await cancelOf(inquirerPrompter(io).confirmTyped('Type prod:', 'prod'));
    expect(e.exitCode).toBe(EXIT.CANCELLED);
    expect(e.code).toBe('CANCELLED');
    expect(e.message).toContain('cancelled');
    expect((e.cause as Error).name).toBe('ExitPromptError');
  });

  it('Ctrl-C (\\x03) at the password prompt rejects with CancelledError', async () => {
    const { io, stdin } = terminal();
    typeWhenAsked(stdin, () => stdin.write('\x03'));
    const e = await cancelOf(inquirerPrompter(io).secret('Password:'));
    expect(e.exitCode).toBe(130);
  });

  it('the input ending (EOF) at the typed confirmation rejects with CancelledError instead of leaving the prompt open', async () => {
    const { io, stdin } = terminal();
    typeWhenAsked(stdin, () => stdin.end());
    const e = await cancelOf(inquirerPrompter(io).confirmTyped('Type prod:', 'prod'));
    expect(e.exitCode).toBe(130);
    expect(e.message).toBe('cancelled: the input ended before an answer was given');
  });

  it('Ctrl-D on an empty line (EOF at a terminal) rejects with CancelledError', async () => {
    const { io, stdin } = terminal();
    typeWhenAsked(stdin, () => stdin.write('\x04'));
    const e = await cancelOf(inquirerPrompter(io).confirmTyped('Type prod:', 'prod'));
    expect(e.message).toBe('cancelled: the input ended before an answer was given');
  });

  it('the input ending (EOF) halfway through a password rejects with CancelledError', async () => {
    const { io, stdin } = terminal();
    typeWhenAsked(stdin, () => stdin.end('s3c'));
    const e = await cancelOf(inquirerPrompter(io).secret('Password:'));
    expect(e.message).toBe('cancelled: the input ended before an answer was given');
  });

  it('an input that already ended cancels without asking', async () => {
    const { io, stdin } = terminal();
    stdin.end();
    stdin.resume();
    await new Promise((r) => stdin.once('end', r));
    const e = await cancelOf(inquirerPrompter(io).confirmTyped('Type prod:', 'prod'));
    expect(e.message).toBe('cancelled: the input ended before an answer was given');
    expect(io.stderrText()).toBe('');
  });
});

describe('cancellable', () => {
  it("turns inquirer's ExitPromptError from any prompter into CancelledError and lets other errors through", async () => {
    const boom = new Error('disk full');
    const p: Prompter = cancellable({
      confirmTyped: async () => {
        throw new ExitPromptError('User force closed the prompt with SIGINT');
      },
      secret: async () => {
        throw boom;
      },
    });
    const e = await cancelOf(p.confirmTyped('Type prod:', 'prod'));
    expect(e.exitCode).toBe(130);
    await expect(p.secret('Password:')).rejects.toBe(boom);
  });
});
