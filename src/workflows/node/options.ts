/** The options of `pvx node drain` and `pvx node maintenance`, validated before anything runs (every problem at once). */
import { nodeNameProblem } from '../../pve/names.js';
import { parseParallelAndTimeout } from '../migrate/options.js';

/** The options as commander hands them over. */
export interface NodeMoveInput {
  node: string;
  to?: string;
  parallel?: string;
  timeout?: string;
  withLocalDisks?: boolean;
}

/** Validated options. */
export interface NodeMoveOptions {
  node: string;
  /** the targets named with --to, in order; undefined: every other online node */
  to?: string[];
  parallel: number;
  timeoutSec: number;
  withLocalDisks: boolean;
}

/** Parse and check the options; `problems` is empty when they are usable. */
export function parseNodeMoveOptions(input: NodeMoveInput): { options?: NodeMoveOptions; problems: string[] } {
  const problems: string[] = [];
  const np = nodeNameProblem(input.node);
  if (np) problems.push(`<node>: ${np}`);
  let to: string[] | undefined;
  if (input.to !== undefined) {
    to = input.to.split(',').map((s) => s.trim());
    if (to.some((n) => n === '')) problems.push(`--to must be node names separated by commas (pve2,pve3), got '${input.to}'`);
    for (const n of to.filter((x) => x !== '')) {
      const p = nodeNameProblem(n);
      if (p) problems.push(`--to: ${p}`);
    }
    if (to.includes(input.node)) problems.push(`--to names ${input.node}, the node being emptied: name the nodes its guests go to`);
    const dup = to.find((n, i) => n !== '' && to?.indexOf(n) !== i);
    if (dup !== undefined) problems.push(`--to names ${dup} twice`);
  }
  const { parallel, timeoutSec } = parseParallelAndTimeout(input, problems);
  if (problems.length > 0) return { problems };
  return { problems, options: { node: input.node, ...(to ? { to } : {}), parallel, timeoutSec, withLocalDisks: Boolean(input.withLocalDisks) } };
}
