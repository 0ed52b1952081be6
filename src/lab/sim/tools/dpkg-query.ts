/**
 * `dpkg-query` on a lab node: the real /usr/bin/dpkg-query over the node's own package database
 * (sim/core/dpkg-db.ts), brought up to date first. The node's wrapper (node-files.ts) calls the real
 * tool directly while that database is current, so this runs only after a change.
 */
import type { SimTool } from '../types.js';
import { run } from '../core/exec.js';
import { nodeDpkgDbStale, writeNodeDpkgDb } from '../core/dpkg-db.js';
import { simPaths } from '../core/paths.js';
import { NODE_IDENTITY_FILE } from '../../layout.js';

/** The real tool. */
export const REAL_DPKG_QUERY = '/usr/bin/dpkg-query';

/** The dpkg-query tool. */
export const dpkgQuery: SimTool = {
  name: 'dpkg-query',
  async run(args, ctx) {
    const dir = simPaths(ctx.node, ctx.env).dpkgDir;
    const identity = ctx.env['PVX_LAB_NODE_FILE'] || NODE_IDENTITY_FILE;
    if (nodeDpkgDbStale(dir, identity)) writeNodeDpkgDb(dir, ctx.node.pveVersion);
    const r = await run(REAL_DPKG_QUERY, [`--admindir=${dir}`, ...args], { timeoutMs: 30_000 });
    ctx.out(r.stdout);
    ctx.err(r.stderr);
    return r.exitCode;
  },
};
