/** What every handler needs: the tool context, the node's paths and its simulated release. */
import type { SimContext } from '../types.js';
import { simPaths, type SimPaths } from './paths.js';
import { pveRelease, type PveRelease } from './versions.js';

/** Handler environment of one tool run. */
export interface SimEnv {
  ctx: SimContext;
  paths: SimPaths;
  rel: PveRelease;
  /** this node's name */
  nodename: string;
}

/** Build the environment of a tool run. */
export function simEnv(ctx: SimContext): SimEnv {
  return { ctx, paths: simPaths(ctx.node, ctx.env), rel: pveRelease(ctx.node.pveVersion), nodename: ctx.node.name };
}
