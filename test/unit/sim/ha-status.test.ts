import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseHaManagerStatus, parseHaStatusCurrent } from '../../../src/pve/parse/index.js';
import { haStatusEntries, renderHaStatus, verboseServiceState, type HaStatusInput } from '../../../src/lab/sim/render/ha-status.js';

const ref = (p: string): string => readFileSync(fileURLToPath(new URL(`../../fixtures/pve/${p}`, import.meta.url)), 'utf8');
/** Epoch seconds of a local wall-clock time (the samples print Perl's localtime). */
const at = (y: number, mo: number, d: number, h: number, mi: number, s: number): number => new Date(y, mo - 1, d, h, mi, s).getTime() / 1000;

describe('ha-manager status, PVE 8 (pve-ha-manager 4.0.7)', () => {
  const input: HaStatusInput = {
    nodename: 'proxmox',
    quorate: true,
    fencing: false,
    failback: false,
    now: at(2024, 2, 7, 13, 30, 15),
    manager: {
      master_node: 'proxmox',
      timestamp: at(2024, 2, 7, 13, 30, 6),
      node_status: { proxmox: 'online', proxmox2: 'online' },
      service_status: { 'vm:100': { node: 'proxmox2', state: 'started', running: 1 } },
    },
    services: { 'vm:100': { state: 'started', max_restart: 1, max_relocate: 1, node: 'proxmox2' } },
    lrm: {
      proxmox: { state: 'wait_for_agent_lock', mode: 'active', timestamp: at(2024, 2, 7, 13, 30, 13) },
      proxmox2: { state: 'active', mode: 'active', timestamp: at(2024, 2, 7, 13, 30, 9) },
    },
  };

  it('prints the reference sample line for line', () => {
    expect(renderHaStatus(haStatusEntries(input))).toBe(ref('ha-manager-status/pve8-2node-lab.txt'));
  });

  it('parses field by field to what the sample parses to', () => {
    expect(parseHaManagerStatus(renderHaStatus(haStatusEntries(input)))).toEqual(parseHaManagerStatus(ref('ha-manager-status/pve8-2node-lab.txt')));
  });

  it('prints only the quorum line on a cluster without HA', () => {
    expect(renderHaStatus(haStatusEntries({ ...input, manager: {}, services: {}, lrm: {} }))).toBe('quorum OK\n');
  });

  it('shows an added resource the CRM has not seen yet as queued', () => {
    const text = renderHaStatus(haStatusEntries({ ...input, manager: {}, lrm: {}, services: { 'vm:100': { state: 'started', max_restart: 1, max_relocate: 1, node: 'pve1' } } }));
    expect(text).toBe('quorum OK\nservice vm:100 (pve1, queued)\n');
  });
});

describe('ha-manager status, PVE 9.2 (pve-ha-manager >= 5.1.3)', () => {
  const input: HaStatusInput = {
    nodename: 'proxmox',
    quorate: true,
    fencing: true,
    failback: true,
    now: at(2026, 8, 19, 17, 22, 56),
    manager: {
      master_node: 'proxmox',
      timestamp: at(2026, 8, 19, 17, 22, 51),
      node_status: { proxmox: 'online', pve2: 'online', pve3: 'online' },
      service_status: { 'vm:200': { node: 'pve2', state: 'stopped' } },
    },
    services: { 'vm:200': { state: 'stopped', max_restart: 1, max_relocate: 1, failback: 1, node: 'pve2' } },
    lrm: {
      proxmox: { state: 'wait_for_agent_lock', mode: 'active', timestamp: at(2026, 8, 19, 17, 22, 54) },
      pve2: { state: 'active', mode: 'active', timestamp: at(2026, 8, 19, 17, 22, 55) },
      pve3: { state: 'wait_for_agent_lock', mode: 'active', timestamp: at(2026, 8, 19, 17, 22, 52) },
    },
    crsHa: 'dynamic',
  };

  it('matches the sample field by field (the load-imbalance note is newer than the source read)', () => {
    const mine = parseHaManagerStatus(renderHaStatus(haStatusEntries(input)));
    const real = parseHaManagerStatus(ref('ha-manager-status/pve9.2-dynamic-crs-3node.txt'));
    expect(mine.quorum).toEqual(real.quorum);
    expect(mine.fencing).toEqual(real.fencing);
    expect(mine.lrms).toEqual(real.lrms);
    expect(mine.services).toEqual(real.services);
    expect(mine.master).toMatchObject({ node: real.master?.node, state: real.master?.state, time: real.master?.time, crsMode: 'dynamic' });
  });

  it('reproduces the standalone /cluster/ha/status/current response of PVE 9.2.2', () => {
    const entries = haStatusEntries({ ...input, nodename: 'pve', manager: {}, services: {}, lrm: {}, crsHa: undefined });
    expect(entries).toEqual(JSON.parse(ref('pvesh/ha-status-current-standalone-pve9.2.2.json')));
    expect(parseHaStatusCurrent(JSON.stringify(entries))).toEqual(parseHaStatusCurrent(ref('pvesh/ha-status-current-standalone-pve9.2.2.json')));
  });

  it('reports a lost quorum', () => {
    const e = haStatusEntries({ ...input, quorate: false });
    expect(e[0]).toEqual({ id: 'quorum', type: 'quorum', node: 'proxmox', status: "No quorum on node 'proxmox'!", quorate: 0 });
  });
});

describe('verbose service states', () => {
  const sc = { state: 'started', max_restart: 1, max_relocate: 1, node: 'pve1' };
  it.each([
    [undefined, undefined, 'deleting'],
    [undefined, { ...sc, node: undefined }, 'not found'],
    [undefined, sc, 'queued'],
    [{ state: 'stopped' }, sc, 'starting'],
    [{ state: 'started', running: 1 }, { ...sc, state: 'stopped' }, 'stopping'],
    [{ state: 'started' }, sc, 'starting'],
    [{ state: 'error' }, { ...sc, state: 'disabled' }, 'clearing error flag'],
    [{ state: 'migrate' }, sc, 'migrate'],
  ])('%j with %j is %s', (ss, c, want) => {
    expect(verboseServiceState(ss, c)).toBe(want);
  });
});
