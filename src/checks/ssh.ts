/** `ssh`: the node answers over SSH with key auth, a known host key, as root. */
import { finding } from './finding.js';
import type { Check, Finding } from './types.js';

const ID = 'ssh';

/** The ssh check. */
export const sshCheck: Check = {
  id: ID,
  title: 'SSH access',
  purposes: ['general', 'create', 'join', 'migrate', 'ha'],
  run(ctx) {
    return ctx.nodes.map((n): Finding => {
      const f = ctx.facts.get(n);
      if (!f) return finding(ID, n, 'skip', `not run: ${n} was not read`);
      if (!f.reachable) {
        const u = f.unreachable;
        return finding(ID, n, 'fail', u?.message ?? `${n} could not be reached over SSH`, { hint: u?.hint ?? 'check that the node is up and sshd runs on it' });
      }
      if (f.scriptProblem) {
        return finding(ID, n, 'fail', `logged in to ${n}, but the read failed: ${f.scriptProblem}`, {
          hint: 'pvx runs a POSIX sh script with mktemp on the node; run it with -v to see the command and its output',
        });
      }
      if (!f.user.ok) return finding(ID, n, 'warn', `logged in to ${n}, but could not tell as whom: ${f.user.message}`);
      if (f.user.value.uid !== 0) {
        return finding(ID, n, 'fail', `logged in to ${n} as '${f.user.value.name}' (uid ${f.user.value.uid}), not as root`, {
          hint: "the PVE tools need root: set 'user: root' for this node (or ssh.user) in the inventory",
        });
      }
      return finding(ID, n, 'ok', 'key login as root works and the host key is known');
    });
  },
};
