/** Entry of every simulated tool on a lab node: `node main.js <tool> [args…]`. */
import { readFileSync } from 'node:fs';
import { NODE_IDENTITY_FILE, type NodeIdentity } from '../layout.js';
import { SIM_TOOLS } from './registry.js';
import type { SimContext } from './types.js';

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  if (stream.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

async function main(argv: string[]): Promise<number> {
  const [tool, ...args] = argv;
  const load = tool ? SIM_TOOLS[tool] : undefined;
  if (!tool || !load) {
    process.stderr.write(`pvx-lab: unknown simulated tool '${tool ?? ''}'\n`);
    return 127;
  }
  const node = JSON.parse(readFileSync(process.env['PVX_LAB_NODE_FILE'] || NODE_IDENTITY_FILE, 'utf8')) as NodeIdentity;
  let stdinCache: Promise<string> | undefined;
  const ctx: SimContext = {
    node,
    tool,
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    readStdin: () => (stdinCache ??= readAll(process.stdin)),
    // a getter: creating process.stdin costs a stream set-up most tools never need
    get stdinIsTTY() {
      return Boolean(process.stdin.isTTY);
    },
    env: process.env,
  };
  const impl = await load();
  return impl.run(args, ctx);
}

main(process.argv.slice(2)).then(
  (code) => {
    // let stdout drain before exiting (pipes to ssh are asynchronous)
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 255;
  },
);
