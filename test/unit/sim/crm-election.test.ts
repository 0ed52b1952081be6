import { mkdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MAX_ACTIVE_IDLE_ROUNDS,
  allowedToGetIdle,
  canGetActive,
  countFencedServices,
  crmElectionRound,
  type CrmElection,
  type CrmHealth,
} from '../../../src/lab/sim/core/crm-election.js';
import { simPaths } from '../../../src/lab/sim/core/paths.js';
import { getPveLock, newPveLockHold, releasePveLock, type PveLockHold } from '../../../src/lab/sim/core/pve-lock.js';
import { tmpDir } from '../../helpers/tmp.js';
import { recordingCtx } from './ctx.js';

const SERVICE = { 'vm:100': { state: 'started' } };

function health(over: Partial<CrmHealth> = {}): CrmHealth {
  return {
    nodename: 'pve2',
    quorate: true,
    updated: true,
    status: { master_node: 'pve1', node_status: { pve1: 'online', pve2: 'online', pve3: 'online' }, service_status: {} },
    services: SERVICE,
    pendingCommands: false,
    ...over,
  };
}

describe('can_get_active', () => {
  it('needs quorum, an updated cluster state and a readable manager status', () => {
    expect(canGetActive(health(), false)).toBe(true);
    expect(canGetActive(health({ quorate: false }), false)).toBe(false);
    expect(canGetActive(health({ updated: false }), true)).toBe(false);
    expect(canGetActive(health({ status: undefined }), true)).toBe(false);
  });

  it('refuses a node one of whose services is being fenced', () => {
    const status = { node_status: {}, service_status: { 'vm:100': { node: 'pve2', state: 'fence' }, 'vm:101': { node: 'pve1', state: 'fence' } } };
    expect(countFencedServices(status.service_status, 'pve2')).toBe(1);
    expect(canGetActive(health({ status }), true)).toBe(false);
    expect(canGetActive(health({ status, nodename: 'pve3' }), true)).toBe(true);
  });

  it('without resources: only with work for a master and no other master online', () => {
    const none = { services: {} };
    expect(canGetActive(health(none), false)).toBe(false);
    expect(canGetActive(health(none), true)).toBe(true);
    expect(canGetActive(health({ ...none, services: undefined }), false)).toBe(false);
    // pending commands, but pve1 is an online master: it takes them
    expect(canGetActive(health({ ...none, pendingCommands: true }), false)).toBe(false);
    const noMaster = { node_status: { pve1: 'online', pve2: 'online' }, service_status: {} };
    expect(canGetActive(health({ ...none, status: noMaster }), false)).toBe(false);
    expect(canGetActive(health({ ...none, status: noMaster, pendingCommands: true }), false)).toBe(true);
    expect(canGetActive(health({ ...none, status: { ...noMaster, service_status: { 'vm:9': { node: 'pve1', state: 'started' } } } }), false)).toBe(true);
    expect(canGetActive(health({ ...none, status: { ...noMaster, disarm: { mode: 'freeze', state: 'disarmed' } } }), false)).toBe(true);
    // a node in maintenance whose request is gone must be taken out of it
    const maint = { node_status: { pve1: 'maintenance', pve2: 'online' }, service_status: {} };
    expect(canGetActive(health({ ...none, status: maint }), false)).toBe(true);
    expect(canGetActive(health({ ...none, status: { ...maint, node_request: { pve1: { maintenance: 1 } } } }), false)).toBe(false);
    // the master that is gone (not online), or this node's own: work for it
    const gone = { master_node: 'pve1', node_status: { pve1: 'unknown', pve2: 'online' }, service_status: {} };
    expect(canGetActive(health({ ...none, status: gone, pendingCommands: true }), false)).toBe(true);
  });
});

describe('allowed_to_get_idle', () => {
  it('only without resources, stale service entries or a disarmed stack', () => {
    expect(allowedToGetIdle(health({ services: {} }))).toBe(true);
    expect(allowedToGetIdle(health())).toBe(false);
    expect(allowedToGetIdle(health({ services: {}, quorate: false }))).toBe(false);
    expect(allowedToGetIdle(health({ services: {}, status: { node_status: {}, service_status: { 'vm:1': { node: 'pve1', state: 'stopped' } } } }))).toBe(false);
    expect(allowedToGetIdle(health({ services: {}, status: { node_status: {}, service_status: {}, disarm: { state: 'disarmed' } } }))).toBe(false);
  });
});

