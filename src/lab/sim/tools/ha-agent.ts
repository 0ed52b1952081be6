/**
 * The HA resource agents (PVE::HA::Resources::PVEVM / PVECT) as the LRM runs them: the guest
 * tools' own start, stop and migration tasks, marked as started by HA, with their task logs.
 */
import type { LrmResult } from '../core/crm.js';
import type { SimEnv } from '../core/env.js';
import { errorText } from '../core/errors.js';
import { runState, type GuestType } from '../core/guests.js';
import type { LrmAction } from '../core/lrm.js';
import { startGuestTask, stopGuestTask } from './guest-ops.js';
import { haMigrateGuest } from './migrate.js';

function guestOf(sid: string): { type: GuestType; vmid: number } {
  const [t, id] = sid.split(':');
  return { type: t === 'ct' ? 'lxc' : 'qemu', vmid: Number(id) };
}

async function exitCode(p: Promise<{ ok: boolean }>): Promise<number> {
  return (await p).ok ? 0 : 1;
}

/** Run one LRM command to its end; never throws (a failure is a non-zero exit code, as the CRM expects). */
export async function runAgentAction(env: SimEnv, a: LrmAction, state: string, log: (line: string) => void): Promise<LrmResult> {
  const { type, vmid } = guestOf(a.sid);
  const running = (): boolean => runState(env.paths, env.nodename, vmid) !== undefined;
  let code = 0;
  try {
    switch (a.kind) {
      case 'start':
        if (!running()) {
          log(`starting service ${a.sid}`);
          code = await exitCode(startGuestTask(env, type, vmid, { haStarted: true }));
        }
        break;
      case 'stop':
        if (running()) {
          log(`stopping service ${a.sid}`);
          code = await exitCode(stopGuestTask(env, type, vmid, { haStarted: true }));
        }
        break;
      case 'migrate':
      case 'relocate':
        if (a.kind === 'relocate' && running()) {
          log(`stopping service ${a.sid} (relocate)`);
          code = await exitCode(stopGuestTask(env, type, vmid, { haStarted: true }));
        }
        if (code === 0) {
          log(`service ${a.sid} - start ${a.kind} to node '${a.target}'`);
          code = await exitCode(haMigrateGuest(env, type, vmid, a.target));
          log(`service ${a.sid} - end ${a.kind} to node '${a.target}'${code ? ' (failed)' : ''}`);
        }
        break;
    }
  } catch (e) {
    log(`service ${a.sid}: ${errorText(e).trim()}`);
    code = 1;
  }
  return { sid: a.sid, state, exit_code: code };
}
