/** Scratch directories under the OS temp dir, removed by the caller. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh temporary directory. */
export function tmpDir(prefix = 'pvx-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}
