/** The definition of `pvx cluster …` (status, create, join, remove-node, expected, qdevice, teardown, restore): help, options and flag → input mapping; run and render load only when a command runs. */
import { Command, Option } from 'commander';
import type { Dispatch } from '../shared/dispatch.js';
import { positiveInt } from '../shared/options.js';

/** Register `pvx cluster …` (status, create, join, remove-node, expected, qdevice, teardown, restore) on the root. */
export function registerCluster(program: Command, dispatch: Dispatch): void {
  const cluster = program.command('cluster').description('cluster membership: create, join, status, remove-node, expected, qdevice, teardown, restore');
  cluster
    .command('status')
    .description('cluster name, quorum and members, read from every inventory node in parallel')
    .option('--node <name>', 'ask only this inventory node')
    .addHelpText('after', `
Reads what 'pvecm status', 'pvesh get /cluster/status' and 'pveversion' report, from their own sources
(corosync.conf, corosync-quorumtool -siH, /etc/pve/.members, the package database), in one
round trip per node, and merges what the nodes say.
Exit 0 quorate, 5 not quorate, 6 a node could not be reached.

Examples:
  pvx cluster status
  pvx cluster status --node pve2 --json`)
    .action(async (opts: { node?: string }, cmd: Command) =>
      dispatch(
        'cluster status',
        cmd,
        async (deps) => (await import('./status.js')).clusterStatus(deps, { node: opts.node }),
        async () => (await import('./render-status.js')).renderClusterStatus,
      ),
    );
  const changeRenderer = async () => (await import('./render-change.js')).renderClusterChange;
  cluster
    .command('create')
    .description('create a cluster: preflight every node, pvecm create on the first, join the others one at a time, verify')
    .argument('<name>', 'cluster name: letters, digits and hyphens, at most 15 characters')
    .requiredOption('--nodes <a,b,c>', 'inventory nodes; the first one creates the cluster')
    .option('--link0 <node=ip,…>', 'corosync link 0 address per node (default: the inventory link0, else the address the node name resolves to)')
    .option('--password-file <file>', 'file holding the root password of the first node (env PVX_PASSWORD_FILE); asked once at a terminal otherwise')
    .option('--use-ssh', 'join over SSH (pvecm add --use_ssh 1) where the nodes already trust each other; no password')
    .addHelpText('after', `
Each join reads the first node's certificate fingerprint (pvesh get /cluster/config/join) and pins it,
feeds the password on stdin (never in argv, logs or output), judges pvecm add by its output and by
re-reading the membership, and waits for quorum before the next node. At the end every node must
report the same members, quorum, and a writable /etc/pve. Re-running with the same nodes is a no-op;
nodes missing from an existing cluster of that name are joined.
Exit 0 done (or nothing to do), 2 bad input, 3 preflight failed (nothing changed), 4 failed after changes.

Examples:
  pvx cluster create prod --nodes pve1,pve2,pve3 --dry-run
  pvx cluster create prod --nodes pve1,pve2,pve3 --link0 pve1=10.0.0.1,pve2=10.0.0.2,pve3=10.0.0.3
  PVX_PASSWORD_FILE=~/.pve-root pvx cluster create prod --nodes pve1,pve2,pve3 --json`)
    .action(async (name: string, opts: { nodes: string; link0?: string; passwordFile?: string; useSsh?: boolean }, cmd: Command) =>
      dispatch(
        'cluster create',
        cmd,
        async (deps) =>
          (await import('./create.js')).clusterCreate(deps, { name, nodes: opts.nodes, link0: opts.link0, passwordFile: opts.passwordFile, useSsh: opts.useSsh }),
        changeRenderer,
      ),
    );
  const join = cluster
    .command('join')
    .description('join one node to the cluster of a member: preflight, pvecm add with the fingerprint pinned, verify')
    .argument('<node>', 'the inventory node that joins')
    .requiredOption('--via <member>', 'an inventory node that is a quorate member of the cluster')
    .option('--link0 <ip>', 'corosync link 0 address of the joining node (default: inventory link0, else what its name resolves to)')
    .option('--password-file <file>', 'file holding the root password of the member (env PVX_PASSWORD_FILE); asked once at a terminal otherwise')
    .option('--use-ssh', 'join over SSH (pvecm add --use_ssh 1); no password')
    .addHelpText('after', `
A cluster with several corosync links needs an address for each: --link1 <ip> … --link7 <ip>.

Examples:
  pvx cluster join pve4 --via pve1 --dry-run
  pvx cluster join pve4 --via pve1 --link0 10.0.0.4 --password-file ~/.pve-root`);
  for (let i = 1; i < 8; i++) join.addOption(new Option(`--link${i} <ip>`, `corosync link ${i} address of the joining node`).hideHelp());
  join.action(async (node: string, opts: Record<string, string | boolean | undefined>, cmd: Command) =>
    dispatch(
      'cluster join',
      cmd,
      async (deps) => {
        const links: Partial<Record<number, string>> = {};
        for (let i = 0; i < 8; i++) {
          const v = opts[`link${i}`];
          if (typeof v === 'string') links[i] = v;
        }
        return (await import('./join.js')).clusterJoin(deps, {
          node,
          via: String(opts['via']),
          links,
          passwordFile: typeof opts['passwordFile'] === 'string' ? opts['passwordFile'] : undefined,
          useSsh: opts['useSsh'] === true,
        });
      },
      changeRenderer,
    ),
  );
  cluster
    .command('remove-node')
    .description('remove a powered-off node: refuse while it hosts guests or is alive, pvecm delnode from a quorate member, clean up, verify')
    .argument('<node>', 'the node to remove (its PVE node name)')
    .option('--via <member>', 'the inventory member that runs pvecm delnode (default: the first quorate member)')
    .option('--offline-confirmed', 'the node is powered off for good: remove it even if it still looks alive')
    .addHelpText('after', `
Needs --yes without a terminal; at a terminal you type the node name to confirm.
corosync may answer 'Could not kill node (error = CS_ERR_NOT_EXIST)': harmless, the node was already down.
Refused (exit 3) while the cluster has a QDevice: run 'pvecm qdevice remove' on a member first, as
Proxmox's admin guide asks, and 'pvecm qdevice setup <QNetd address>' afterwards.

Examples:
  pvx cluster remove-node pve4 --dry-run
  pvx cluster remove-node pve4 --yes`)
    .action(async (node: string, opts: { via?: string; offlineConfirmed?: boolean }, cmd: Command) =>
      dispatch(
        'cluster remove-node',
        cmd,
        async (deps) => (await import('./remove-node.js')).clusterRemoveNode(deps, { node, via: opts.via, offlineConfirmed: opts.offlineConfirmed }),
        changeRenderer,
      ),
    );
  cluster
    .command('expected')
    .description('set the expected votes on a node (pvecm expected): only for a lone partition whose peers are powered off')
    .argument('<votes>', 'the expected votes, at least 1', positiveInt('<votes>'))
    .requiredOption('--node <name>', 'the inventory node to run it on')
    .addHelpText('after', `
Risk: a partition told to expect fewer votes acts as the whole cluster. If the missing nodes are still
running and do the same, both sides write /etc/pve and may start the same guests (split brain).
Needs --yes without a terminal; at a terminal you type the node name to confirm.

Examples:
  pvx cluster expected 1 --node pve1 --yes`)
    .action(async (votes: number, opts: { node: string }, cmd: Command) =>
      dispatch(
        'cluster expected',
        cmd,
        async (deps) => (await import('./expected.js')).clusterExpected(deps, { votes, node: opts.node }),
        changeRenderer,
      ),
    );
  const qdevice = cluster.command('qdevice').description('a QDevice (an external vote from a QNetd host): add, remove');
  const qdeviceRenderer = async () => (await import('./render-qdevice.js')).renderQdevice;
  qdevice
    .command('add')
    .description('add a QDevice: prove every prerequisite, pvecm qdevice setup on one node, verify the votes on every node')
    .argument('<host>', 'IP address of the QNetd host (corosync-qnetd installed and running, root ssh from the nodes)')
    .option('--force', 'set it up for an odd node count too (pvecm: algorithm lms), and replace a QDevice certificate store left on the node')
    .addHelpText('after', `
Before any change (exit 3 and nothing changed when one fails): every cluster node reachable, quorate and
online; TCP 5403 on <host> reachable from every node; corosync-qdevice installed on every node; no QDevice
configured yet; root ssh without a prompt (BatchMode) from the node that runs pvecm to <host>, where
corosync-qnetd answers; an even node count (pvecm refuses an odd one without --force). Then
'pvecm qdevice setup <host>' runs on the first quorate inventory node (the certificate exchange can take
minutes) and every node's corosync-quorumtool -s must show the node count + 1 expected votes (with
--force on an odd count: twice the node count - 1, as lms gives the device one vote less than the
nodes) and the Qdevice flag. Exit 0 done, 2 bad input (nothing ran), 3 a prerequisite failed, 4 failed after changes
(the message names what to run next).

Examples:
  pvx cluster qdevice add 10.0.0.5 --dry-run
  pvx cluster qdevice add 10.0.0.5
  pvx cluster qdevice add 10.0.0.5 --json | jq .result.votes`)
    .action(async (host: string, opts: { force?: boolean }, cmd: Command) =>
      dispatch('cluster qdevice add', cmd, async (deps) => (await import('./qdevice.js')).clusterQdeviceAdd(deps, { host, force: opts.force }), qdeviceRenderer),
    );
  qdevice
    .command('remove')
    .description('remove the QDevice: every node online, pvecm qdevice remove, verify the votes on every node')
    .addHelpText('after', `
Before any change (exit 3): every cluster node reachable, quorate and online (pvecm: "All nodes must be
online!") and a QDevice configured in /etc/pve/corosync.conf. Then 'pvecm qdevice remove' on the first
quorate inventory node, and every node's corosync-quorumtool -s must show the node count as expected votes
and no Qdevice flag. Exit 0 done, 3 a prerequisite failed, 4 failed after changes.

Examples:
  pvx cluster qdevice remove --dry-run
  pvx cluster qdevice remove --json`)
    .action(async (_opts: unknown, cmd: Command) =>
      dispatch('cluster qdevice remove', cmd, async (deps) => (await import('./qdevice.js')).clusterQdeviceRemove(deps), qdeviceRenderer),
    );
  cluster
    .command('teardown')
    .description('destroy the cluster of the inventory nodes: back up and verify every node, separate the others, then the last one; guests stay')
    .option('--backup-dir <dir>', 'where the workstation copies of the backups go (default: <state dir>/backups); a <cluster>-<timestamp> directory is made in it')
    .addHelpText('after', `
Shows the cluster, its nodes (online or not), the guests per node, HA resources and shared storage, and
what will happen; at a terminal you type the cluster name to go on (a wrong name changes nothing, exit
130); without a terminal --yes is required. Before anything is deleted, /etc/corosync,
/etc/pve/corosync.conf, /etc/pve/nodes and /var/lib/pve-cluster/config.db of every reachable node are put
in a tar with a sha256, kept on the node (/var/lib/pvx/backups/<cluster>-<timestamp>/) and copied here,
and each copy is checked on both sides. A QDevice is removed first (pvecm qdevice remove). Then each
other node is separated (stop pve-cluster and corosync, pmxcfs -l, remove the corosync configuration,
stop that pmxcfs by its PID, start pve-cluster, clear /var/lib/corosync, then remove the other nodes'
folders from its /etc/pve/nodes, whose copies are in its backup) and removed with pvecm delnode on the
last node (pvecm expected where it would lack quorum); the last node is separated last. Nodes that are
down are only removed from the membership. Refused while HA resources are configured, and while a
QDevice is configured and a node is offline. Ctrl-C stops between steps.
Exit 0 done (or no cluster), 1 backups failed (nothing changed), 2 bad input or no --yes without a
terminal, 3 refused, 4 failed after changes (the message names the restore command), 6 a node could
not be reached before any change, 130 cancelled (a wrong cluster name, or Ctrl-C before any change).

Examples:
  pvx cluster teardown --dry-run
  pvx cluster teardown
  pvx cluster teardown --yes --backup-dir ~/pvx-backups --json`)
    .action(async (opts: { backupDir?: string }, cmd: Command) =>
      dispatch(
        'cluster teardown',
        cmd,
        async (deps) => (await import('./teardown.js')).clusterTeardown(deps, { backupDir: opts.backupDir }),
        async () => (await import('./render-teardown.js')).renderTeardown,
      ),
    );
  cluster
    .command('restore')
    .description("put nodes' corosync configuration back from a teardown backup (checksums verified first) and restart their cluster services")
    .argument('<backup>', 'the backup directory pvx cluster teardown made (…/backups/<cluster>-<timestamp>)')
    .option('--node <a,b>', 'restore only these nodes (default: every node of the backup that is not a member now)')
    .option('--keep-changes', 'guest configurations created or changed since the backup: write them into the restored cluster')
    .option('--discard-changes', "guest configurations created or changed since the backup: restore the backup's (each node's database is kept aside)")
    .addHelpText('after', `
Every archive is checked against its sha256 and must hold the corosync files, or nothing runs (exit 2).
pmxcfs gives every member the database of the member with the most writes, so the restore decides it:
when the whole cluster is restored, each node gets its backup's config.db back; when members still
run, the restored node's own database is removed so it takes the running cluster's. Either way the
node's own database is first kept in /var/lib/pve-cluster/config.db.before-restore-<backup set>.
Before anything changes, each node's guest configurations are compared with what it will hold: a
guest created, changed or removed since then refuses the restore (exit 3) unless --keep-changes or
--discard-changes says what to do. At the end every node must hold the guest configurations it should.
When members still run, their corosync.conf is kept and the restored nodes are added back to it (a
higher config_version); /etc/corosync comes back from the archive and pve-cluster and corosync start.
Needs --yes without a terminal. Exit 0 restored and quorate, 2 bad or corrupted backup, 3 refused
(guest configurations changed, a node cannot be read), 4 failed after changes (the message names the
command that continues), 5 restored but not quorate, 6 a node to restore is unreachable.

Examples:
  pvx cluster restore ~/.local/state/pvx/backups/prod-20250101T120000Z --node pve3 --dry-run
  pvx cluster restore ~/.local/state/pvx/backups/prod-20250101T120000Z --node pve3
  pvx cluster restore ~/.local/state/pvx/backups/prod-20250101T120000Z --keep-changes`)
    .action(async (backup: string, opts: { node?: string; keepChanges?: boolean; discardChanges?: boolean }, cmd: Command) =>
      dispatch(
        'cluster restore',
        cmd,
        async (deps) =>
          (await import('./restore.js')).clusterRestore(deps, {
            backup,
            node: opts.node,
            ...(opts.keepChanges ? { keepChanges: true } : {}),
            ...(opts.discardChanges ? { discardChanges: true } : {}),
          }),
        async () => (await import('./render-teardown.js')).renderRestore,
      ),
    );
}
