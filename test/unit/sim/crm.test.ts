import { describe, expect, it } from 'vitest';
import { crmStep, type CrmInput, type CrmOutput, type CrmStatus } from '../../../src/lab/sim/core/crm.js';
import { placementsFromGroups, placementsFromRules, selectServiceNode } from '../../../src/lab/sim/core/ha-placement.js';
import { MAX_ACTIVE_IDLE_ROUNDS, hasActiveServices, hasConfiguredServices, keepResults, lrmActions, lrmRound, lrmStatus, type LrmRoundInput } from '../../../src/lab/sim/core/lrm.js';

const NODES = { pve1: { online: true }, pve2: { online: true }, pve3: { online: true } };

function input(over: Partial<CrmInput> = {}): CrmInput {
  let n = 0;
  return {
    prev: { node_status: {}, service_status: {} },
    master: 'pve1',
    now: 1000,
    services: {},
    commands: [],
    nodes: NODES,
    results: {},
    placement: {},
    unknownSince: {},
    fenceDelay: 10,
    // no lock is ever free unless a test says so; a test that asks for a lock it did not expect fails
    agentLock: (n) => {
      throw new Error(`agent lock of ${n} asked for`);
    },
    newUid: () => `uid${++n}`,
    ...over,
  };
}

/** Run steps, feeding each output back and letting every LRM report success for its services' current uids. */
function run(first: CrmInput, steps: number, lrmOk = true): CrmOutput[] {
  const outs: CrmOutput[] = [];
  let i = first;
  for (let k = 0; k < steps; k++) {
    const out = crmStep(i);
    outs.push(out);
    const results: CrmInput['results'] = {};
    if (lrmOk) {
      for (const [sid, sd] of Object.entries(out.status.service_status)) {
        results[sd.node] ??= {};
        (results[sd.node] as Record<string, unknown>)[sd.uid] = { sid, state: sd.state, exit_code: 0 };
      }
    }
    // a finished move puts the guest's config on the target, as the LRM's migration does
    const services = structuredClone(i.services);
    for (const [sid, sd] of Object.entries(out.status.service_status)) if (sd.target && services[sid]) services[sid].node = sd.target;
    // each LRM reports the mode the manager asked of it (lrm_status), read by the next step
    const modes = Object.fromEntries(Object.keys(i.nodes).map((n) => [n, out.status.node_request?.[n]?.maintenance ? 'maintenance' : 'active']));
    i = { ...i, prev: out.status, commands: [], results, services, now: i.now + 1, unknownSince: out.unknownSince, modes };
  }
  return outs;
}

const states = (outs: CrmOutput[], sid: string): string[] => outs.map((o) => `${o.status.service_status[sid]?.node ?? '-'} ${o.status.service_status[sid]?.state ?? '-'}`);

