/** One `up`/`down` at a time per lab: a lock file holding the PID of its owner. */
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StepError } from '../errors.js';
import { isAlive } from './procfs.js';

async function take(file: string): Promise<boolean> {
  try {
    await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  }
}

/** Run `fn` holding the lock of the lab at `root`; a lock left by a dead process is taken over. */
export async function withLabLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(root, { recursive: true });
  const file = path.join(root, '.lock');
  if (!(await take(file))) {
    const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && (await isAlive(owner))) {
      throw new StepError(`another pvx lab command (PID ${owner}) is working on ${root}`, { code: 'LAB_BUSY', hint: 'wait for it to finish' });
    }
    await unlink(file).catch(() => undefined);
    if (!(await take(file))) throw new StepError(`cannot lock ${root}`, { code: 'LAB_BUSY' });
  }
  try {
    return await fn();
  } finally {
    await unlink(file).catch(() => undefined);
  }
}
