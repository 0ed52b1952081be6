/** Per-user directories (XDG): state (journal, backups), runtime (ssh control sockets), config. */
import os from 'node:os';
import path from 'node:path';

/** Where pvx keeps its journal and backups; PVX_STATE_DIR overrides. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['PVX_STATE_DIR']) return env['PVX_STATE_DIR'];
  const base = env['XDG_STATE_HOME'] || path.join(env['HOME'] || os.homedir(), '.local', 'state');
  return path.join(base, 'pvx');
}

/** Where teardown backup sets go by default: `<state dir>/backups`. */
export function backupsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(env), 'backups');
}

/** Where ssh control sockets live: private to the user, short enough for a unix socket path. */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['PVX_RUNTIME_DIR']) return env['PVX_RUNTIME_DIR'];
  if (env['XDG_RUNTIME_DIR']) return path.join(env['XDG_RUNTIME_DIR'], 'pvx');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return path.join(os.tmpdir(), `pvx-${uid}`);
}

/** The user's pvx config dir ($XDG_CONFIG_HOME/pvx). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CONFIG_HOME'] || path.join(env['HOME'] || os.homedir(), '.config');
  return path.join(base, 'pvx');
}

/** Expand a leading `~/` to the home directory. */
export function expandHome(p: string, env: NodeJS.ProcessEnv = process.env): string {
  if (p === '~') return env['HOME'] || os.homedir();
  if (p.startsWith('~/')) return path.join(env['HOME'] || os.homedir(), p.slice(2));
  return p;
}
