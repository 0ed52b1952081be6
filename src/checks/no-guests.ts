/** `no-guests`: a node that joins has no VMs or containers (pvecm add refuses, reference §1.4). */
import { eachNode, finding } from './finding.js';
import type { Check, Finding, Guest } from './types.js';

const ID = 'no-guests';
const SHOWN = 8;

function label(g: Guest): string {
  return `${g.type === 'qemu' ? 'VM' : 'CT'} ${g.vmid}${g.name ? ` (${g.name})` : ''}`;
}

/** The no-guests check. */
export const noGuestsCheck: Check = {
  id: ID,
  title: 'No guests on joining nodes',
  purposes: ['create', 'join'],
  run(ctx) {
    return eachNode(ctx, ID, ctx.roles.joining, (f): Finding[] => {
      const n = f.name;
      if (!f.guests.ok) return [finding(ID, n, 'warn', `could not list the guests: ${f.guests.message}`, { hint: `look in /etc/pve/nodes/${n}/qemu-server and lxc` })];
      const guests = [...f.guests.value].sort((a, b) => a.vmid - b.vmid);
      if (guests.length === 0) return [finding(ID, n, 'ok', 'no VMs or containers')];
      const more = guests.length > SHOWN ? ` and ${guests.length - SHOWN} more` : '';
      const ids = guests.map((g) => g.vmid).join(' ');
      return [
        finding(ID, n, 'fail', `has ${guests.length} guest(s): ${guests.slice(0, SHOWN).map(label).join(', ')}${more}; a node with guests cannot join`, {
          hint: `back them up (vzdump ${ids} --storage <storage>), remove them, join, then restore under free IDs (qmrestore <archive> <newid>, pct restore <newid> <archive>)`,
        }),
      ];
    });
  },
};