describe('crmStep', () => {
  it('starts a new service through request_start, and marks it running once its LRM confirms', () => {
    const outs = run(input({ services: { 'vm:100': { state: 'started', type: 'vm', node: 'pve1' } } }), 3);
    expect(states(outs, 'vm:100')).toEqual(['pve1 request_start', 'pve1 started', 'pve1 started']);
    expect(outs[1]?.status.service_status['vm:100']?.running).toBeUndefined();
    expect(outs[2]?.status.service_status['vm:100']?.running).toBe(1);
    expect(outs[0]?.status).toMatchObject({ master_node: 'pve1', timestamp: 1000, node_status: { pve1: 'online', pve2: 'online', pve3: 'online' } });
    expect(new Set(outs.flatMap((o) => Object.values(o.status.service_status).map((s) => s.uid))).size).toBe(2);
  });

  it('keeps a service requested stopped stopped', () => {
    const outs = run(input({ services: { 'vm:101': { state: 'stopped', type: 'vm', node: 'pve2' } } }), 3);
    expect(states(outs, 'vm:101')).toEqual(['pve2 request_stop', 'pve2 stopped', 'pve2 stopped']);
  });

  it('does not advance a started service without an LRM result', () => {
    const outs = run(input({ services: { 'vm:100': { state: 'started', type: 'vm', node: 'pve1' } } }), 3, false);
    expect(states(outs, 'vm:100')).toEqual(['pve1 request_start', 'pve1 started', 'pve1 started']);
    expect(outs[2]?.status.service_status['vm:100']?.running).toBeUndefined();
  });

  it('migrates a started VM: migrate with target, then started on the target', () => {
    const prev: CrmStatus = { node_status: { pve1: 'online', pve2: 'online', pve3: 'online' }, service_status: { 'vm:100': { node: 'pve1', state: 'started', uid: 'a', running: 1 } } };
    const outs = run(input({ prev, services: { 'vm:100': { state: 'started', type: 'vm', node: 'pve1' } }, commands: ['migrate vm:100 pve2'] }), 2);
    expect(outs[0]?.status.service_status['vm:100']).toMatchObject({ node: 'pve1', state: 'migrate', target: 'pve2' });
    expect(outs[1]?.status.service_status['vm:100']).toMatchObject({ node: 'pve2', state: 'started' });
    expect(outs[1]?.status.service_status['vm:100']?.target).toBeUndefined();
  });

  it('relocates a container on migrate, and ignores a move to its own node or a node that is not online', () => {
    const prev: CrmStatus = { node_status: {}, service_status: { 'ct:200': { node: 'pve1', state: 'started', uid: 'a' }, 'vm:100': { node: 'pve1', state: 'started', uid: 'b' } } };
    const out = crmStep(input({
      prev,
      nodes: { ...NODES, pve3: { online: false } },
      services: { 'ct:200': { state: 'started', type: 'ct', node: 'pve1' }, 'vm:100': { state: 'started', type: 'vm', node: 'pve1' } },
      commands: ['migrate ct:200 pve2', 'migrate vm:100 pve1', 'relocate vm:100 pve3'],
    }));
    expect(out.status.service_status['ct:200']).toMatchObject({ state: 'relocate', target: 'pve2' });
    expect(out.status.service_status['vm:100']).toMatchObject({ state: 'started', node: 'pve1' });
    expect(out.log).toContain('ignore crm command - service already on target node: migrate vm:100 pve1');
  });

  it('crm-command stop sets the requested state to stopped and stops the service', () => {
    const prev: CrmStatus = { node_status: {}, service_status: { 'vm:100': { node: 'pve1', state: 'started', uid: 'a', running: 1 } } };
    const outs = run(input({ prev, services: { 'vm:100': { state: 'started', type: 'vm', node: 'pve1' } }, commands: ['stop vm:100 0'] }), 2);
    expect(outs[0]?.setState).toEqual({ 'vm:100': 'stopped' });
    expect(states(outs, 'vm:100')).toEqual(['pve1 request_stop', 'pve1 stopped']);
  });

  it('drops services removed from the configuration or ignored', () => {
    const prev: CrmStatus = { node_status: {}, service_status: { 'vm:100': { node: 'pve1', state: 'started', uid: 'a' }, 'vm:101': { node: 'pve1', state: 'started', uid: 'b' } } };
    const out = crmStep(input({ prev, services: { 'vm:101': { state: 'ignored', type: 'vm', node: 'pve1' } } }));
    expect(out.status.service_status).toEqual({});
  });

  it('node maintenance: the request first, the node state once its LRM reports the mode; services move away and back on disable (NodeStatus::update)', () => {
    const services = { 'vm:100': { state: 'started', type: 'vm' as const, node: 'pve1' } };
    const prev: CrmStatus = { node_status: { pve1: 'online', pve2: 'online', pve3: 'online' }, service_status: { 'vm:100': { node: 'pve1', state: 'started', uid: 'a', running: 1 } } };
    const on = run(input({ prev, services, commands: ['enable-node-maintenance pve1'] }), 4);
    expect(on[0]?.status.node_request).toEqual({ pve1: { maintenance: 1 } });
    expect(on[0]?.status.node_status['pve1']).toBe('online');
    expect(on[0]?.status.service_status['vm:100']).toMatchObject({ state: 'started', node: 'pve1' });
    expect(on[1]?.status.node_status['pve1']).toBe('maintenance');
    expect(on[1]?.log).toContain("node 'pve1': state changed from 'online' => 'maintenance'");
    expect(on[1]?.status.service_status['vm:100']).toMatchObject({ state: 'migrate', target: 'pve2', maintenance_node: 'pve1' });
    expect(on[2]?.status.service_status['vm:100']).toMatchObject({ state: 'started', node: 'pve2', maintenance_node: 'pve1' });
    const last = on[3] as CrmOutput;
    // a second request while in maintenance is only logged
    const again = crmStep(input({ prev: last.status, services: { 'vm:100': { ...services['vm:100'], node: 'pve2' } }, commands: ['enable-node-maintenance pve1'], modes: { pve1: 'maintenance' } }));
    expect(again.log).toContain('ignoring crm command - node pve1 is already in maintenance state');
    expect(again.status.node_request).toEqual({ pve1: { maintenance: 1 } });
    const off = run(input({ prev: last.status, services: { 'vm:100': { ...services['vm:100'], node: 'pve2' } }, commands: ['disable-node-maintenance pve1'], modes: { pve1: 'maintenance' } }), 3);
    expect(off[0]?.status.node_request ?? {}).toEqual({});
    expect(off[0]?.status.node_status['pve1']).toBe('maintenance');
    expect(off[1]?.status.node_status['pve1']).toBe('online');
    expect(off[1]?.status.service_status['vm:100']).toMatchObject({ state: 'migrate', node: 'pve2', target: 'pve1' });
    expect(off[2]?.status.service_status['vm:100']).toMatchObject({ state: 'started', node: 'pve1' });
    expect(off[2]?.status.service_status['vm:100']?.maintenance_node).toBeUndefined();
  });

  it('keeps a node whose LRM is in maintenance in maintenance when it leaves the membership: no fence', () => {
    const prev: CrmStatus = { node_status: { pve1: 'online', pve2: 'online', pve3: 'maintenance' }, service_status: {}, node_request: { pve3: { maintenance: 1 } } };
    const gone = { ...NODES, pve3: { online: false } };
    expect(crmStep(input({ prev, nodes: gone, modes: { pve3: 'maintenance' } })).status.node_status['pve3']).toBe('maintenance');
    expect(crmStep(input({ prev, nodes: gone, modes: { pve3: 'active' } })).status.node_status['pve3']).toBe('unknown');
    // a request for a node that is not online is refused
    const down: CrmStatus = { node_status: { pve1: 'online', pve2: 'online', pve3: 'unknown' }, service_status: {} };
    const refused = crmStep(input({ prev: down, nodes: gone, commands: ['enable-node-maintenance pve3'] }));
    expect(refused.log).toContain('crm command error - node not online: enable-node-maintenance pve3');
    expect(refused.status.node_request ?? {}).toEqual({});
  });

  it('fences the services of a node gone for longer than the delay, and recovers them only once its agent lock is free', () => {
    const prev: CrmStatus = { node_status: { pve1: 'online', pve2: 'online', pve3: 'online' }, service_status: { 'vm:100': { node: 'pve3', state: 'started', uid: 'a', running: 1 } } };
    const services = { 'vm:100': { state: 'started', type: 'vm' as const, node: 'pve3' } };
    const gone = { ...NODES, pve3: { online: false } };
    const early = crmStep(input({ prev, services, nodes: gone, now: 1000 }));
    expect(early.status.node_status['pve3']).toBe('unknown');
    const asked: string[] = [];
    expect(early.status.service_status['vm:100']?.state).toBe('started');
    // the node's LRM still holds its agent lock: the fence is not acknowledged, nothing moves
    const held = run(input({ prev: early.status, services, nodes: gone, now: 1010, unknownSince: early.unknownSince, agentLock: (n) => (asked.push(n), false) }), 3, false);
    // only the node being fenced is asked for, once a round from the round it is in fence
    expect(asked).toEqual(['pve3', 'pve3']);
    expect(states(held, 'vm:100')).toEqual(['pve3 fence', 'pve3 fence', 'pve3 fence']);
    expect(held[1]?.status.node_status['pve3']).toBe('fence');
    expect(held.flatMap((o) => o.steal)).toEqual([]);
    expect(held[1]?.log).toContain("node 'pve3': state changed from 'unknown' => 'fence'");
    // once the lock is free: acknowledged, node back to unknown, service recovered to another node
    const last = held[2] as CrmOutput;
    const outs = run(input({ prev: last.status, services, nodes: gone, now: 1013, unknownSince: last.unknownSince, agentLock: (n) => n === 'pve3' }), 2, false);
    expect(states(outs, 'vm:100')).toEqual(['pve3 recovery', 'pve1 started']);
    expect(outs[0]?.log).toEqual(["fencing: acknowledged - got agent lock for node 'pve3'", "node 'pve3': state changed from 'fence' => 'unknown'", "service 'vm:100': state changed from 'fence' to 'recovery' (node = pve3)"]);
    expect(outs[0]?.status.node_status['pve3']).toBe('unknown');
    expect(outs[1]?.steal).toEqual([{ sid: 'vm:100', from: 'pve3', to: 'pve1' }]);
  });

  it('does not fence a gone node whose services are stopped, nor one gone for less than the delay', () => {
    const prev: CrmStatus = {
      node_status: { pve1: 'online', pve2: 'online', pve3: 'online' },
      service_status: { 'vm:100': { node: 'pve3', state: 'stopped', uid: 'a' }, 'vm:101': { node: 'pve2', state: 'started', uid: 'b', running: 1 } },
    };
    const services = { 'vm:100': { state: 'stopped', type: 'vm' as const, node: 'pve3' }, 'vm:101': { state: 'started', type: 'vm' as const, node: 'pve2' } };
    const gone = { ...NODES, pve2: { online: false }, pve3: { online: false } };
    const out = crmStep(input({ prev, services, nodes: gone, now: 1009, unknownSince: { pve2: 1000, pve3: 990 } }));
    expect(out.status.service_status['vm:100']?.state).toBe('stopped');
    expect(out.status.service_status['vm:101']?.state).toBe('started');
    expect(out.status.node_status).toEqual({ pve1: 'online', pve2: 'unknown', pve3: 'unknown' });
  });

  it('puts a service whose start failed into the error state; disabling it clears that', () => {
    const prev: CrmStatus = { node_status: {}, service_status: { 'vm:100': { node: 'pve1', state: 'started', uid: 'a' } } };
    const out = crmStep(input({ prev, services: { 'vm:100': { state: 'started', type: 'vm', node: 'pve1' } }, results: { pve1: { a: { sid: 'vm:100', state: 'started', exit_code: 1 } } } }));
    expect(out.status.service_status['vm:100']?.state).toBe('error');
    const cleared = crmStep(input({ prev: out.status, services: { 'vm:100': { state: 'disabled', type: 'vm', node: 'pve1' } } }));
    expect(cleared.status.service_status['vm:100']?.state).toBe('stopped');
  });

  it('moves a service off a node a strict placement does not allow', () => {
    const out = run(input({ services: { 'vm:100': { state: 'started', type: 'vm', node: 'pve1' } }, placement: { 'vm:100': { nodes: { pve3: 1 }, strict: true } } }), 2);
    expect(states(out, 'vm:100')).toEqual(['pve1 request_start', 'pve1 relocate']);
    expect(out[1]?.status.service_status['vm:100']?.target).toBe('pve3');
  });
});

