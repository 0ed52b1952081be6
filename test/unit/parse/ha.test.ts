import { describe, expect, it } from 'vitest';
import {
  ParseError,
  parseHaGroupConfig,
  parseHaManagerStatus,
  parseHaResourcesConfig,
  parseHaSections,
  parseHaStatusCurrent,
} from '../../../src/pve/parse/index.js';
import { fixture } from './fixture.js';

describe('parseHaManagerStatus', () => {
  it('reads the PVE 8 two-node sample', () => {
    expect(parseHaManagerStatus(fixture('ha-manager-status/pve8-2node-lab.txt'))).toEqual({
      quorum: { ok: true, message: 'OK' },
      master: { node: 'proxmox', state: 'active', time: 'Wed Feb  7 13:30:06 2024' },
      lrms: [
        { node: 'proxmox', state: 'idle', readable: true, time: 'Wed Feb  7 13:30:13 2024' },
        { node: 'proxmox2', state: 'active', readable: true, time: 'Wed Feb  7 13:30:09 2024' },
      ],
      services: [{ sid: 'vm:100', type: 'vm', vmid: 100, node: 'proxmox2', state: 'started' }],
      unrecognized: [],
    });
  });

  it('reads the PVE 9.2 sample with fencing, watchdogs and the load-imbalance suffix', () => {
    const s = parseHaManagerStatus(fixture('ha-manager-status/pve9.2-dynamic-crs-3node.txt'));
    expect(s.master).toEqual({
      node: 'proxmox',
      state: 'active',
      time: 'Wed Aug 19 17:22:51 2026',
      extra: 'dynamic load CRS (load imbalance: 2.9%)',
      crsMode: 'dynamic',
      crsDetail: 'load imbalance: 2.9%',
      loadImbalancePercent: 2.9,
    });
    expect(s.fencing).toEqual({ state: 'armed', watchdog: 'CRM watchdog active' });
    expect(s.lrms).toEqual([
      { node: 'proxmox', state: 'idle', readable: true, watchdog: 'watchdog standby', time: 'Wed Aug 19 17:22:54 2026' },
      { node: 'pve2', state: 'active', readable: true, watchdog: 'watchdog active', time: 'Wed Aug 19 17:22:55 2026' },
      { node: 'pve3', state: 'idle', readable: true, watchdog: 'watchdog standby', time: 'Wed Aug 19 17:22:52 2026' },
    ]);
    expect(s.services).toEqual([{ sid: 'vm:200', type: 'vm', vmid: 200, node: 'pve2', state: 'stopped' }]);
  });

  it('reads the old pve-docs sample with containers', () => {
    const s = parseHaManagerStatus(fixture('ha-manager-status/pve-docs-old-format.txt'));
    expect(s.services.map((x) => [x.sid, x.type, x.vmid, x.state])).toEqual([
      ['ct:100', 'ct', 100, 'stopped'],
      ['ct:102', 'ct', 102, 'started'],
      ['vm:501', 'vm', 501, 'started'],
    ]);
  });

  it('reads every documented line variant of §5.3', () => {
    // each line follows a format spelled out in reference §5.3
    const text = [
      "quorum No quorum on node 'pve3'!",
      'master pve1 (old timestamp - dead?, Mon Nov 21 07:23:29 2016) - disarmed, resource mode: freeze - static load CRS',
      'fencing disarmed, resource mode: freeze (CRM watchdog released)',
      'lrm pve1 (maintenance mode, watchdog active, Mon Nov 21 07:23:22 2016)',
      'lrm pve2 (unable to read lrm status)',
      'lrm pve3 (old timestamp - dead?, watchdog released, Mon Nov 21 07:23:22 2016)',
      'service ct:101 (---, queued)',
      'service vm:100002 (pve1, clearing error flag)',
      'service vm:106 (pve2, not found)',
      'some future line',
    ].join('\n');
    const s = parseHaManagerStatus(text);
    expect(s.quorum).toEqual({ ok: false, message: "No quorum on node 'pve3'!", node: 'pve3' });
    expect(s.master).toEqual({
      node: 'pve1',
      state: 'old timestamp - dead?',
      time: 'Mon Nov 21 07:23:29 2016',
      extra: 'disarmed, resource mode: freeze - static load CRS',
      disarm: { state: 'disarmed', mode: 'freeze' },
      crsMode: 'static',
    });
    expect(s.fencing).toEqual({ state: 'disarmed', resourceMode: 'freeze', watchdog: 'CRM watchdog released' });
    expect(s.lrms).toEqual([
      { node: 'pve1', state: 'maintenance mode', readable: true, watchdog: 'watchdog active', time: 'Mon Nov 21 07:23:22 2016' },
      { node: 'pve2', state: 'unable to read lrm status', readable: false },
      { node: 'pve3', state: 'old timestamp - dead?', readable: true, watchdog: 'watchdog released', time: 'Mon Nov 21 07:23:22 2016' },
    ]);
    expect(s.services).toEqual([
      { sid: 'ct:101', type: 'ct', vmid: 101, state: 'queued' },
      { sid: 'vm:100002', type: 'vm', vmid: 100002, node: 'pve1', state: 'clearing error flag' },
      { sid: 'vm:106', type: 'vm', vmid: 106, node: 'pve2', state: 'not found' },
    ]);
    expect(s.unrecognized).toEqual(['some future line']);
  });

  it('reads a fresh cluster: quorum only, or quorum plus standby fencing', () => {
    expect(parseHaManagerStatus('quorum OK\n')).toEqual({ quorum: { ok: true, message: 'OK' }, lrms: [], services: [], unrecognized: [] });
    expect(parseHaManagerStatus('quorum OK\nfencing standby (CRM watchdog standby)\n').fencing).toEqual({
      state: 'standby',
      watchdog: 'CRM watchdog standby',
    });
  });

  it('reads --verbose output', () => {
    const text = `quorum OK\nfull cluster state:\n{\n   "lrm_status" : {},\n   "manager_status" : {},\n   "quorum" : {\n      "node" : "pve",\n      "quorate" : 1\n   }\n}\n`;
    expect(parseHaManagerStatus(text).fullClusterState).toEqual({ lrm_status: {}, manager_status: {}, quorum: { node: 'pve', quorate: 1 } });
    expect(() => parseHaManagerStatus('quorum OK\nfull cluster state:\n{\n   "lrm_status" : {')).toThrow(/truncated/);
  });

  it('throws ParseError only without a quorum line', () => {
    expect(() => parseHaManagerStatus('')).toThrow(ParseError);
    expect(() => parseHaManagerStatus('master pve1 (active, Wed Feb  7 13:30:06 2024)\n')).toThrow(/quorum/);
  });

  it('keeps malformed master, fencing and lrm lines in unrecognized and reads the rest', () => {
    const s = parseHaManagerStatus('quorum OK\nmaster pve1 active\nfencing armed\nlrm pve1 (active)\nlrm pve2 (idle, Wed Feb  7 13:30:13 2024)\n');
    expect(s.master).toBeUndefined();
    expect(s.fencing).toBeUndefined();
    expect(s.lrms).toEqual([{ node: 'pve2', state: 'idle', readable: true, time: 'Wed Feb  7 13:30:13 2024' }]);
    expect(s.unrecognized).toEqual(['master pve1 active', 'fencing armed', 'lrm pve1 (active)']);
  });

  it('reads each real sample with an unknown line inserted: known lines read, the unknown one reported', () => {
    for (const [file, at] of [['ha-manager-status/pve8-2node-lab.txt', 2], ['ha-manager-status/pve9.2-dynamic-crs-3node.txt', 3], ['ha-manager-status/pve-docs-old-format.txt', 1]] as const) {
      const plain = parseHaManagerStatus(fixture(file));
      const lines = fixture(file).split('\n');
      lines.splice(at, 0, 'master proxmox9');
      const s = parseHaManagerStatus(lines.join('\n'));
      expect(s.unrecognized).toEqual(['master proxmox9']);
      expect({ ...s, unrecognized: [] }).toEqual(plain);
    }
    const s = parseHaManagerStatus(fixture('ha-manager-status/pve8-2node-lab.txt').replace('master proxmox (active, Wed Feb  7 13:30:06 2024)', 'master proxmox'));
    expect(s.master).toBeUndefined();
    expect(s.lrms.map((l) => l.node)).toEqual(['proxmox', 'proxmox2']);
    expect(s.services).toEqual([{ sid: 'vm:100', type: 'vm', vmid: 100, node: 'proxmox2', state: 'started' }]);
    expect(s.unrecognized).toEqual(['master proxmox']);
  });

  it('does not pass on a node name that is not one', () => {
    const s = parseHaManagerStatus('quorum OK\nmaster ../x (active, Wed Feb  7 13:30:06 2024)\nlrm -o (idle, Wed Feb  7 13:30:13 2024)\nservice vm:100 ($(id), started)\n');
    expect(s.master).toBeUndefined();
    expect(s.lrms).toEqual([]);
    expect(s.services).toEqual([]);
    expect(s.unrecognized).toHaveLength(3);
  });
});

