/** A SimContext that records what a simulated tool prints. */
import type { NodeIdentity } from '../../../src/lab/layout.js';
import type { SimContext } from '../../../src/lab/sim/types.js';

/** The recording context and its captured streams. */
export interface Recorded {
  ctx: SimContext;
  out: () => string;
  err: () => string;
}

/** A context for node `pve1` of a lab rooted at `labRoot`, with PVX_SIM_ROOT at `root`. */
export function recordingCtx(opts: { labRoot?: string; root?: string; pveVersion?: string; stdin?: string; name?: string } = {}): Recorded {
  let out = '';
  let err = '';
  const node: NodeIdentity = {
    lab: 'unit',
    name: opts.name ?? 'pve1',
    index: 1,
    address: '10.99.0.11',
    labRoot: opts.labRoot ?? '/nonexistent/unit',
    pveVersion: opts.pveVersion ?? '8.4.11',
    nodes: [{ name: 'pve1', address: '10.99.0.11' }],
  };
  const ctx: SimContext = {
    node,
    tool: 'test',
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    readStdin: async () => opts.stdin ?? '',
    stdinIsTTY: false,
    env: opts.root ? { PVX_SIM_ROOT: opts.root } : { PVX_SIM_ROOT: '/nonexistent-sim-root' },
  };
  return { ctx, out: () => out, err: () => err };
}
