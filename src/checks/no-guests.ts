/**
 * `no-guests`: a node that joins holds no guest configuration at all. `pvecm add` refuses while the
 * cluster-wide guest list is not empty (pve-cluster PVE/Cluster/Setup.pm assert_joinable), and pmxcfs
 * builds that list from every /etc/pve/nodes/* folder (src/pmxcfs/memdb.c memdb_recreate_vmlist), so
 * the folders of other nodes left from an earlier cluster count as much as the node's own guests.
 */
import { eachNode, finding, listText } from './finding.js';
import type { Check, Finding, Guest, NodeFacts } from './types.js';

const ID = 'no-guests';
const SHOWN = 8;

function label(g: Guest): string {
  return `${g.type === 'qemu' ? 'VM' : 'CT'} ${g.vmid}${g.name ? ` (${g.name})` : ''}`;
}

/** The folder under /etc/pve/nodes that is the node's own: PVE names it after the hostname. */
function ownFolder(f: NodeFacts): string {
  return f.hostname.ok ? f.hostname.value : f.name;
}

function ownGuests(node: string, guests: readonly Guest[]): Finding {
  const more = guests.length > SHOWN ? ` and ${guests.length - SHOWN} more` : '';
  const ids = guests.map((g) => g.vmid).join(' ');
  return finding(ID, node, 'fail', `has ${guests.length} guest(s): ${guests.slice(0, SHOWN).map(label).join(', ')}${more}; a node with guests cannot join`, {
    hint: `back them up (vzdump ${ids} --storage <storage>), remove them, join, then restore under free IDs (qmrestore <archive> <newid>, pct restore <newid> <archive>)`,
  });
}

function staleConfigs(node: string, stale: readonly Guest[]): Finding {
  const folders = [...new Set(stale.map((g) => `/etc/pve/nodes/${g.node}`))].sort();
  const each = stale.map((g) => `${g.path} (${label(g)})`);
  return finding(
    ID,
    node,
    'fail',
    `holds ${stale.length} guest configuration(s) in the folders of other nodes, left from an earlier cluster: ${each.join(', ')}; ` +
      `pvecm add counts every guest configuration under /etc/pve/nodes/ and refuses ('this host already contains virtual guests')`,
    {
      hint:
        `those guests belong to ${listText(folders.map((d) => d.slice('/etc/pve/nodes/'.length)))}, not to ${node}: on ${node}, keep a copy and remove the folders: ` +
        `tar czf /root/stale-nodes.tar.gz ${folders.join(' ')} && rm -r ${folders.join(' ')}`,
    },
  );
}

/** The no-guests check. */
export const noGuestsCheck: Check = {
  id: ID,
  title: 'No guests on joining nodes',
  purposes: ['create', 'join'],
  run(ctx) {
    return eachNode(ctx, ID, ctx.roles.joining, (f): Finding[] => {
      const n = f.name;
      if (!f.guests.ok) return [finding(ID, n, 'warn', `could not list the guests: ${f.guests.message}`, { hint: 'look in /etc/pve/nodes/*/qemu-server and /etc/pve/nodes/*/lxc' })];
      const guests = [...f.guests.value].sort((a, b) => a.vmid - b.vmid || a.path.localeCompare(b.path));
      if (guests.length === 0) return [finding(ID, n, 'ok', 'no VMs or containers')];
      const own = ownFolder(f);
      const mine = guests.filter((g) => g.node === own);
      const stale = guests.filter((g) => g.node !== own);
      return [...(mine.length > 0 ? [ownGuests(n, mine)] : []), ...(stale.length > 0 ? [staleConfigs(n, stale)] : [])];
    });
  },
};
