import { describe, expect, it } from 'vitest';
import type { ClusterResources, GuestResource } from '../../../src/pve/parse/pvesh-resources.js';
import { parseSelectors, resolveSelectors } from '../../../src/workflows/guest-selectors.js';

const g = (vmid: number, node: string, type: GuestResource['type'] = 'qemu'): GuestResource => ({ vmid, node, type, status: 'running', template: false });
const RES: ClusterResources = {
  guests: [g(100, 'pve1'), g(101, 'pve1', 'lxc'), g(102, 'pve2'), g(105, 'pve1'), g(200, 'pve3')],
  nodes: ['pve1', 'pve2', 'pve3', 'pve4'].map((node) => ({ node, status: 'online', online: true })),
  storages: [],
};

describe('parseSelectors', () => {
  it('reads VMIDs, ranges, all@<node> and comma lists', () => {
    expect(parseSelectors(['100', '101-105', 'all@pve2', '200,201', '999999999']).selectors).toEqual([
      { kind: 'vmid', vmid: 100, text: '100' },
      { kind: 'range', from: 101, to: 105, text: '101-105' },
      { kind: 'node', node: 'pve2', text: 'all@pve2' },
      { kind: 'vmid', vmid: 200, text: '200' },
      { kind: 'vmid', vmid: 201, text: '201' },
      { kind: 'vmid', vmid: 999999999, text: '999999999' },
    ]);
  });

  it('reports every bad selector with what would be right', () => {
    const { selectors, problems } = parseSelectors(['99', '1000000000', '105-100', '100-', 'all@', 'all@-x', 'vm100', '100,', '$(reboot)', '100 101', '-5']);
    expect(selectors).toEqual([{ kind: 'vmid', vmid: 100, text: '100' }]);
    expect(problems).toEqual([
      "'99' is not a VMID (VMIDs are whole numbers from 100 to 999999999)",
      "'1000000000' is not a VMID (VMIDs are whole numbers from 100 to 999999999)",
      "'105-100': the range runs backwards (write 100-105)",
      "'100-' is not a guest selector: use a VMID (100), a range (100-110) or all@<node>",
      "'all@': no node name after all@",
      "'all@-x': node name '-x' is invalid: a node name is a short hostname of letters, digits and hyphens, starting and ending with a letter or digit (e.g. 'pve1')",
      "'vm100' is not a guest selector: use a VMID (100), a range (100-110) or all@<node>",
      "'100,' has an empty item",
      "'$(reboot)' is not a guest selector: use a VMID (100), a range (100-110) or all@<node>",
      "'100 101' is not a guest selector: use a VMID (100), a range (100-110) or all@<node>",
      "'-5' is not a guest selector: use a VMID (100), a range (100-110) or all@<node>",
    ]);
  });
});

describe('resolveSelectors', () => {
  it('removes duplicates and keeps the order first named; a range takes the guests in it', () => {
    const { selectors } = parseSelectors(['105', '100-102', 'all@pve1', '105', '200']);
    const r = resolveSelectors(selectors, RES);
    expect(r.unknown).toEqual([]);
    expect(r.guests.map((x) => x.vmid)).toEqual([105, 100, 101, 102, 200]);
    expect(r.guests[2]?.type).toBe('lxc');
  });

  it('lists VMIDs not in the cluster, empty ranges and unknown nodes; a node without guests is fine', () => {
    const { selectors } = parseSelectors(['103', '100', '300-400', 'all@pve9', 'all@pve4']);
    expect(resolveSelectors(selectors, RES)).toEqual({ guests: [RES.guests[0]], unknown: ['103', '300-400', 'all@pve9'] });
  });
});
