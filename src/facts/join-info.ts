/** The join information of a cluster member (`pvesh get /cluster/config/join`): what a joining node pins. */
import { pveshGet } from '../pve/argv.js';
import { ParseError } from '../pve/parse/errors.js';
import { parseJoinInfo, type JoinInfo } from '../pve/parse/pvesh-join-info.js';
import type { Transport } from '../transport/types.js';

/** Read the join information from a member (so the plan shows the real fingerprint); undefined when it cannot be read. */
export async function readJoinInfo(t: Transport, member: string): Promise<JoinInfo | undefined> {
  const r = await t.exec(member, pveshGet('/cluster/config/join'));
  if (r.exitCode !== 0) return undefined;
  try {
    return parseJoinInfo(r.stdout);
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    throw e;
  }
}
