/**
 * `hostname-resolution`: the node name resolves to a non-loopback address configured on the node
 * (what pmxcfs and pvecm need, reference §7.2), and the link0 address is local.
 */
import { isLoopbackAddress } from '../pve/parse/getent-hosts.js';
import { eachNode, finding, listText, unreadLineFindings } from './finding.js';
import type { Check, Finding, NodeFacts } from './types.js';

const ID = 'hostname-resolution';

function hostsLine(f: NodeFacts, name: string): string {
  const addr = f.link0 ?? '<address>';
  return `${addr} ${name}.<domain> ${name}`;
}

function resolutionFindings(f: NodeFacts, name: string): Finding[] {
  const n = f.name;
  if (!f.resolved.ok) return [finding(ID, n, 'warn', `could not resolve '${name}' on the node: ${f.resolved.message}`, { hint: 'pvx resolves the name with getent ahosts (libc)' })];
  const all = f.resolved.value;
  if (all.length === 0) {
    return [
      finding(ID, n, 'fail', `the node name '${name}' does not resolve on ${n}`, {
        hint: `add '${hostsLine(f, name)}' to /etc/hosts on ${n} (PVE needs its name to resolve to its own address)`,
      }),
    ];
  }
  const loop = all.filter(isLoopbackAddress);
  const real = all.filter((a) => !isLoopbackAddress(a));
  const first = real[0];
  if (first === undefined) {
    return [
      finding(ID, n, 'fail', `'${name}' resolves only to ${listText(loop)} (loopback); PVE needs a non-loopback address`, {
        hint: `in /etc/hosts on ${n}, replace the line '${loop[0]} ${name}' with '${hostsLine(f, name)}'`,
      }),
    ];
  }
  const out: Finding[] = [];
  if (f.localAddresses.ok && !f.localAddresses.value.includes(first)) {
    out.push(
      finding(ID, n, 'fail', `'${name}' resolves to ${first}, which is not configured on any interface of ${n}`, {
        hint: `fix /etc/hosts (or DNS) so '${name}' resolves to one of ${n}'s own addresses (${listText(f.localAddresses.value.filter((a) => !isLoopbackAddress(a)))})`,
      }),
    );
  } else if (loop.length > 0) {
    out.push(
      finding(ID, n, 'warn', `'${name}' resolves to ${first}, but also to ${listText(loop)}`, {
        hint: `remove the '${loop[0]} ${name}' line from /etc/hosts on ${n}; some PVE services take the first address`,
      }),
    );
  } else {
    out.push(finding(ID, n, 'ok', `'${name}' resolves to ${first}${f.localAddresses.ok ? ', an address of this node' : ''}`));
  }
  return out;
}

function link0Findings(f: NodeFacts): Finding[] {
  const n = f.name;
  if (f.link0 === undefined) {
    return [finding(ID, n, 'fail', `no link0 address: the inventory gives none and the node name does not resolve to one`, { hint: `set link0 for ${n} in the inventory` })];
  }
  if (!f.localAddresses.ok) return [finding(ID, n, 'warn', `could not check that link0 ${f.link0} is local: ${f.localAddresses.message}`)];
  if (!f.localAddresses.value.includes(f.link0)) {
    return [
      finding(ID, n, 'fail', `link0 ${f.link0} is not configured on ${n}`, {
        hint: `pvecm refuses it ("cannot use IP '${f.link0}', not found on local node"): fix link0 in the inventory or configure the address`,
      }),
    ];
  }
  // only worth a line of its own when the inventory chose it; a resolved link0 was covered above
  return f.link0Source === 'inventory' ? [finding(ID, n, 'ok', `link0 ${f.link0} is configured on ${n}`)] : [];
}

/** The hostname-resolution check. */
export const hostnameResolutionCheck: Check = {
  id: ID,
  title: 'Hostname resolution',
  purposes: ['general', 'create', 'join', 'migrate', 'ha'],
  run(ctx) {
    return eachNode(ctx, ID, ctx.nodes, (f): Finding[] => {
      const name = f.hostname.ok ? f.hostname.value : f.name;
      return [...resolutionFindings(f, name), ...link0Findings(f), ...unreadLineFindings(ID, f.name, [['ip -o addr show', f.localAddresses]])];
    });
  },
};
