/**
 * The PVX_* environment variables pvx reads, in one table: name, what it does, how its value is
 * read. A run reads them once (readPvxEnv); everything below gets the parsed values.
 */
import { UsageError } from '../errors.js';

/** A hold: before the first step on `node`, create `file` and wait until it is removed. */
export interface Hold {
  node: string;
  file: string;
}

/** Parse `PVX_TEARDOWN_HOLD=<node>:<file>`; undefined when unset. */
export function parseHold(value: string | undefined): Hold | undefined {
  if (value === undefined || value === '') return undefined;
  const at = value.indexOf(':');
  const node = value.slice(0, at);
  const file = value.slice(at + 1);
  if (at <= 0 || !file.startsWith('/')) throw new UsageError(`PVX_TEARDOWN_HOLD must be <node>:<absolute file>, got '${value}'`);
  return { node, file };
}

/**
 * The PVX_* values of a run, parsed. A value that can be wrong is checked when it is first used,
 * so a bad one fails only the command that needs it (and not when a flag replaces it).
 */
export interface PvxEnv {
  /** PVX_INVENTORY */
  readonly inventory: string | undefined;
  /** PVX_STATE_DIR */
  readonly stateDir: string | undefined;
  /** PVX_RUNTIME_DIR */
  readonly runtimeDir: string | undefined;
  /** PVX_CONNECT_TIMEOUT (UsageError on first use when not a positive whole number) */
  readonly connectTimeout: number | undefined;
  /** PVX_VERBOSE=1 */
  readonly verbose: boolean;
  /** PVX_PASSWORD_FILE */
  readonly passwordFile: string | undefined;
  /** PVX_TEARDOWN_HOLD (UsageError on first use when not `<node>:<absolute file>`) */
  readonly teardownHold: Hold | undefined;
}

/** One variable of the table. */
export interface EnvVar<K extends keyof PvxEnv = keyof PvxEnv> {
  name: string;
  /** one line: what it does (the README's table says the same) */
  description: string;
  /** the value from the raw text (undefined when the variable is not set) */
  parse(raw: string | undefined): PvxEnv[K];
}

/** A positive whole number as pvx accepts one in a flag or a variable (no sign, no leading zero). */
export function isPositiveWhole(text: string): boolean {
  return /^[1-9][0-9]*$/.test(text);
}

// an empty value counts as unset, as `VAR= pvx …` means
const text = (raw: string | undefined): string | undefined => raw || undefined;

/** Every PVX_* variable pvx reads, by its key in PvxEnv. */
export const PVX_ENV_VARS: { readonly [K in keyof PvxEnv]: EnvVar<K> } = {
  inventory: {
    name: 'PVX_INVENTORY',
    description: 'the inventory file, when -i/--inventory is not given',
    parse: text,
  },
  verbose: {
    name: 'PVX_VERBOSE',
    description: '1: as --verbose, print every remote command, its node, exit code and duration on stderr',
    parse: (raw) => raw === '1',
  },
  connectTimeout: {
    name: 'PVX_CONNECT_TIMEOUT',
    description: 'SSH connect timeout in seconds (a positive whole number, else exit 2), when --connect-timeout is not given',
    parse: (raw) => {
      if (!raw) return undefined;
      if (!isPositiveWhole(raw)) throw new UsageError(`PVX_CONNECT_TIMEOUT must be a positive whole number, got '${raw}'`);
      return Number(raw);
    },
  },
  passwordFile: {
    name: 'PVX_PASSWORD_FILE',
    description: 'file holding the root password for joins, when --password-file is not given',
    parse: text,
  },
  stateDir: {
    name: 'PVX_STATE_DIR',
    description: 'folder of the journal, teardown backups and maintenance records (default $XDG_STATE_HOME/pvx)',
    parse: text,
  },
  runtimeDir: {
    name: 'PVX_RUNTIME_DIR',
    description: 'folder of the ssh control sockets (default $XDG_RUNTIME_DIR/pvx, else $TMPDIR/pvx-<uid>)',
    parse: text,
  },
  teardownHold: {
    name: 'PVX_TEARDOWN_HOLD',
    description: '<node>:<absolute file>: cluster teardown creates the file before the first step on the node and waits until it is removed (else exit 2)',
    parse: parseHold,
  },
};

/** Read the PVX_* variables of `env` once; each value is parsed on first use and kept. */
export function readPvxEnv(env: NodeJS.ProcessEnv): PvxEnv {
  const out = {} as PvxEnv;
  for (const [key, v] of Object.entries(PVX_ENV_VARS) as Array<[keyof PvxEnv, EnvVar]>) {
    const raw = env[v.name];
    let parsed: { value: unknown } | undefined;
    Object.defineProperty(out, key, {
      enumerable: true,
      get: () => (parsed ??= { value: v.parse(raw) }).value,
    });
  }
  return out;
}
