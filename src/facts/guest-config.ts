/** Reads of one guest that several commands need (migrate, ha): its configuration, on its node. */
import { UnreachableError } from '../errors.js';
import { guestConfig } from '../pve/argv.js';
import { ParseError } from '../pve/parse/errors.js';
import { parseGuestConfig, type GuestConfigFacts } from '../pve/parse/guest-config.js';
import type { GuestResource } from '../pve/parse/pvesh-resources.js';
import { lastLine } from '../pve/parse/text.js';
import type { Transport } from '../transport/types.js';
import { guestLabel } from '../pve/names.js';

const READ_TIMEOUT_MS = 60_000;


/** `qm config` / `pct config` on the guest's node, or why it could not be read. */
export async function readGuestConfig(t: Transport, g: GuestResource): Promise<{ config: GuestConfigFacts } | { problem: string; unreachable?: boolean }> {
  try {
    const r = await t.exec(g.node, guestConfig(g.type, g.vmid), { timeoutMs: READ_TIMEOUT_MS, title: `read the configuration of ${guestLabel(g)}` });
    if (r.exitCode !== 0) return { problem: `its configuration could not be read: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}` };
    return { config: parseGuestConfig(g.type, r.stdout) };
  } catch (e) {
    if (e instanceof UnreachableError) return { problem: `its node ${g.node} cannot be reached: ${e.message}`, unreachable: true };
    if (e instanceof ParseError) return { problem: `its configuration could not be understood: ${e.message}` };
    throw e;
  }
}
