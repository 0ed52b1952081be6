/** Per-user directories (XDG): state (journal, backups), runtime (ssh control sockets), config. */
import os from 'node:os';
import path from 'node:path';

// the lab may use only this module of config: it reads the PVX_* table through it
export { readPvxEnv } from './env-vars.js';

/** Where pvx keeps its journal and backups; `override` (PVX_STATE_DIR) wins over XDG_STATE_HOME. */
export function stateDir(override: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (override) return override;
  const base = env['XDG_STATE_HOME'] || path.join(env['HOME'] || os.homedir(), '.local', 'state');
  return path.join(base, 'pvx');
}

/** Where teardown backup sets go by default: `<state dir>/backups`. */
export function backupsDir(stateOverride: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(stateOverride, env), 'backups');
}

/** Where ssh control sockets live: private to the user, short enough for a unix socket path; `override` is PVX_RUNTIME_DIR. */
export function runtimeDir(override: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (override) return override;
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
