import { describe, expect, it } from 'vitest';
import { availabilityTable, downtimeBudget, durationText, parsePercent } from '../../../src/workflows/ha/budget.js';
import { parseHaOptions, parseNodePriorities, preferenceId, preferenceText, samePreference } from '../../../src/workflows/ha/options.js';
import { candidateNodes, findGroup, findRule, keptState, leaveRulesSteps, planRemove, storageProblems, type HaFacts } from '../../../src/workflows/ha/plan.js';
import { pendingStates, waitForHaStates } from '../../../src/facts/ha-wait.js';
import { parseGuestConfig } from '../../../src/pve/parse/guest-config.js';
import type { GuestResource, StorageResource } from '../../../src/pve/parse/pvesh-resources.js';

const guest = (over: Partial<GuestResource> = {}): GuestResource => ({ type: 'qemu', vmid: 100, node: 'pve1', status: 'running', template: false, ...over });
const storage = (id: string, shared: boolean, plugintype: string): StorageResource[] =>
  ['pve1', 'pve2', 'pve3'].map((node) => ({ storage: id, node, status: 'available', plugintype, shared, content: ['images'] }));

describe('ha options', () => {
  it('parses node priorities and writes them the way PVE does', () => {
    expect(parseNodePriorities('pve2,pve1:2')).toEqual({ nodes: [{ node: 'pve2' }, { node: 'pve1', priority: 2 }], problems: [] });
    expect(preferenceText([{ node: 'pve2' }, { node: 'pve1', priority: 2 }])).toBe('pve1:2,pve2');
    expect(samePreference([{ node: 'pve1', priority: 0 }], [{ node: 'pve1' }])).toBe(true);
    expect(parseNodePriorities('pve1:-1,,bad_name').problems).toHaveLength(3);
  });

  it('names a preference stably, by its nodes and strictness', () => {
    const a = preferenceId({ nodes: [{ node: 'pve1', priority: 2 }, { node: 'pve2' }], strict: false });
    expect(a).toMatch(/^pvx-[0-9a-f]{8}$/);
    expect(preferenceId({ nodes: [{ node: 'pve2' }, { node: 'pve1', priority: 2 }], strict: false })).toBe(a);
    expect(preferenceId({ nodes: [{ node: 'pve1', priority: 2 }, { node: 'pve2' }], strict: true })).not.toBe(a);
  });

  it('reports every problem at once; enabled is PVE`s spelling of started', () => {
    const bad = parseHaOptions({ guests: ['x'], strict: true, state: 'on', maxRelocate: '1000', comment: 'a\nb', timeout: '0' });
    expect(bad.options).toBeUndefined();
    expect(bad.problems).toHaveLength(6);
    expect(parseHaOptions({ guests: ['100'], state: 'enabled' }).options?.state).toBe('started');
  });
});

