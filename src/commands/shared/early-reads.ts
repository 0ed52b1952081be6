/**
 * Reads a command starts from its arguments alone, before its own modules load: `cluster status`
 * (all inventory nodes, or `--node`) starts each node's read while pvx loads the command tree,
 * the command and its renderer, so connecting and reading overlap pvx's own start-up.
 *
 * The argument reading here is deliberately narrow: an argument it does not know (any other
 * command, flag or form) means no early start, and the command runs as it always does. The run
 * uses what was started only when commander's own parse names the same inventory file and
 * connect timeout (makeDeps), so a disagreement costs a wasted read, never a wrong one.
 */
import { isPositiveWhole, type PvxEnv } from '../../config/env-vars.js';
import type { EarlyStart, TransportFactory } from '../../context.js';
import { PvxError } from '../../errors.js';

/** What an early start needs of the run. */
export interface EarlyContext {
  pvx: PvxEnv;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** the run's transport factory, when it is not the SSH one (command tests) */
  transportFactory?: TransportFactory | undefined;
}

/** What argv asks of an early start: the inventory flag, the connect timeout flag, and the one node (if any). */
export interface EarlyArgs {
  inventory: string | undefined;
  connectTimeout: number | undefined;
  node: string | undefined;
}

const SWITCHES = new Set(['--json', '-q', '--quiet', '-v', '--verbose', '--no-color']);

/**
 * Read argv as `pvx [globals] cluster status [--node <name>]` with globals anywhere after pvx;
 * undefined for anything else (another command, --dry-run, --help, a repeated or unknown flag).
 */
export function earlyStatusArgs(argv: readonly string[]): EarlyArgs | undefined {
  const words: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (SWITCHES.has(a)) continue;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const name = flag === '-i' ? '--inventory' : flag;
    if (name === '--inventory' || name === '--connect-timeout' || (name === '--node' && words.length === 2)) {
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || values.has(name)) return undefined;
      values.set(name, value);
      continue;
    }
    if (a.startsWith('-')) return undefined;
    words.push(a);
  }
  if (words.length !== 2 || words[0] !== 'cluster' || words[1] !== 'status') return undefined;
  const timeout = values.get('--connect-timeout');
  if (timeout !== undefined && !isPositiveWhole(timeout)) return undefined;
  return { inventory: values.get('--inventory'), connectTimeout: timeout === undefined ? undefined : Number(timeout), node: values.get('--node') };
}

/** Start the reads argv asks for; undefined when it asks for none, or anything in the way would fail the command anyway. */
export async function startEarlyReads(argv: readonly string[], ctx: EarlyContext): Promise<EarlyStart | undefined> {
  const args = earlyStatusArgs(argv);
  if (!args) return undefined;
  const [{ findInventory, loadInventory }, { sshTransportFactory }, { PrefetchingTransport }, { nodeReadArgv }] = await Promise.all([
    import('../../config/inventory.js'),
    import('../../context.js'),
    import('../../transport/prefetch.js'),
    import('../../facts/node-read.js'),
  ]);
  try {
    const file = findInventory(args.inventory, ctx.pvx.inventory, ctx.env, ctx.cwd);
    if (!file) return undefined;
    const inventory = loadInventory(file, ctx.env);
    const nodes = args.node === undefined ? inventory.nodes : inventory.nodes.filter((n) => n.name === args.node);
    if (nodes.length === 0) return undefined;
    // as the run resolves it (the flag, else PVX_CONNECT_TIMEOUT, whose bad value is the run's own error to report)
    const connectTimeout = args.connectTimeout ?? ctx.pvx.connectTimeout;
    const factory = ctx.transportFactory ?? sshTransportFactory(connectTimeout, ctx.pvx, ctx.env);
    const transport = new PrefetchingTransport(factory(inventory.nodes, inventory));
    for (const n of nodes) transport.prefetch(n.name, nodeReadArgv());
    return { file, inventory, connectTimeout, transport };
  } catch (e) {
    // the run meets the same error where it reports errors
    if (e instanceof PvxError) return undefined;
    throw e;
  }
}
