/** The definition of `pvx replication …` (add, list, status, remove, run): help, options and flag → input mapping; run and render load only when a command runs. */
import { Command } from 'commander';
import type { Dispatch } from '../shared/dispatch.js';

/** Register `pvx replication …` on the root. */
export function registerReplication(program: Command, dispatch: Dispatch): void {
  const repl = program.command('replication').description('storage replication (pvesr) of guests on local ZFS: add, list, status, remove, run');
  const changeRender = async () => (await import('./render.js')).renderReplicationChange;
  repl
    .command('add')
    .description('replicate a guest’s ZFS disks to another node on a schedule, after proving the prerequisites')
    .argument('<guest>', 'the VMID of a VM or container')
    .requiredOption('--to <node>', 'the node to replicate to (another online cluster node)')
    .option('--schedule <event>', "how often, as a PVE calendar event (default '*/15': every 15 minutes)")
    .option('--rate <MB/s>', 'bandwidth limit in MB/s, at least 1 (default: none)')
    .option('--comment <text>', 'a comment on the job')
    .addHelpText('after', `
Before any change (exit 3 and nothing changed when one fails): the cluster is quorate, the guest
exists, the target is another online node of the cluster, every disk of the guest is on zfspool
storage that the guest's node and the target both have enabled under the same ID (CD-ROMs, disks
marked replicate=0 and disks on shared storage are left out; any other local disk is refused and
named), and the guest has no job to that target yet. The job gets the id <vmid>-<n>, n the lowest
free number, is created with pvesr create-local-job and checked in pvesr list. The schedule is
checked as far as pvx can; pvesr has the last word (its refusal is exit 2, nothing changed).

Exit 0 created, 2 bad input, 3 a prerequisite failed, 4 failed after changes.

Examples:
  pvx replication add 100 --to pve2
  pvx replication add 100 --to pve3 --schedule 'mon..fri 22:00' --rate 50 --comment nightly
  pvx replication add 100 --to pve2 --dry-run`)
    .action(async (guest: string, opts: { to?: string; schedule?: string; rate?: string; comment?: string }, cmd: Command) =>
      dispatch(
        'replication add',
        cmd,
        async (deps) =>
          (await import('./change.js')).replicationAdd(deps, {
            guest,
            ...(opts.to !== undefined ? { to: opts.to } : {}),
            ...(opts.schedule !== undefined ? { schedule: opts.schedule } : {}),
            ...(opts.rate !== undefined ? { rate: opts.rate } : {}),
            ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
          }),
        changeRender,
      ),
    );
  repl
    .command('list')
    .description('every replication job of the cluster (pvesr list)')
    .addHelpText('after', `
Examples:
  pvx replication list
  pvx replication list --json | jq -r '.result.jobs[].jobId'`)
    .action(async (_opts: unknown, cmd: Command) =>
      dispatch('replication list', cmd, async (deps) => (await import('./status.js')).replicationList(deps), async () => (await import('./render.js')).renderReplicationList),
    );
  repl
    .command('status')
    .description('last sync, duration, fail count, state and next sync of each job (pvesr status on each node)')
    .option('--node <name>', 'only the jobs of guests on this node')
    .addHelpText('after', `
A job shows on the node its guest runs on; times are that node's local time, as pvesr prints them.
Exit 0, 1 a node could not be read (the others are shown), 6 no node reachable.

Examples:
  pvx replication status
  pvx replication status --node pve1 --json | jq '.result.jobs[] | select(.state != "OK")'`)
    .action(async (opts: { node?: string }, cmd: Command) =>
      dispatch(
        'replication status',
        cmd,
        async (deps) => (await import('./status.js')).replicationStatus(deps, opts.node !== undefined ? { node: opts.node } : {}),
        async () => (await import('./render.js')).renderReplicationStatus,
      ),
    );
  repl
    .command('remove')
    .description('remove a replication job, or every job of a guest (pvesr delete), and wait until it is gone')
    .argument('<job|guest>', 'a job id (100-0) or a VMID (all of its jobs)')
    .option('--keep', 'keep the replicated volumes on the target (default: pvesr removes them)')
    .option('--timeout <seconds>', 'how long to wait for pvescheduler to remove the job (default 300)')
    .addHelpText('after', `
pvesr delete marks the job; pvescheduler on the guest's node removes it (and, without --keep, the
replicated volumes on the target) at its next run, within a minute. A job that does not exist is
nothing to do (exit 0). Exit 4 when the job was marked but is still listed after --timeout.

Examples:
  pvx replication remove 100-0
  pvx replication remove 100 --keep --dry-run`)
    .action(async (ref: string, opts: { keep?: boolean; timeout?: string }, cmd: Command) =>
      dispatch(
        'replication remove',
        cmd,
        async (deps) => (await import('./change.js')).replicationRemove(deps, { ref, keep: opts.keep === true, ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}) }),
        changeRender,
      ),
    );
  repl
    .command('run')
    .description('run a replication job now (pvesr schedule-now), wait for it to finish and report its result')
    .argument('<job|guest>', 'a job id (100-0) or a VMID (all of its jobs, one after the other)')
    .option('--timeout <seconds>', 'how long to wait for each run to finish (default 600)')
    .addHelpText('after', `
pvescheduler on the guest's node starts the run within a minute; pvx waits until pvesr status
shows it ended. Exit 0 synced, 1 the run failed (the job's error is shown) or did not end in time,
3 no such job or the job is disabled.

Examples:
  pvx replication run 100-0
  pvx replication run 100 --json | jq .result.runs`)
    .action(async (ref: string, opts: { timeout?: string }, cmd: Command) =>
      dispatch('replication run', cmd, async (deps) => (await import('./change.js')).replicationRun(deps, { ref, ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}) }), changeRender),
    );
}