describe('ha plans', () => {
  it('keeps the state a guest is in; a stopped guest is added stopped, with why', () => {
    expect(keptState(guest())).toEqual({ state: 'started' });
    expect(keptState(guest({ status: 'stopped' })).state).toBe('stopped');
    expect(keptState(guest({ status: 'stopped' })).note).toContain("ha-manager's default, started, would");
  });

  it('candidates: the strict nodes, else every node; never the guest`s own', () => {
    expect(candidateNodes(guest(), ['pve1', 'pve2', 'pve3'], undefined)).toEqual(['pve2', 'pve3']);
    expect(candidateNodes(guest(), ['pve1', 'pve2', 'pve3'], { nodes: [{ node: 'pve1' }, { node: 'pve3' }], strict: true })).toEqual(['pve3']);
    expect(candidateNodes(guest(), ['pve1', 'pve2', 'pve3'], { nodes: [{ node: 'pve3' }], strict: false })).toEqual(['pve2', 'pve3']);
  });

  it('judges disks: shared is fine, local is refused with the fix, replicated ZFS warns, passthrough refuses', () => {
    const storages = [...storage('nfs1', true, 'nfs'), ...storage('local-lvm', false, 'lvmthin'), ...storage('tank', false, 'zfspool')];
    const conf = (text: string) => ({ config: parseGuestConfig('qemu', text) });
    expect(storageProblems(guest(), conf('scsi0: nfs1:vm-100-disk-0,size=8G\nide2: none,media=cdrom\n'), ['pve2'], storages, [])).toEqual({ problems: [], warnings: [] });
    expect(storageProblems(guest(), conf('scsi0: local-lvm:vm-100-disk-0,size=8G\n'), ['pve2'], storages, []).problems).toEqual([
      'scsi0 is on local storage local-lvm (lvmthin): HA could not restart the guest on pve2; move it to shared storage (qm disk move 100 scsi0 <shared storage>)',
    ]);
    const job = (target: string) => ({ jobId: `100-0`, vmid: 100, target, schedule: '*/15', enabled: true });
    expect(storageProblems(guest(), conf('scsi0: tank:vm-100-disk-0\n'), ['pve2', 'pve3'], storages, [job('pve2')]).problems[0]).toContain('replicate it to pve3');
    expect(storageProblems(guest(), conf('scsi0: tank:vm-100-disk-0\n'), ['pve2', 'pve3'], storages, []).problems).toEqual([
      'scsi0 is on local storage tank (zfspool): HA could not restart the guest on pve2, pve3; replicate it to pve2, pve3 (pvx replication add 100 --to pve2; pvx replication add 100 --to pve3) or move it to shared storage',
    ]);
    expect(storageProblems(guest(), conf('scsi0: tank:vm-100-disk-0\n'), ['pve2', 'pve3'], storages, [job('pve2'), job('pve3')]).warnings[0]).toContain('a recovery loses what changed since the last sync');
    expect(storageProblems(guest(), conf('scsi0: nfs1:vm-100-disk-0\nhostpci0: 0000:01:00.0\n'), ['pve2'], storages, []).problems[0]).toContain('hostpci0 passes a host device through');
    expect(storageProblems(guest(), { problem: 'its node pve1 cannot be reached' }, ['pve2'], storages, []).problems).toEqual(['its node pve1 cannot be reached']);
  });

  it('judges drives that are not storage volumes: a host disk is refused, shared=1 warns, the host CD drive is refused', () => {
    const storages = storage('nfs1', true, 'nfs');
    const conf = (text: string) => ({ config: parseGuestConfig('qemu', `scsi0: nfs1:vm-100-disk-0,size=8G\n${text}`) });
    // qemu-server refuses these on migration: "can't migrate local disk '/dev/sde': local file/device" unless shared=1
    expect(storageProblems(guest(), conf('scsi1: /dev/sdb\n'), ['pve2', 'pve3'], storages, [])).toEqual({
      problems: [
        'scsi1 is the host disk /dev/sdb: HA could not start the VM on pve2, pve3, and PVE refuses to migrate it ("local file/device"); copy it onto shared storage (qm disk import 100 /dev/sdb <shared storage>, then use that volume as scsi1), or, if /dev/sdb is the same shared device on every node, add shared=1 to scsi1',
      ],
      warnings: [],
    });
    expect(storageProblems(guest(), conf('ide2: /dev/sde,shared=1\n'), ['pve2'], storages, [])).toEqual({
      problems: [],
      warnings: ['ide2 is the host disk /dev/sde, marked shared=1: it must be the same device on every node HA may start the VM on'],
    });
    expect(storageProblems(guest(), conf('ide2: cdrom,media=cdrom\n'), ['pve2'], storages, []).problems).toEqual([
      "ide2 passes the host's CD drive through: PVE does not migrate it, and pve2 may have none; eject it (qm set 100 --ide2 none,media=cdrom)",
    ]);
  });

  it('a cloud-init drive on local storage is fine where every candidate has that storage (PVE writes it anew at start)', () => {
    const storages = [...storage('nfs1', true, 'nfs'), ...storage('local-lvm', false, 'lvmthin'), { storage: 'local-zfs', node: 'pve1', status: 'available', plugintype: 'zfspool', shared: false, content: ['images'] }];
    const conf = (ci: string) => ({ config: parseGuestConfig('qemu', `ide2: ${ci},media=cdrom\nscsi0: nfs1:vm-100-disk-0,size=8G\n`) });
    expect(storageProblems(guest(), conf('local-lvm:vm-100-cloudinit'), ['pve2', 'pve3'], storages, [])).toEqual({ problems: [], warnings: [] });
    expect(storageProblems(guest(), conf('local-zfs:vm-100-cloudinit'), ['pve2', 'pve3'], storages, []).problems).toEqual([
      'ide2 is the cloud-init drive on storage local-zfs, which pve2, pve3 do not have: HA could not start the VM there; put the drive on storage every node has (qm set 100 --ide2 <storage>:cloudinit)',
    ]);
    // any other CD-ROM image on local storage is still a local volume
    expect(storageProblems(guest(), conf('local-lvm:iso/x.iso'), ['pve2'], storages, []).problems).toHaveLength(1);
  });

  it('finds an existing group or rule with the same preference, whatever its name and order', () => {
    const pref = { nodes: [{ node: 'pve1', priority: 2 }, { node: 'pve2' }], strict: true };
    expect(findGroup([{ name: 'mine', props: { nodes: 'pve2,pve1:2', restricted: '1' } }], pref)?.name).toBe('mine');
    expect(findGroup([{ name: 'mine', props: { nodes: 'pve2,pve1:2' } }], pref)).toBeUndefined();
    const rule = { rule: 'r1', type: 'node-affinity', resources: ['vm:1'], nodes: ['pve2', 'pve1:2'], strict: true, disabled: false };
    expect(findRule([rule], pref)?.rule).toBe('r1');
    expect(findRule([{ ...rule, disabled: true }], pref)).toBeUndefined();
  });

  const facts = (over: Partial<HaFacts>): HaFacts => ({ anchor: 'pve1', major: 9, mode: 'rules', clusterNodes: ['pve1', 'pve2', 'pve3'], storages: [], services: [], groups: [], rules: [], replication: [], ...over });

  it('leaving rules: a rule naming only the guest goes, others keep their other resources', () => {
    const rules = [
      { rule: 'solo', type: 'node-affinity', resources: ['vm:100'], nodes: ['pve1'], strict: false, disabled: false },
      { rule: 'pair', type: 'node-affinity', resources: ['vm:100', 'vm:101'], nodes: ['pve2'], strict: false, disabled: false },
      { rule: 'apart', type: 'resource-affinity', resources: ['vm:100', 'vm:102'], nodes: [], strict: false, disabled: false },
    ];
    expect(leaveRulesSteps(facts({ rules }), 'vm:100').map((s) => s.argv.join(' '))).toEqual(['ha-manager rules remove solo', 'ha-manager rules set node-affinity pair --resources vm:101']);
  });

  it('remove on PVE 8 drops only pvx groups that nothing else uses', () => {
    const groupOf = new Map([
      ['vm:100', 'pvx-aaaaaaaa'],
      ['vm:101', 'pvx-aaaaaaaa'],
      ['vm:102', 'pvx-bbbbbbbb'],
      ['vm:103', 'admins-own'],
    ]);
    const plan = planRemove(['vm:100', 'vm:102', 'vm:103'], facts({ major: 8, mode: 'groups' }), groupOf);
    expect(plan.steps.map((s) => s.argv.join(' '))).toEqual(['ha-manager remove vm:100', 'ha-manager remove vm:102', 'ha-manager remove vm:103', 'ha-manager groupremove pvx-bbbbbbbb']);
  });
});

