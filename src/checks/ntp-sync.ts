/** `ntp-sync`: chrony (or timedatectl) says the clock is synchronised. */
import { eachNode, finding, signedSeconds } from './finding.js';
import type { Check, Finding } from './types.js';

const ID = 'ntp-sync';

/** The ntp-sync check. */
export const ntpSyncCheck: Check = {
  id: ID,
  title: 'Time synchronisation',
  purposes: ['general', 'create', 'join', 'migrate', 'ha'],
  run(ctx) {
    return eachNode(ctx, ID, ctx.nodes, (f): Finding[] => {
      const n = f.name;
      const r = f.timeSync;
      if (!r.ok) {
        if (r.reason === 'missing') {
          return [finding(ID, n, 'warn', `cannot tell whether the clock is synchronised: ${r.message}`, { hint: 'install chrony, the NTP client PVE uses: apt install chrony' })];
        }
        if (r.reason === 'garbage') return [finding(ID, n, 'warn', `cannot tell whether the clock is synchronised: ${r.message}`, { hint: 'run chronyc tracking on the node and look at its output' })];
        return [finding(ID, n, 'fail', `the clock is not known to be synchronised: ${r.message}`, { hint: 'start the NTP client: systemctl enable --now chrony; then check chronyc sources' })];
      }
      const t = r.value;
      if (t.source === 'timedatectl') {
        const via = t.chronyProblem ? ` (${t.chronyProblem})` : '';
        return t.synchronized
          ? [finding(ID, n, 'ok', `timedatectl reports the clock synchronised${via}`)]
          : [finding(ID, n, 'fail', `timedatectl reports the clock NOT synchronised${via}`, { hint: 'enable time sync: apt install chrony (PVE default) or timedatectl set-ntp true, then check the NTP servers are reachable' })];
      }
      if (!t.synchronized) {
        return [
          finding(ID, n, 'fail', `chrony is not synchronised (${t.detail ?? 'no reference'})`, {
            hint: 'check the servers in /etc/chrony/chrony.conf and that UDP 123 to them is open; chronyc sources -v shows why',
          }),
        ];
      }
      const ref = t.reference ? ` to ${t.reference}` : '';
      const offset = t.offsetSec ?? 0;
      if (Math.abs(offset) > ctx.thresholds.skewWarnSec) {
        return [
          finding(ID, n, 'warn', `chrony is synchronised${ref}, but the clock is still ${signedSeconds(offset)} off NTP time`, {
            hint: 'chrony slews slowly; step the clock once with chronyc makestep (the cluster stack dislikes jumps later)',
          }),
        ];
      }
      return [finding(ID, n, 'ok', `chrony is synchronised${ref} (offset ${signedSeconds(offset)})`)];
    });
  },
};
