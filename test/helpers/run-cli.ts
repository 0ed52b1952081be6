/** Runs pvx in-process with a fake transport and an in-memory IO. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../../src/cli.js';
import type { Transport } from '../../src/transport/types.js';
import { validEnvelope } from './json-schema.js';
import { testIO, type TestIO } from './test-io.js';
import { tmpDir } from './tmp.js';

/** What one in-process run produced. */
export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
  io: TestIO;
}

/** Write an inventory of these node names (hosts 10.99.0.x) into a fresh dir; returns its path. */
export function writeInventory(names: string[]): string {
  const dir = tmpDir('pvx-inv-');
  const file = path.join(dir, 'pvx.yaml');
  writeFileSync(file, 'nodes:\n' + names.map((n, i) => `  - name: ${n}\n    host: 10.99.0.${i + 1}\n`).join(''));
  return file;
}

/** Run `pvx <args>` in-process; the transport factory ignores SSH settings and returns `t`. */
export async function runInProcess(args: string[], t: Transport | undefined, opts: { tty?: boolean; env?: Record<string, string> } = {}): Promise<InProcessResult> {
  const io = testIO({ tty: Boolean(opts.tty) });
  const state = tmpDir('pvx-state-');
  const code = await run(args, {
    io,
    env: { PVX_STATE_DIR: state, PVX_RUNTIME_DIR: path.join(state, 'run'), ...opts.env },
    cwd: state,
    ...(t ? { transportFactory: () => t } : { transportFactory: () => { throw new Error('no transport expected in this test'); } }),
  });
  // every --json document a command test produces must match the schema pvx ships for it
  if (args.includes('--json')) validEnvelope(io.stdoutText());
  return { code, stdout: io.stdoutText(), stderr: io.stderrText(), io };
}