describe('ha waiting', () => {
  const svc = (sid: string, state: string) => ({ sid, type: 'vm' as const, vmid: Number(sid.slice(3)), node: 'pve1', state });

  it('knows which verbose states settle a request', () => {
    const want = new Map([['vm:100', 'started' as const], ['vm:101', 'disabled' as const]]);
    expect(pendingStates([svc('vm:100', 'queued'), svc('vm:101', 'stopped')], want)).toEqual(['vm:100 is queued on pve1 (want started)']);
    expect(pendingStates([svc('vm:100', 'started')], want)).toEqual(['vm:101 is not in the HA status']);
  });

  it('polls until settled, stops on the error state, and times out with what is pending', async () => {
    let now = 0;
    const timing = { now: () => now, sleep: async (ms: number) => void (now += ms), pollMs: 1000 };
    const reads = [[svc('vm:100', 'queued')], [svc('vm:100', 'request_start')], [svc('vm:100', 'started')]];
    expect(await waitForHaStates(async () => reads.shift() ?? [], new Map([['vm:100', 'started']]), 10_000, timing)).toBeUndefined();
    expect(now).toBe(2000);
    expect(await waitForHaStates(async () => [svc('vm:100', 'error')], new Map([['vm:100', 'started']]), 10_000, timing)).toContain('in the error state');
    now = 0;
    expect(await waitForHaStates(async () => [svc('vm:100', 'queued')], new Map([['vm:100', 'started']]), 3000, timing)).toBe('the HA stack did not settle within 3 s: vm:100 is queued on pve1 (want started)');
  });
});

describe('ha budget', () => {
  it('gives the course`s table: 99 % = 3.65 days … 99.99999 % = 3.15 s a year', () => {
    expect(availabilityTable().map((b) => durationText(b.year))).toEqual(['3.65 days', '8.76 hours', '52.56 minutes', '5.26 minutes', '31.54 s', '3.15 s']);
    expect(downtimeBudget(100).year).toBe(0);
    expect(durationText(0.5)).toBe('500 ms');
  });

  it('reads 99.99 and 99.99% and refuses the rest', () => {
    expect(parsePercent('99.99%')).toEqual({ percent: 99.99 });
    expect(parsePercent(' 99.9 ')).toEqual({ percent: 99.9 });
    for (const bad of ['0', '100.1', 'abc', '-5', '', '9e1']) expect(parsePercent(bad)).toHaveProperty('problem');
  });
});