describe('placement', () => {
  it('reads PVE 8 groups and PVE 9 node-affinity rules', () => {
    expect(placementsFromGroups([{ type: 'group', id: 'g1', props: { nodes: 'pve2:2,pve3', restricted: '1' } }], { 'vm:100': 'g1', 'vm:101': undefined })).toEqual({
      'vm:100': { nodes: { pve2: 2, pve3: 0 }, strict: true },
    });
    expect(
      placementsFromRules([
        { type: 'node-affinity', id: 'r1', props: { resources: 'vm:100,ct:200', nodes: 'pve3' } },
        { type: 'node-affinity', id: 'r2', props: { resources: 'vm:101', nodes: 'pve1', disable: '1' } },
        { type: 'resource-affinity', id: 'r3', props: { resources: 'vm:100,vm:101', affinity: 'negative' } },
      ]),
    ).toEqual({ 'vm:100': { nodes: { pve3: 0 }, strict: false }, 'ct:200': { nodes: { pve3: 0 }, strict: false } });
  });

  it('keeps a service where it is when allowed, else prefers priority, then load, then name', () => {
    const usable = ['pve1', 'pve2', 'pve3'];
    expect(selectServiceNode(undefined, 'pve2', usable, {})).toBe('pve2');
    expect(selectServiceNode({ nodes: { pve3: 0 }, strict: false }, 'pve2', usable, {})).toBe('pve2');
    expect(selectServiceNode({ nodes: { pve3: 0 }, strict: true }, 'pve2', usable, {})).toBe('pve3');
    expect(selectServiceNode({ nodes: { pve1: 1, pve3: 2 }, strict: true }, undefined, usable, {})).toBe('pve3');
    expect(selectServiceNode(undefined, undefined, usable, { pve1: 2, pve2: 1 })).toBe('pve3');
    expect(selectServiceNode({ nodes: { pve9: 1 }, strict: true }, 'pve1', usable, {})).toBeUndefined();
  });
});