/** CRMs on one cluster taking the real lock in a folder standing for /etc/pve, on a clock the test moves. */
function cluster(names: string[], lifetime = 12) {
  const dir = tmpDir('pvx-sim-crm-');
  const paths = simPaths(recordingCtx({ labRoot: path.join(dir, 'lab'), root: path.join(dir, 'root') }).ctx.node, { PVX_SIM_ROOT: path.join(dir, 'root') });
  mkdirSync(path.join(paths.etcPve, 'priv'), { recursive: true });
  const lock = path.join(paths.etcPve, 'priv', 'lock', 'ha_manager_lock');
  let now = Math.floor(Date.now() / 1000);
  const holds = new Map<string, PveLockHold>(names.map((n) => [n, newPveLockHold()]));
  const logs = new Map<string, string[]>(names.map((n) => [n, []]));
  const crms = new Map<string, CrmElection>(names.map((n) => [n, { state: 'wait_for_quorum', activeIdleRounds: 0 }]));
  const up = new Set(names);
  let h: Partial<CrmHealth> = {};
  const release = (name: string): boolean => releasePveLock(paths, 'ha_manager_lock', holds.get(name) as PveLockHold);
  const round = async (name: string): Promise<boolean> =>
    crmElectionRound(crms.get(name) as CrmElection, {
      canGetActive: (allow) => canGetActive(health({ nodename: name, status: { node_status: {}, service_status: {} }, ...h }), allow),
      allowedToGetIdle: () => allowedToGetIdle(health({ nodename: name, ...h })),
      getLock: async () => {
        const got = getPveLock(paths, 'ha_manager_lock', holds.get(name) as PveLockHold, lifetime, now).got;
        // pmxcfs stamps a new lock with the time it is made: the test's clock, not the real one
        if (got && statSync(lock).mtimeMs / 1000 < now) utimesSync(lock, 0, now);
        return got;
      },
      releaseLock: () => void release(name),
      log: (l) => void logs.get(name)?.push(l),
    });
  return {
    crms,
    logs,
    /** who holds the lock by their own account */
    holders: () => names.filter((n) => holds.get(n)?.got),
    setHealth: (x: Partial<CrmHealth>) => void (h = x),
    stop: (name: string) => void up.delete(name),
    release,
    /** one round of every running CRM, in order, one second later */
    tick: async (): Promise<string[]> => {
      now++;
      const masters: string[] = [];
      for (const n of names) if (up.has(n) && (await round(n))) masters.push(n);
      return masters;
    },
  };
}

describe('the CRM election (CRM.pm work)', () => {
  it('the first CRM to get the lock is master, the others are slaves that keep trying', async () => {
    const c = cluster(['pve1', 'pve2', 'pve3']);
    expect(await c.tick()).toEqual(['pve1']);
    expect(c.crms.get('pve1')?.state).toBe('master');
    expect(c.crms.get('pve2')?.state).toBe('slave');
    expect(c.logs.get('pve1')).toEqual(['status change wait_for_quorum => master']);
    expect(c.logs.get('pve2')).toEqual(['status change wait_for_quorum => slave']);
    for (let i = 0; i < 30; i++) expect(await c.tick()).toEqual(['pve1']);
  });

  it('a master that vanishes without releasing the lock is replaced only once the lock has expired', async () => {
    const c = cluster(['pve1', 'pve2', 'pve3'], 12);
    await c.tick();
    c.stop('pve1');
    let rounds = 0;
    let masters: string[] = [];
    for (; rounds < 100; rounds++) if ((masters = await c.tick()).length) break;
    // 12 s lifetime: the lock is free after 12 rounds without a renewal; one of the others gets it
    expect(rounds).toBeGreaterThanOrEqual(11);
    expect(rounds).toBeLessThanOrEqual(13);
    expect(masters).toHaveLength(1);
    const next = masters[0] as string;
    expect(['pve2', 'pve3']).toContain(next);
    expect(c.logs.get(next)?.at(-1)).toBe('status change slave => master');
    for (let i = 0; i < 20; i++) expect(await c.tick()).toEqual([next]);
  });

  it('a master that releases the lock (it stops) is replaced in the next round', async () => {
    const c = cluster(['pve1', 'pve2']);
    await c.tick();
    c.stop('pve1');
    expect(c.release('pve1')).toBe(true);
    expect(await c.tick()).toEqual(['pve2']);
  });

  it('a master whose renewal fails goes through lost_manager_lock to wait_for_quorum in one round', async () => {
    const logs: string[] = [];
    const e: CrmElection = { state: 'master', activeIdleRounds: 0 };
    const master = await crmElectionRound(e, { canGetActive: () => true, allowedToGetIdle: () => false, getLock: async () => false, releaseLock: () => undefined, log: (l) => void logs.push(l) });
    expect(master).toBe(false);
    expect(e.state).toBe('wait_for_quorum');
    expect(logs).toEqual(['status change master => lost_manager_lock', 'status change lost_manager_lock => wait_for_quorum']);
  });

  it('a slave that cannot get active (quorum lost) waits for quorum; without resources nobody tries for the lock', async () => {
    const c = cluster(['pve1', 'pve2']);
    await c.tick();
    c.setHealth({ quorate: false });
    await c.tick();
    expect(c.crms.get('pve2')?.state).toBe('wait_for_quorum');
    const idle = cluster(['pve1']);
    idle.setHealth({ services: {} });
    expect(await idle.tick()).toEqual([]);
    expect(idle.holders()).toEqual([]);
  });

  it(`a master with nothing to manage for ${MAX_ACTIVE_IDLE_ROUNDS} rounds releases the lock and goes idle`, async () => {
    const c = cluster(['pve1']);
    await c.tick();
    c.setHealth({ services: {} });
    for (let i = 0; i < MAX_ACTIVE_IDLE_ROUNDS; i++) expect(await c.tick()).toEqual(['pve1']);
    expect(await c.tick()).toEqual([]);
    expect(c.holders()).toEqual([]);
    expect(c.logs.get('pve1')?.slice(-2)).toEqual([`cluster had no service configured for ${MAX_ACTIVE_IDLE_ROUNDS} rounds, going idle.`, 'status change master => wait_for_quorum']);
  });
});
