/** The shape of a simulated node-side tool (pvecm, qm, systemctl, …). */
import type { NodeIdentity } from '../layout.js';

/** What every simulated tool gets: who it runs on, its streams, its stdin. */
export interface SimContext {
  node: NodeIdentity;
  /** the name the tool was invoked as (argv0 basename) */
  tool: string;
  out(text: string): void;
  err(text: string): void;
  /** whole stdin (empty when stdin is a TTY or closed) */
  readStdin(): Promise<string>;
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** A simulated tool: gets its arguments, returns its exit code. */
export interface SimTool {
  name: string;
  run(args: string[], ctx: SimContext): Promise<number>;
}
