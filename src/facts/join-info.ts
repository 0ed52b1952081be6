/** The join information of a cluster member (`pvesh get /cluster/config/join`): what a joining node pins. */
import { pveshGet } from '../pve/argv.js';
import { ParseError } from '../pve/parse/errors.js';
import { parseJoinInfo, type JoinInfo } from '../pve/parse/pvesh-join-info.js';
import { lastLine } from '../pve/parse/text.js';
import type { Transport } from '../transport/types.js';
import type { Timing } from './node.js';

/** The join information, or why it could not be read. */
export type JoinInfoRead = { info: JoinInfo } | { problem: string; /** pvesh failed (it may succeed later); false for output pvx cannot parse */ failed: boolean };

/** Read the join information from a member once (so the plan shows the real fingerprint). */
export async function readJoinInfo(t: Transport, member: string): Promise<JoinInfoRead> {
  const r = await t.exec(member, pveshGet('/cluster/config/join'), { title: 'read the join information' });
  if (r.exitCode !== 0) return { problem: lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`, failed: true };
  try {
    return { info: parseJoinInfo(r.stdout) };
  } catch (e) {
    if (e instanceof ParseError) return { problem: e.message, failed: false };
    throw e;
  }
}

/**
 * Read the join information, again until it can be read or `timing.settleTimeoutMs` has passed.
 * PVE builds it from every member's certificate in /etc/pve/nodes/<node>/, and dies while one is
 * missing: a node that has just joined writes its own only once it is quorate, and the other
 * members see the file a sync later. A join right after another one meets exactly that.
 */
export async function readJoinInfoSettled(t: Transport, member: string, timing: Timing): Promise<JoinInfoRead> {
  const deadline = timing.now() + timing.settleTimeoutMs;
  for (;;) {
    const read = await readJoinInfo(t, member);
    if ('info' in read || !read.failed || timing.now() + timing.pollMs > deadline) return read;
    await timing.sleep(timing.pollMs);
  }
}