describe('lrm', () => {
  const ms: CrmStatus = {
    node_status: {},
    service_status: {
      'vm:100': { node: 'pve1', state: 'started', uid: 'a' },
      'vm:101': { node: 'pve1', state: 'request_stop', uid: 'b' },
      'vm:102': { node: 'pve1', state: 'migrate', uid: 'c', target: 'pve2' },
      'vm:103': { node: 'pve2', state: 'started', uid: 'd' },
    },
  };

  it('runs one command per service uid of its node, not again while it runs or once it has a result', () => {
    expect(lrmActions(ms, 'pve1', {}, new Set())).toEqual([
      { kind: 'start', sid: 'vm:100', uid: 'a' },
      { kind: 'stop', sid: 'vm:101', uid: 'b' },
      { kind: 'migrate', sid: 'vm:102', uid: 'c', target: 'pve2' },
    ]);
    expect(lrmActions(ms, 'pve1', { a: { sid: 'vm:100', state: 'started', exit_code: 0 } }, new Set(['c']))).toEqual([{ kind: 'stop', sid: 'vm:101', uid: 'b' }]);
  });

  it('counts active services (not stopped ones) and configured ones (any state) per node', () => {
    expect(hasActiveServices(ms, 'pve1')).toBe(true);
    expect(hasActiveServices(ms, 'pve3')).toBe(false);
    expect(hasConfiguredServices(ms, 'pve1')).toBe(true);
    expect(hasConfiguredServices(ms, 'pve3')).toBe(false);
    const stoppedOnly = { ...ms, service_status: { 'vm:101': { node: 'pve3', state: 'stopped', uid: 'b' } } };
    expect(hasActiveServices(stoppedOnly, 'pve3')).toBe(false);
    expect(hasConfiguredServices(stoppedOnly, 'pve3')).toBe(true);
    // Tools.pm count_active_services: neither a service in error nor one only asked to start counts;
    // the target of a migration does
    for (const state of ['error', 'request_start', 'freeze']) {
      const one = { ...ms, service_status: { 'vm:104': { node: 'pve3', state, uid: 'e' } } };
      expect(hasActiveServices(one, 'pve3')).toBe(false);
      expect(hasConfiguredServices(one, 'pve3')).toBe(true);
    }
    const moving = { ...ms, service_status: { 'vm:105': { node: 'pve1', target: 'pve3', state: 'migrate', uid: 'f' } } };
    expect(hasActiveServices(moving, 'pve3')).toBe(true);
    expect(hasActiveServices(moving, 'pve1')).toBe(true);
  });

  it("writes the LRM's own state, maintenance mode on request, and keeps only live results", () => {
    expect(lrmStatus(ms, 'pve1', 'active', {}, 5)).toEqual({ state: 'active', mode: 'active', timestamp: 5, results: {} });
    expect(lrmStatus(ms, 'pve3', 'wait_for_agent_lock', {}, 5).state).toBe('wait_for_agent_lock');
    expect(lrmStatus({ ...ms, node_request: { pve3: { maintenance: 1 } } }, 'pve3', 'maintenance', {}, 5)).toMatchObject({ state: 'maintenance', mode: 'maintenance' });
    expect(keepResults(ms, { a: { sid: 'vm:100', state: 'started', exit_code: 0 }, old: { sid: 'vm:9', state: 'started', exit_code: 0 } })).toEqual({ a: { sid: 'vm:100', state: 'started', exit_code: 0 } });
  });
});

