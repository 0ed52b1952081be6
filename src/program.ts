/** The commander tree: global options, every command, implementations loaded only when run. */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Deps } from './context.js';
import type { Outcome } from './ui/report.js';

/** Runs a command's implementation with wired dependencies and renders its outcome. */
export type Dispatch = (
  name: string,
  cmd: Command,
  action: (deps: Deps) => Promise<Outcome>,
  render?: () => Promise<(o: Outcome, deps: Deps) => string>,
) => Promise<void>;

/** What a command that only prints text and needs no node (completion, schema) gets from the entry. */
export interface PrintContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** write to stdout */
  out(text: string): void;
}

const EXIT_HELP = `
Exit codes:
  0 success          1 a step failed (nothing left half-changed)   2 bad input or config (nothing ran)
  3 preflight failed 4 failed after changes (see the journal)       5 cluster not quorate
  6 node unreachable 130 cancelled`;

/** Build the program; `dispatch` is called by each command's action, `print` serves the commands that only print. */
export function buildProgram(version: string, dispatch: Dispatch, print: PrintContext): Command {
  const program = new Command('pvx')
    .description('Safe Proxmox VE cluster workflows over SSH: preflight, create, join, status, teardown, migrate, ha, lab')
    .version(version, '-V, --version', 'print the pvx version')
    .option('-i, --inventory <file>', 'inventory file (default ./pvx.yaml, then $XDG_CONFIG_HOME/pvx/inventory.yaml; env PVX_INVENTORY)')
    .option('--json', 'print exactly one JSON document on stdout (no spinners, no prompts)')
    .option('-y, --yes', 'confirm destructive steps without a prompt (required without a TTY)')
    .option('--dry-run', 'run the reads, print the exact native commands per node, change nothing')
    .option('-v, --verbose', 'print every remote command, its node, exit code and duration on stderr (env PVX_VERBOSE=1)')
    .option('-q, --quiet', 'only errors and the final result')
    .option('--no-color', 'no colours (also NO_COLOR; FORCE_COLOR forces them)')
    .addOption(new Option('--connect-timeout <seconds>', 'SSH connect timeout (env PVX_CONNECT_TIMEOUT)').argParser(positiveInt('--connect-timeout')))
    .addHelpText('after', `${EXIT_HELP}

Examples:
  pvx lab up                                  # a local 3-node rehearsal lab (root, Linux)
  pvx -i "$(pvx lab inventory)" cluster status
  pvx cluster status --json | jq .result.quorum`);

  program
    .command('preflight')
    .description('prove every prerequisite on every node, in parallel; change nothing')
    .option('--for <purpose>', 'the checks of: general, create, join, migrate or ha (default general)')
    .option('--nodes <a,b,c>', 'inventory nodes to check (default: all); for create the first one creates')
    .option('--cluster-name <name>', 'create: the name of the new cluster (checked too); join: the name the cluster must have')
    .option('--via <member>', 'join: a member of the cluster to join (default: the first clustered node)')
    .option('--skew-warn <seconds>', 'clock difference between nodes that warns (default 0.5)')
    .option('--skew-fail <seconds>', 'clock difference between nodes that fails (default 2)')
    .option('--latency-warn <ms>', 'link0 round trip that warns (default 5)')
    .addHelpText('after', `
Checks: ssh, node-names, pve-version, ntp-sync, clock-skew, hostname-resolution, udp-corosync
(every ordered pair, UDP 5405-5412 on link0), link-latency; for create/join also not-clustered,
no-guests, cluster-name, two-node; for join/migrate/ha quorum; for ha ha-votes (3 votes or a QDevice). Exit 0 all passed (warnings allowed),
3 a check failed, 2 bad input (nothing ran).

Examples:
  pvx preflight
  pvx preflight --for create --nodes pve1,pve2,pve3 --cluster-name prod
  pvx preflight --for join --nodes pve4 --via pve1
  pvx preflight --skew-warn 0.2 --latency-warn 2 --json | jq '.result.checks[] | select(.status=="fail")'`)
    .action(async (opts: Record<string, string | undefined>, cmd: Command) =>
      dispatch(
        'preflight',
        cmd,
        async (deps) =>
          (await import('./commands/preflight.js')).preflight(deps, {
            for: opts['for'],
            nodes: opts['nodes'],
            clusterName: opts['clusterName'],
            via: opts['via'],
            skewWarn: opts['skewWarn'],
            skewFail: opts['skewFail'],
            latencyWarn: opts['latencyWarn'],
          }),
        async () => (await import('./ui/render/preflight.js')).renderPreflight,
      ),
    );

  const cluster = program.command('cluster').description('cluster membership: create, join, status, remove-node, expected, teardown, restore');
  cluster
    .command('status')
    .description('cluster name, quorum and members, read from every inventory node in parallel')
    .option('--node <name>', 'ask only this inventory node')
    .addHelpText('after', `
Reads 'pvecm status', 'pvesh get /cluster/status' and 'pveversion' on each node and merges what they say.
Exit 0 quorate, 5 not quorate, 6 a node could not be reached.

Examples:
  pvx cluster status
  pvx cluster status --node pve2 --json`)
    .action(async (opts: { node?: string }, cmd: Command) =>
      dispatch(
        'cluster status',
        cmd,
        async (deps) => (await import('./commands/cluster-status.js')).clusterStatus(deps, { node: opts.node }),
        async () => (await import('./ui/render/cluster-status.js')).renderClusterStatus,
      ),
    );
  const changeRenderer = async () => (await import('./ui/render/cluster-change.js')).renderClusterChange;
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
          (await import('./commands/cluster-create.js')).clusterCreate(deps, { name, nodes: opts.nodes, link0: opts.link0, passwordFile: opts.passwordFile, useSsh: opts.useSsh }),
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
        return (await import('./commands/cluster-join.js')).clusterJoin(deps, {
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
        async (deps) => (await import('./commands/cluster-remove-node.js')).clusterRemoveNode(deps, { node, via: opts.via, offlineConfirmed: opts.offlineConfirmed }),
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
        async (deps) => (await import('./commands/cluster-expected.js')).clusterExpected(deps, { votes, node: opts.node }),
        changeRenderer,
      ),
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
        async (deps) => (await import('./commands/cluster-teardown.js')).clusterTeardown(deps, { backupDir: opts.backupDir }),
        async () => (await import('./ui/render/cluster-teardown.js')).renderTeardown,
      ),
    );
  cluster
    .command('restore')
    .description("put nodes' corosync configuration back from a teardown backup (checksums verified first) and restart their cluster services")
    .argument('<backup>', 'the backup directory pvx cluster teardown made (…/backups/<cluster>-<timestamp>)')
    .option('--node <a,b>', 'restore only these nodes (default: every node of the backup that is not a member now)')
    .addHelpText('after', `
Every archive is checked against its sha256 and must hold the corosync files, or nothing runs (exit 2).
When members of the cluster still run, their corosync.conf is kept and the restored nodes are added back
to it (a higher config_version); the archive is uploaded, checked again on the node, /etc/corosync and
/etc/pve/corosync.conf are put back through a local pmxcfs, and pve-cluster and corosync start.
The configuration database in the backup is not written back: pmxcfs syncs it from the cluster.
Needs --yes without a terminal. Exit 0 restored and quorate, 2 bad or corrupted backup, 4 failed after
changes, 5 restored but not quorate, 6 a node to restore is unreachable.

Examples:
  pvx cluster restore ~/.local/state/pvx/backups/prod-20250101T120000Z --node pve3 --dry-run
  pvx cluster restore ~/.local/state/pvx/backups/prod-20250101T120000Z --node pve3`)
    .action(async (backup: string, opts: { node?: string }, cmd: Command) =>
      dispatch(
        'cluster restore',
        cmd,
        async (deps) => (await import('./commands/cluster-restore.js')).clusterRestore(deps, { backup, node: opts.node }),
        async () => (await import('./ui/render/cluster-teardown.js')).renderRestore,
      ),
    );

  program
    .command('migrate')
    .description('move guests to a node: checks first, then a worker pool; HA-managed guests are followed until they run there')
    .argument('<guests...>', 'VMIDs (100), ranges (100-110) and all@<node>, also comma-separated')
    .requiredOption('--to <node>', 'the node the guests move to')
    .option('--online', 'move running VMs live (qm migrate --online)')
    .option('--restart', 'move running containers by restarting them (pct migrate --restart)')
    .option('--bwlimit <MiB/s>', 'bandwidth limit in MiB/s (passed on as KiB/s)')
    .option('--target-storage <storage>', 'storage on the target for disks on local storage')
    .option('--with-local-disks', 'allow moving guests with disks on local storage (they are copied)')
    .option('--parallel <n>', 'guests at once, 1 to 8 (default 1)')
    .option('--timeout <seconds>', 'per guest: how long to wait for its migration, HA moves included (default 3600)')
    .addHelpText('after', `
Each guest ends migrated, failed or skipped (with the reason); a guest that cannot go is skipped and the
others go on. Checks before a guest starts: the target is online and quorate, the guest is not locked,
disks on local storage need --with-local-disks, a running VM needs --online, a running container
--restart; warnings for different CPU vendors on a live move and for little free memory on the target.
HA-managed guests move through ha-manager migrate and pvx waits until they run on the target;
ha-manager takes no target storage, so --target-storage with an HA-managed guest is refused (exit 2).
A VM's cloud-init drive and TPM state are copied without --with-local-disks; a drive given as a host
path (/dev/sdb) cannot be migrated unless marked shared=1.
A range selects the guests that exist in it. Exit 0 when every guest is on the target (already there
counts), 1 when any failed or was skipped, 2 bad input (nothing ran).

Examples:
  pvx migrate 100 --to pve2 --online
  pvx migrate 100-110 105 --to pve3 --online --parallel 4 --bwlimit 200
  pvx migrate all@pve1 --to pve2 --online --dry-run
  pvx migrate all@pve1 --to pve2 --restart --json | jq '.result.guests[] | select(.status != "migrated")'`)
    .action(async (guests: string[], opts: Record<string, string | boolean | undefined>, cmd: Command) =>
      dispatch(
        'migrate',
        cmd,
        async (deps) => {
          const s = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
          return (await import('./commands/migrate.js')).migrate(deps, {
            guests,
            ...(s('to') !== undefined ? { to: s('to') } : {}),
            online: opts['online'] === true,
            restart: opts['restart'] === true,
            withLocalDisks: opts['withLocalDisks'] === true,
            ...(s('bwlimit') !== undefined ? { bwlimit: s('bwlimit') } : {}),
            ...(s('targetStorage') !== undefined ? { targetStorage: s('targetStorage') } : {}),
            ...(s('parallel') !== undefined ? { parallel: s('parallel') } : {}),
            ...(s('timeout') !== undefined ? { timeout: s('timeout') } : {}),
          });
        },
        async () => (await import('./ui/render/migrate.js')).renderMigrate,
      ),
    );

  const ha = program.command('ha').description('HA resources: add, remove, set, status, budget; groups on PVE 8, node-affinity rules on PVE 9');
  const haRender = async () => (await import('./ui/render/ha.js')).renderHaChange;
  const haChange = (name: string, how: string) =>
    ha
      .command(name)
      .option('--nodes <n1:prio,n2>', 'node preference: nodes with an optional priority (higher is preferred)')
      .option('--strict', 'run the guests only on the --nodes nodes (PVE 8: restricted group; PVE 9: strict rule)')
      .option('--state <state>', 'the requested state: started, stopped, disabled or ignored (default for add: the state the guest is in now)')
      .option('--max-restart <n>', 'restarts on the same node before relocating (ha-manager default 1)')
      .option('--max-relocate <n>', 'relocations to other nodes before giving up (ha-manager default 1)')
      .option('--comment <text>', 'a comment on the resource')
      .option('--timeout <seconds>', `how long to wait for the HA stack to show the new state (default 120)`)
      .description(how);
  const haInput = (guests: string[], opts: Record<string, string | boolean | undefined>) => {
    const s = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
    return {
      guests,
      ...(s('nodes') !== undefined ? { nodes: s('nodes') } : {}),
      strict: opts['strict'] === true,
      ...(s('state') !== undefined ? { state: s('state') } : {}),
      ...(s('maxRestart') !== undefined ? { maxRestart: s('maxRestart') } : {}),
      ...(s('maxRelocate') !== undefined ? { maxRelocate: s('maxRelocate') } : {}),
      ...(s('comment') !== undefined ? { comment: s('comment') } : {}),
      ...(s('timeout') !== undefined ? { timeout: s('timeout') } : {}),
    };
  };
  haChange('add', 'make guests HA resources, after proving the prerequisites; a stopped guest stays stopped unless --state says otherwise')
    .argument('<guests...>', 'VMIDs (100), ranges (100-110) and all@<node>, also comma-separated')
    .addHelpText('after', `
Before any change (exit 3 and nothing changed when one fails): every node reachable, same PVE version,
clocks in sync, the cluster quorate with at least 3 votes (or a QDevice), and every disk of each guest
on shared storage or replicated (ZFS) to every node HA may restart it on. Guests that are HA resources
already are left alone (exit 0). ha-manager add requests 'started' by default, which would start a
stopped guest: pvx adds each guest in the state it is in now unless --state says otherwise.
--nodes makes (or reuses) an HA group on PVE 8 and a node-affinity rule on PVE 9; --dry-run shows
which commands the detected version gets. pvx then waits until ha-manager status shows each guest
in its state. Exit 0 done, 2 bad input (nothing ran), 3 a prerequisite failed, 4 failed after changes.

Examples:
  pvx ha add 100 101 --dry-run
  pvx ha add 100 --nodes pve1:2,pve2:1
  pvx ha add 100-105 --nodes pve1,pve2 --strict --state started --max-relocate 2 --json`)
    .action(async (guests: string[], opts: Record<string, string | boolean | undefined>, cmd: Command) =>
      dispatch('ha add', cmd, async (deps) => (await import('./commands/ha.js')).haAdd(deps, haInput(guests, opts)), haRender),
    );
  haChange('set', 'change one HA resource: its requested state, node preference or limits')
    .argument('<guest>', 'the VMID of an HA resource')
    .addHelpText('after', `
--state waits until ha-manager status shows the new state. --nodes moves the resource to a group
(PVE 8) or node-affinity rule (PVE 9) of that preference, made or reused as for add.

Examples:
  pvx ha set 100 --state stopped
  pvx ha set 100 --nodes pve2:2,pve3 --dry-run`)
    .action(async (guest: string, opts: Record<string, string | boolean | undefined>, cmd: Command) =>
      dispatch('ha set', cmd, async (deps) => (await import('./commands/ha.js')).haSet(deps, haInput([guest], opts)), haRender),
    );
  ha.command('remove')
    .description('stop managing guests with HA; the guests keep running or stay stopped')
    .argument('<guests...>', 'VMIDs (100), ranges (100-110) and all@<node>')
    .addHelpText('after', `
On PVE 9 the guests leave their rules too (rules left empty go); on PVE 8 groups pvx made that nothing
uses any more are removed. Guests that are not HA resources are left alone (exit 0).

Examples:
  pvx ha remove 100 101
  pvx ha remove all@pve3 --dry-run`)
    .action(async (guests: string[], _opts: unknown, cmd: Command) =>
      dispatch('ha remove', cmd, async (deps) => (await import('./commands/ha.js')).haRemove(deps, { guests }), haRender),
    );
  ha.command('status')
    .description('the CRM master, each LRM, each HA resource, and the downtime each availability level allows')
    .option('--node <name>', 'read the status from this node (default: the first that answers)')
    .addHelpText('after', `
Reads ha-manager status (PVE 8, 9.0 and 9.1+ formats). Exit 0, 5 the node has no quorum, 6 unreachable.

Examples:
  pvx ha status
  pvx ha status --json | jq '.result.services[] | select(.state != "started")'`)
    .action(async (opts: { node?: string }, cmd: Command) =>
      dispatch('ha status', cmd, async (deps) => (await import('./commands/ha-status.js')).haStatus(deps, { node: opts.node }), async () => (await import('./ui/render/ha.js')).renderHaStatus),
    );
  ha.command('budget')
    .description('the downtime a year, month and week that an availability target allows (no node is asked)')
    .argument('<percent>', 'the target, e.g. 99.99')
    .addHelpText('after', `
Examples:
  pvx ha budget 99.95
  pvx ha budget 99.999 --json | jq .result.budget.month`)
    .action(async (percent: string, _opts: unknown, cmd: Command) =>
      dispatch('ha budget', cmd, async (deps) => (await import('./commands/ha-status.js')).haBudget(deps, percent), async () => (await import('./ui/render/ha.js')).renderHaBudget),
    );

  const labCmd = program
    .command('lab')
    .description('a local rehearsal cluster on this machine (root, Linux): real sshd, corosync and chronyd in network namespaces')
    .addHelpText('after', `
Nodes are pve1 … pveN on a closed bridge (10.77.0.0/24 for the default lab). Commands never pick the lab
implicitly: point them at it with -i "$(pvx lab inventory)" or PVX_INVENTORY.

Examples:
  pvx lab up --install-deps
  pvx lab up --nodes 5 --pve 8.4.11,8.4.11,9.1.7 --guests 6
  pvx lab up --watchdog-timeout 6            # HA fencing in seconds instead of a minute
  pvx lab fault pve3 block-udp 5405-5412
  pvx lab exec pve1 -- pvecm status
  pvx lab down`);
  const labName = () => new Option('--name <lab>', 'lab name (up to 8 letters/digits)').default('pvx');
  labCmd
    .command('up')
    .description('build (or repair) the lab; idempotent')
    .addOption(labName())
    .addOption(new Option('--nodes <n>', 'number of nodes, 1 to 16').default(3).argParser(positiveInt('--nodes')))
    .option('--pve <versions>', 'simulated PVE version(s), one for all or one per node, comma-separated (e.g. 8.4.11,9.1.7)')
    .addOption(new Option('--guests <n>', 'seed this many VM/CT configs over the nodes').argParser(nonNegativeInt('--guests')))
    .option('--subnet <cidr>', 'a /24 inside 10.0.0.0/8 (default 10.77.0.0/24 for the default lab)')
    .option('--install-deps', 'apt-get install what the lab needs (openssh-server corosync chrony nftables libfaketime)')
    .addOption(
      new Option('--watchdog-timeout <s>', 'seconds an active HA LRM without quorum runs before its watchdog fences the node (default 60, as on real nodes; kept for the lab)').argParser(
        positiveInt('--watchdog-timeout'),
      ),
    )
    .action(async (opts: { name: string; nodes: number; pve?: string; guests?: number; subnet?: string; installDeps?: boolean; watchdogTimeout?: number }, cmd: Command) =>
      dispatch(
        'lab up',
        cmd,
        async (deps) =>
          (await import('./commands/lab.js')).labUpCommand(deps, {
            name: opts.name,
            nodes: opts.nodes,
            installDeps: Boolean(opts.installDeps),
            ...(opts.pve !== undefined ? { pve: opts.pve.split(',').map((v) => v.trim()) } : {}),
            ...(opts.guests !== undefined ? { guests: opts.guests } : {}),
            ...(opts.subnet !== undefined ? { subnet: opts.subnet } : {}),
            ...(opts.watchdogTimeout !== undefined ? { watchdogTimeout: opts.watchdogTimeout } : {}),
          }),
        async () => (await import('./ui/render/lab.js')).renderLabUp,
      ),
    );
  labCmd
    .command('down')
    .description('remove every namespace, bridge, mount and process of the lab (also after a crash)')
    .addOption(labName())
    .action(async (opts: { name: string }, cmd: Command) =>
      dispatch('lab down', cmd, async (deps) => (await import('./commands/lab.js')).labDownCommand(deps, opts.name), async () => (await import('./ui/render/lab.js')).renderNothing),
    );
  labCmd
    .command('status')
    .description('nodes, addresses, daemons and faults of the lab; exit 1 when it is not up')
    .addOption(labName())
    .action(async (opts: { name: string }, cmd: Command) =>
      dispatch('lab status', cmd, async (deps) => (await import('./commands/lab.js')).labStatusCommand(deps, opts.name), async () => (await import('./ui/render/lab.js')).renderLabStatus),
    );
  labCmd
    .command('inventory')
    .description("print the path of the lab's inventory (for -i \"$(pvx lab inventory)\")")
    .addOption(labName())
    .action(async (opts: { name: string }, cmd: Command) =>
      dispatch('lab inventory', cmd, async (deps) => (await import('./commands/lab.js')).labInventoryCommand(deps, opts.name), async () => (await import('./ui/render/lab.js')).renderLabInventory),
    );
  labCmd
    .command('exec')
    .description("run a command as a process of a node (its namespaces, its session environment)")
    .argument('<node>', 'lab node, e.g. pve1')
    .argument('<command...>', 'the command, after --')
    .addOption(labName())
    .addHelpText('after', '\nExample:\n  pvx lab exec pve2 -- corosync-quorumtool -s')
    .action(async (node: string, command: string[], opts: { name: string }, cmd: Command) =>
      dispatch('lab exec', cmd, async (deps) => (await import('./commands/lab.js')).labExecCommand(deps, opts.name, node, command), async () => (await import('./ui/render/lab.js')).renderNothing),
    );
  labCmd
    .command('fault')
    .description('break a node: block-udp <port|from-to>, skew <s>, stop-corosync, kill-corosync, down, pve-version <v>, hosts-loopback; or heal it')
    .argument('<node>', 'lab node, e.g. pve3 (heal also takes all)')
    .argument('<fault>', 'the fault')
    .argument('[arg]', 'its argument (ports, seconds, version)')
    .addOption(labName())
    .addHelpText('after', '\nExamples:\n  pvx lab fault pve2 block-udp 5407\n  pvx lab fault pve3 skew 2.5\n  pvx lab fault all heal')
    .action(async (node: string, fault: string, arg: string | undefined, opts: { name: string }, cmd: Command) =>
      dispatch('lab fault', cmd, async (deps) => (await import('./commands/lab.js')).labFaultCommand(deps, opts.name, node, fault, arg), async () => (await import('./ui/render/lab.js')).renderNothing),
    );

  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText('after', `
The script asks pvx itself for the candidates (commands, options, their values, inventory nodes,
lab names, VMIDs of a lab): nothing is asked of any node while completing.

Install:
  bash  echo 'source <(pvx completion bash)' >> ~/.bashrc
        or: pvx completion bash > ~/.local/share/bash-completion/completions/pvx
  zsh   echo 'source <(pvx completion zsh)' >> ~/.zshrc      (after compinit)
        or: pvx completion zsh > "\${fpath[1]}/_pvx"
  fish  pvx completion fish > ~/.config/fish/completions/pvx.fish`)
    .action(async (shell: string) => (await import('./commands/completion/print.js')).printCompletionScript(print, shell));
  program
    .command('schema')
    .description("print the JSON Schema of a command's --json output (without a command: the envelope every command prints)")
    .argument('[command...]', 'the command, e.g. cluster status')
    .option('--list', 'list the commands whose --json output has a result schema')
    .addHelpText('after', `
The schemas are also in the package's schemas/ folder (envelope.json, cluster-status.json, …).

Examples:
  pvx schema cluster status > cluster-status.schema.json
  pvx schema --list`)
    .action(async (words: string[], opts: { list?: boolean }) => (await import('./commands/schema.js')).printSchema(print, words, opts.list === true));
  // what the completion scripts call: `pvx __complete -- <words…>`
  program
    .command('__complete', { hidden: true })
    .argument('[words...]')
    .helpOption(false)
    .action(async (words: string[]) => (await import('./commands/completion/print.js')).printCompletions(print, program, words));

  return program;
}

/** A commander arg parser for positive integers with a clear message. */
export function positiveInt(flag: string): (v: string) => number {
  return (v: string) => {
    if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError(`${flag} must be a positive whole number, got '${v}'`);
    return Number(v);
  };
}

/** A commander arg parser for whole numbers from 0. */
export function nonNegativeInt(flag: string): (v: string) => number {
  return (v: string) => {
    if (!/^(0|[1-9][0-9]*)$/.test(v)) throw new InvalidArgumentError(`${flag} must be a whole number from 0, got '${v}'`);
    return Number(v);
  };
}

/** Apply a setting to a command and every sub-command (commander copies settings only at creation). */
export function forEachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) forEachCommand(sub, fn);
}