describe('parseHaStatusCurrent', () => {
  it('reads the standalone PVE 9.2.2 response', () => {
    expect(parseHaStatusCurrent(fixture('pvesh/ha-status-current-standalone-pve9.2.2.json'))).toEqual({
      quorum: { ok: true, message: 'OK', quorate: true },
      fencing: { state: 'standby', watchdog: 'CRM watchdog standby' },
      lrms: [],
      services: [],
    });
  });

  it('adds the configured state of services', () => {
    const doc = [
      { id: 'quorum', type: 'quorum', node: 'pve1', status: 'OK', quorate: 1 },
      { id: 'master', type: 'master', node: 'pve1', status: 'pve1 (active, Wed Feb  7 13:30:06 2024)', timestamp: 1707309006 },
      { id: 'lrm:pve1', type: 'lrm', node: 'pve1', status: 'pve1 (active, watchdog active, Wed Feb  7 13:30:09 2024)', timestamp: 1707309009 },
      {
        id: 'service:vm:100',
        type: 'service',
        sid: 'vm:100',
        node: 'pve1',
        status: 'vm:100 (pve1, started)',
        state: 'started',
        crm_state: 'started',
        request_state: 'started',
        max_restart: 1,
        max_relocate: 1,
        failback: 1,
      },
    ];
    const s = parseHaStatusCurrent(JSON.stringify(doc));
    expect(s.master).toMatchObject({ node: 'pve1', timestamp: 1707309006 });
    expect(s.lrms[0]).toMatchObject({ node: 'pve1', watchdog: 'watchdog active', timestamp: 1707309009 });
    expect(s.services).toEqual([
      { sid: 'vm:100', type: 'vm', vmid: 100, node: 'pve1', state: 'started', crmState: 'started', requestState: 'started', maxRestart: 1, maxRelocate: 1, failback: true },
    ]);
  });

  it('throws ParseError on malformed documents', () => {
    expect(() => parseHaStatusCurrent('[]')).toThrow(/quorum/);
    expect(() => parseHaStatusCurrent('{}')).toThrow(ParseError);
    expect(() => parseHaStatusCurrent('[{"type":"service","status":"x","sid":"vm:1"},{"type":"quorum","status":"OK"}]')).toThrow(/unexpected status/);
  });
});