describe('lrmRound (the LRM with its watchdog)', () => {
  // the agent lock as pmxcfs gives it: never without quorum, and not while someone else holds it
  const free = async (): Promise<boolean> => true;
  const none = async (): Promise<boolean> => false;
  const base: LrmRoundInput = {
    state: 'wait_for_agent_lock',
    quorate: true,
    fenceRequested: false,
    hasActiveServices: false,
    hasConfiguredServices: false,
    maintenanceRequested: false,
    busy: false,
    idleRounds: 0,
    clock: () => 100_000,
    watchdogTimeoutMs: 60_000,
    getLock: free,
    releaseLock: () => undefined,
  };
  const noQuorum = { quorate: false, getLock: none };
  // a node with a started service
  const serving = { hasActiveServices: true, hasConfiguredServices: true };

  it('stays idle without active services, quorate or not, and never arms or fires the watchdog', async () => {
    expect(await lrmRound(base)).toEqual({ state: 'wait_for_agent_lock', idleRounds: 0, fire: false, log: [] });
    expect(await lrmRound({ ...base, ...noQuorum, clock: () => 10_000_000 })).toEqual({ state: 'wait_for_agent_lock', idleRounds: 0, fire: false, log: [] });
    // a stopped service does not make an idle LRM active
    expect(await lrmRound({ ...base, hasConfiguredServices: true })).toEqual({ state: 'wait_for_agent_lock', idleRounds: 0, fire: false, log: [] });
  });

  it('does not take the agent lock without quorum, even with active services', async () => {
    expect(await lrmRound({ ...base, ...noQuorum, ...serving })).toEqual({ state: 'wait_for_agent_lock', idleRounds: 0, fire: false, log: [] });
  });

  it('takes the lock and opens the watchdog when services become active, and updates it each quorate round', async () => {
    expect(await lrmRound({ ...base, ...serving })).toEqual({ state: 'active', idleRounds: 0, fedAt: 100_000, fire: false, log: ['watchdog active', 'status change wait_for_agent_lock => active'] });
    expect(await lrmRound({ ...base, ...serving, state: 'active', fedAt: 40_000, clock: () => 99_000 })).toEqual({ state: 'active', idleRounds: 0, fedAt: 99_000, fire: false, log: [] });
  });

  it('updates the watchdog when the lock was got, after the retries of the round', async () => {
    let t = 100_000;
    const slow = async (): Promise<boolean> => {
      t += 3_000;
      return true;
    };
    const r = await lrmRound({ ...base, ...serving, state: 'active', fedAt: 95_000, clock: () => t, getLock: slow });
    expect(r).toEqual({ state: 'active', idleRounds: 0, fedAt: 103_000, fire: false, log: [] });
  });

  it('loses the lock without quorum, keeps the watchdog armed but not updated, and fires at the timeout', async () => {
    const lost = await lrmRound({ ...base, ...noQuorum, ...serving, state: 'active', fedAt: 50_000, clock: () => 51_000 });
    expect(lost).toEqual({ state: 'lost_agent_lock', idleRounds: 0, fedAt: 50_000, fire: false, log: ['status change active => lost_agent_lock'] });
    expect((await lrmRound({ ...base, ...noQuorum, ...serving, state: 'lost_agent_lock', fedAt: 50_000, clock: () => 109_999 })).fire).toBe(false);
    expect(await lrmRound({ ...base, ...noQuorum, ...serving, state: 'lost_agent_lock', fedAt: 50_000, clock: () => 110_000 })).toEqual({ state: 'lost_agent_lock', idleRounds: 0, fedAt: 50_000, fire: true, log: [] });
  });

  it('gets the lock back when quorum returns before the timeout', async () => {
    expect(await lrmRound({ ...base, ...serving, state: 'lost_agent_lock', fedAt: 50_000, clock: () => 100_000 })).toEqual({ state: 'active', idleRounds: 0, fedAt: 100_000, fire: false, log: ['status change lost_agent_lock => active'] });
  });

  it('releases the lock on a fence request and does not take it again while fencing is requested', async () => {
    expect(await lrmRound({ ...base, ...serving, state: 'active', fenceRequested: true, fedAt: 99_000 })).toEqual({
      state: 'lost_agent_lock',
      idleRounds: 0,
      fedAt: 99_000,
      fire: false,
      log: ['node needs to be fenced - releasing agent_lock', 'status change active => lost_agent_lock'],
    });
    expect((await lrmRound({ ...base, ...serving, state: 'lost_agent_lock', fenceRequested: true, fedAt: 99_000, clock: () => 159_000 })).fire).toBe(true);
  });

  it('stays active, watchdog updated, while a service is configured on the node, a stopped one too', async () => {
    const stopped = { hasActiveServices: false, hasConfiguredServices: true };
    expect(await lrmRound({ ...base, ...stopped, state: 'active', idleRounds: 7, fedAt: 99_000 })).toEqual({ state: 'active', idleRounds: 0, fedAt: 100_000, fire: false, log: [] });
    // a command still running counts as work too
    expect(await lrmRound({ ...base, state: 'active', busy: true, idleRounds: 7, fedAt: 99_000 })).toEqual({ state: 'active', idleRounds: 0, fedAt: 100_000, fire: false, log: [] });
  });

  it('goes idle only after MAX_ACTIVE_IDLE_ROUNDS rounds with nothing configured on the node, releasing lock and watchdog', async () => {
    let released = 0;
    const release = (): void => void released++;
    let r = await lrmRound({ ...base, state: 'active', fedAt: 99_000, releaseLock: release });
    expect(r).toEqual({ state: 'active', idleRounds: 1, fedAt: 100_000, fire: false, log: [] });
    for (let n = 1; n < MAX_ACTIVE_IDLE_ROUNDS; n++) r = await lrmRound({ ...base, state: 'active', idleRounds: r.idleRounds, fedAt: 99_000, releaseLock: release });
    expect(r).toEqual({ state: 'active', idleRounds: MAX_ACTIVE_IDLE_ROUNDS, fedAt: 100_000, fire: false, log: [] });
    expect(released).toBe(0);
    r = await lrmRound({ ...base, state: 'active', idleRounds: r.idleRounds, fedAt: 99_000, releaseLock: release });
    expect(r).toEqual({
      state: 'wait_for_agent_lock',
      idleRounds: 0,
      fire: false,
      log: [`node had no service configured for ${MAX_ACTIVE_IDLE_ROUNDS} rounds, going idle.`, 'watchdog closed (disabled)', 'status change active => wait_for_agent_lock'],
    });
    expect(released).toBe(1);
  });

  it('enters maintenance on request, keeps lock and watchdog while services leave, then gives both up', async () => {
    let released = 0;
    const release = (): void => void released++;
    const asked = { maintenanceRequested: true, releaseLock: release };
    expect(await lrmRound({ ...base, ...serving, ...asked, state: 'active', fedAt: 99_000 })).toEqual({ state: 'maintenance', idleRounds: 0, fedAt: 100_000, fire: false, log: ['status change active => maintenance'] });
    expect(await lrmRound({ ...base, ...serving, ...asked, state: 'maintenance', fedAt: 99_000 })).toEqual({ state: 'maintenance', idleRounds: 0, fedAt: 100_000, fire: false, log: [] });
    expect(released).toBe(0);
    // the last service has moved away
    expect(await lrmRound({ ...base, ...asked, state: 'maintenance', fedAt: 99_000 })).toEqual({ state: 'maintenance', idleRounds: 0, fire: false, log: ['watchdog closed (disabled)'] });
    expect(released).toBe(1);
    expect(await lrmRound({ ...base, ...asked, state: 'maintenance' })).toEqual({ state: 'maintenance', idleRounds: 0, fire: false, log: [] });
    // maintenance over: active again, with lock and watchdog, until the idle rounds have passed
    expect(await lrmRound({ ...base, state: 'maintenance' })).toEqual({ state: 'active', idleRounds: 0, fedAt: 100_000, fire: false, log: ['watchdog active', 'status change maintenance => active'] });
    expect(await lrmRound({ ...base, getLock: none, state: 'maintenance' })).toEqual({ state: 'lost_agent_lock', idleRounds: 0, fire: false, log: ['status change maintenance => lost_agent_lock'] });
  });

  it('leaves maintenance for lost_agent_lock on a fence request, or when it cannot renew the lock with services left', async () => {
    expect(await lrmRound({ ...base, ...serving, maintenanceRequested: true, fenceRequested: true, state: 'maintenance', fedAt: 99_000 })).toEqual({
      state: 'lost_agent_lock',
      idleRounds: 0,
      fedAt: 99_000,
      fire: false,
      log: ['node needs to be fenced during maintenance mode - releasing agent_lock', 'status change maintenance => lost_agent_lock'],
    });
    expect(await lrmRound({ ...base, ...serving, ...noQuorum, maintenanceRequested: true, state: 'maintenance', fedAt: 99_000 })).toEqual({ state: 'lost_agent_lock', idleRounds: 0, fedAt: 99_000, fire: false, log: ['status change maintenance => lost_agent_lock'] });
  });

  it('quorate, but the lock held by another (the master that fenced this node): stays without it, or loses it', async () => {
    expect(await lrmRound({ ...base, ...serving, getLock: none })).toEqual({ state: 'wait_for_agent_lock', idleRounds: 0, fire: false, log: [] });
    expect(await lrmRound({ ...base, ...serving, getLock: none, state: 'lost_agent_lock', fedAt: 50_000, clock: () => 100_000 })).toEqual({ state: 'lost_agent_lock', idleRounds: 0, fedAt: 50_000, fire: false, log: [] });
    expect(await lrmRound({ ...base, ...serving, getLock: none, state: 'active', fedAt: 99_000 })).toEqual({ state: 'lost_agent_lock', idleRounds: 0, fedAt: 99_000, fire: false, log: ['status change active => lost_agent_lock'] });
  });

  it('asks for the lock only where LRM.pm does: not while idle without services, not on a fence request, not in an empty maintenance', async () => {
    const never = async (): Promise<boolean> => {
      throw new Error('agent lock asked for');
    };
    expect((await lrmRound({ ...base, getLock: never })).state).toBe('wait_for_agent_lock');
    expect((await lrmRound({ ...base, ...noQuorum, ...serving, getLock: never })).state).toBe('wait_for_agent_lock');
    expect((await lrmRound({ ...base, ...serving, getLock: never, state: 'active', fenceRequested: true, fedAt: 99_000 })).state).toBe('lost_agent_lock');
    expect((await lrmRound({ ...base, getLock: never, state: 'maintenance', maintenanceRequested: true })).state).toBe('maintenance');
  });
});
