/** Waiting for the HA stack: `ha-manager add|set` only write configuration; the CRM acts rounds later. */
import type { HaService } from '../pve/parse/ha-manager-status.js';
import type { HaState } from '../pve/names.js';
import type { Timing } from './node.js';

/** The verbose states (reference §5.3) in which a requested state has been carried out. */
export function settledStates(state: HaState): string[] {
  switch (state) {
    case 'started':
      return ['started'];
    case 'stopped':
      return ['stopped'];
    case 'disabled':
      return ['disabled', 'stopped'];
    case 'ignored':
      return ['ignored'];
  }
}

/** What still differs from the wanted states, one item per service; empty when all are there. */
export function pendingStates(services: readonly HaService[], want: ReadonlyMap<string, HaState>): string[] {
  const out: string[] = [];
  for (const [sid, state] of want) {
    const s = services.find((x) => x.sid === sid);
    if (!s) out.push(`${sid} is not in the HA status`);
    else if (!settledStates(state).includes(s.state)) out.push(`${sid} is ${s.state}${s.node ? ` on ${s.node}` : ''} (want ${state})`);
  }
  return out;
}

/** Services the HA stack gave up on. */
export function erroredServices(services: readonly HaService[], want: ReadonlyMap<string, HaState>): string[] {
  return services.filter((s) => want.has(s.sid) && s.state === 'error').map((s) => s.sid);
}

/** Re-read until every service shows its wanted state, one errs, or the time is up; returns the problem or undefined. */
export async function waitForHaStates(read: () => Promise<HaService[]>, want: ReadonlyMap<string, HaState>, timeoutMs: number, timing: Pick<Timing, 'now' | 'sleep' | 'pollMs'>): Promise<string | undefined> {
  const deadline = timing.now() + timeoutMs;
  let last: string[] = [];
  for (;;) {
    let services: HaService[] | undefined;
    try {
      services = await read();
    } catch (e) {
      last = [`the HA status could not be read: ${e instanceof Error ? e.message : String(e)}`];
    }
    if (services) {
      const errored = erroredServices(services, want);
      if (errored.length > 0) return `the HA stack put ${errored.join(', ')} in the error state; see ha-manager status and the task log on its node`;
      last = pendingStates(services, want);
      if (last.length === 0) return undefined;
    }
    if (timing.now() >= deadline) return `the HA stack did not settle within ${Math.round(timeoutMs / 1000)} s: ${last.join('; ')}`;
    await timing.sleep(timing.pollMs);
  }
}
