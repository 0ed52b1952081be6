/** The folders where pvx keeps its ssh control sockets, which the lab closes when a node changes under them. */
import os from 'node:os';
import path from 'node:path';
import { readPvxEnv, runtimeDir } from '../../config/paths.js';

/** The folder of the current settings, then the fallbacks an earlier run may have used. */
export function controlDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dirs = [runtimeDir(readPvxEnv(env).runtimeDir, env), path.join(os.tmpdir(), `pvx-${uid}`), path.join('/tmp', `pvx-${uid}`)];
  if (env['XDG_RUNTIME_DIR']) dirs.push(path.join(env['XDG_RUNTIME_DIR'], 'pvx'));
  return [...new Set(dirs)];
}
