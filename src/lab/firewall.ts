/** The node-local nftables table of the block-udp fault. */
import { runProcess } from './process.js';
import type { RunningNode } from './exec.js';
import { blockUdpRuleset } from './node-files.js';

/** nftables table the block-udp fault uses inside a node. */
export const FAULT_TABLE = 'pvxlab';

/** Load a ruleset into the node's nftables (a per-netns ruleset; the host's is never touched). */
export async function nft(n: RunningNode, ruleset: string): Promise<void> {
  const res = await runProcess('nsenter', [`--net=${n.files.net}`, '--', 'nft', '-f', '-'], { input: ruleset });
  if (res.exitCode !== 0) throw new Error(`${n.name}: nft failed: ${res.stderr.trim()}`);
}

/** Drop the given UDP ports on the node, in and out (an empty list removes the table). */
export async function setBlockedUdp(n: RunningNode, ports: readonly string[]): Promise<void> {
  await nft(n, blockUdpRuleset(FAULT_TABLE, ports));
}