describe('HA configuration text', () => {
  it('reads ha-manager config output', () => {
    expect(parseHaResourcesConfig(fixture('ha-config/ha-manager-config-doc.txt'))).toEqual([
      { sid: 'vm:100', type: 'vm', vmid: 100, props: { state: 'stopped' } },
    ]);
  });

  it('reads the section-config file formats (resources, rules, groups)', () => {
    expect(parseHaSections(fixture('ha-config/section-config-files-doc.txt'))).toEqual([
      { type: 'vm', id: '501', props: { state: 'started', max_relocate: '2' } },
      { type: 'node-affinity', id: 'ha-rule-vm100', props: { resources: 'vm:100', nodes: 'node1', strict: '1' } },
      { type: 'resource-affinity', id: 'keep-separate', props: { resources: 'vm:200,ct:300', affinity: 'negative' } },
      { type: 'group', id: 'mygroup1', props: { nodes: 'node2:1,node4,node1:2,node3:1', restricted: '1' } },
    ]);
  });

  it('reads groupconfig output and keeps values with spaces', () => {
    const text = 'group: g1\n\tcomment two words\n\tnodes pve1:2,pve2\n\trestricted 1\n\n';
    expect(parseHaGroupConfig(text)).toEqual([{ name: 'g1', props: { comment: 'two words', nodes: 'pve1:2,pve2', restricted: '1' } }]);
  });

  it('gives an empty list for empty output and throws on garbage', () => {
    expect(parseHaResourcesConfig('')).toEqual([]);
    expect(() => parseHaResourcesConfig('\tstate started\n')).toThrow(/outside a section/);
    expect(() => parseHaResourcesConfig('hello world\n')).toThrow(ParseError);
    expect(() => parseHaResourcesConfig('group: g1\n')).toThrow(/resource id/);
    expect(() => parseHaGroupConfig('vm:100\n')).toThrow(/section type/);
  });
});
