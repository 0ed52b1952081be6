/**
 * `pvx cluster restore <backup> [--node n]`: check the backup set (sha256 and contents) before
 * anything runs, put the nodes' corosync configuration back (the running members learn them
 * first when they were removed), restart the services, and show the resulting membership.
 */
import path from 'node:path';
import type { Deps } from '../../context.js';
import { NotQuorateError, PreflightError, UnreachableError, UsageError } from '../../errors.js';
import { CLUSTER_PATHS } from '../../pve/argv.js';
import { parseCorosyncConf, summarizeCorosyncConf } from '../../pve/parse/corosync-conf.js';
import { ParseError } from '../../pve/parse/errors.js';
import type { Outcome } from '../../ui/report.js';
import { DEFAULT_TIMING, describeMembership, type Membership, type Timing } from '../../facts/node.js';
import { describePlan, type PlannedStep } from '../../workflows/plan.js';
import { chooseRestoreConf, RestoreConfError, votesOf, type RestoreConf } from '../../workflows/cluster/restore-conf.js';
import { keptDatabaseDir, planRestore, type RestoreNode } from '../../workflows/cluster/restore-plan.js';
import {
  archiveGuests,
  archiveHasDatabase,
  compareGuests,
  describeChange,
  guestContentsArgv,
  guestKey,
  PMXCFS_NOT_MOUNTED_EXIT,
  GuestListingError,
  ofNode,
  parseGuestContents,
  type GuestChange,
  type GuestConfigs,
} from '../../workflows/cluster/restore-guests.js';
import type { Transport } from '../../transport/types.js';
import { entryOf } from '../../workflows/teardown/backup.js';
import { nodeNameProblem } from '../../pve/names.js';
import { readBackupSet, verifyArchive, type VerifiedArchive } from './backup-store.js';
import { readMembership } from '../../facts/node.js';
import { inventoryNodes, parseNodeList, pvxCommandLine } from './nodes.js';
import { confirmOrCancel } from '../shared/confirm.js';
import { nothingRead } from '../shared/nothing-read.js';
import { scopeOfViews } from '../shared/cluster-lock.js';
import { failureError, nodeState, readStates, runPlanWithProgress, type NodeState, type StepReport } from '../shared/plan-run.js';
import { listenForInterrupt } from '../shared/interrupt.js';
import { previewOrRun } from '../shared/dry-run.js';

const COMMAND = 'cluster restore';

/** Options of `cluster restore`. */
export interface RestoreOptions {
  backup: string;
  node?: string | undefined;
  /** guest configurations created or changed since the backup: carry them into the restored cluster */
  keepChanges?: boolean;
  /** guest configurations created or changed since the backup: restore the backup's (the node's database is kept aside) */
  discardChanges?: boolean;
  timing?: Timing;
}

/** The membership shown at the end. */
export interface RestoreMembership {
  cluster: string;
  quorate: boolean;
  configured: string[];
  online: string[];
  /** the node it was read from */
  source: string;
}

/** The JSON result of `cluster restore`. */
export interface RestoreResult {
  cluster: string;
  outcome: 'restored' | 'unchanged' | 'failed';
  summary: string;
  backup: string;
  restored: string[];
  skipped: Array<{ node: string; why: string }>;
  conf?: { configVersion: number; nodes: string[]; source: 'cluster' | 'backup' };
  /** which pmxcfs database each restored node ends with */
  databases?: Array<{ node: string; database: RestoreNode['database'] }>;
  guestChanges?: GuestChange[];
  changesTreatment?: 'keep' | 'discard';
  membership?: RestoreMembership;
  steps: StepReport[];
  nodes?: NodeState[];
  journal?: string;
  recovery?: string;
}

/** The result of `cluster restore --dry-run`. */
export interface RestorePlanResult {
  title: string;
  cluster: string;
  backup: string;
  plan: PlannedStep[];
}

type Member = Extract<Membership, { kind: 'member' }>;

function membershipOf(m: Membership | undefined): RestoreMembership | undefined {
  if (!m || m.kind !== 'member') return undefined;
  return { cluster: m.cluster, quorate: m.quorate, configured: m.configured, online: m.online, source: m.node };
}

/** Run `cluster restore`. */
export async function clusterRestore(deps: Deps, opts: RestoreOptions): Promise<Outcome<RestoreResult | RestorePlanResult>> {
  const { globals } = deps;
  if (opts.keepChanges && opts.discardChanges) throw new UsageError('--keep-changes and --discard-changes exclude each other');
  const dir = path.resolve(deps.cwd, opts.backup);
  const manifest = readBackupSet(dir);
  const wanted = opts.node !== undefined ? parseNodeList(opts.node) : manifest.nodes.map((n) => n.node);
  const entries = wanted.map((name) => {
    const e = manifest.nodes.find((n) => n.node === name);
    if (!e) throw new UsageError(`the backup ${dir} holds no backup of ${name}`, { hint: `it holds: ${manifest.nodes.map((n) => n.node).join(', ')}` });
    return e;
  });
  // every archive is checked before any node is touched; a corrupted one refuses the whole restore
  const archives = new Map<string, VerifiedArchive>(entries.map((e) => [e.node, verifyArchive(dir, e)]));
  const confirmation = confirmOrCancel(deps, { noTtyMessage: 'restoring restarts the cluster services of the nodes, and there is no terminal to confirm it' });
  const inv = deps.inventory();
  inventoryNodes(inv, wanted);
  const names = inv.nodes.map((n) => n.name);
  const t = deps.transport(inv.nodes);
  const timing = opts.timing ?? DEFAULT_TIMING;
  const cluster = manifest.cluster;

  const reading = await deps.progress.start(`reading the cluster state of ${names.join(', ')}`);
  const before = await readStates(t, names);
  const unread = nothingRead(before);
  if (unread) throw unread;
  reading.succeed(`read ${names.length} node(s)`);
  const down = wanted.filter((n) => before.get(n)?.kind === 'unreachable');
  if (down.length > 0) {
    const m = before.get(down[0] as string);
    throw new UnreachableError(down[0] as string, `cannot restore ${down.join(', ')}: ${m?.kind === 'unreachable' ? m.message : 'unreachable'}`, { hint: 'nothing was changed; restore the nodes pvx can reach with --node, the others once they answer' });
  }
  const elsewhere = wanted.filter((n) => {
    const m = before.get(n);
    return m?.kind === 'member' && m.cluster !== cluster;
  });
  if (elsewhere.length > 0) {
    throw new PreflightError(`cannot restore ${elsewhere.join(', ')}: now in another cluster (${elsewhere.map((n) => describeMembership(before.get(n)!)).join('; ')})`, { hint: 'nothing was changed' });
  }
  const skipped: RestoreResult['skipped'] = [];
  const restoring = wanted.filter((n) => {
    const m = before.get(n);
    if (m?.kind === 'member' && m.cluster === cluster && m.configured.includes(n)) {
      skipped.push({ node: n, why: `already a member of '${cluster}'` });
      return false;
    }
    return true;
  });
  const treatmentFlag = opts.keepChanges ? ['--keep-changes'] : opts.discardChanges ? ['--discard-changes'] : [];
  // a run the user confirmed with --yes continues the same way: the printed command must run where this one did
  const recovery = pvxCommandLine(inv, ['cluster', 'restore', dir, '--node', wanted.join(','), ...treatmentFlag, ...(globals.yes ? ['--yes'] : [])]);
  if (restoring.length === 0) {
    return {
      command: COMMAND,
      result: { cluster, outcome: 'unchanged', summary: `${wanted.join(', ')} ${wanted.length === 1 ? 'is' : 'are'} already in cluster '${cluster}': nothing to restore`, backup: dir, restored: [], skipped, steps: [], ...membershipField(before.get(wanted[0] as string)) },
      exitCode: 0,
      warnings: [],
    };
  }

  const members = names
    .map((n) => before.get(n))
    .filter((m): m is Member => m?.kind === 'member' && m.cluster === cluster && !restoring.includes(m.node))
    .sort((a, b) => Number(b.quorate) - Number(a.quorate) || b.partitionSize - a.partitionSize);
  const authority = members[0];
  // the running member's two copies: corosync's own and the cluster-wide one (they differ after an interrupted restore)
  let liveLocal: string | undefined;
  let liveCluster: string | undefined;
  if (authority) {
    try {
      const [local, shared] = await Promise.all(
        [CLUSTER_PATHS.corosyncConf, CLUSTER_PATHS.pveCorosyncConf].map((f) => t.exec(authority.node, ['cat', f], { title: `read ${f}` })),
      );
      if (!local || local.exitCode !== 0) throw new PreflightError(`cannot read ${CLUSTER_PATHS.corosyncConf} on ${authority.node}: ${local?.stderr.trim() || 'no output'}`);
      liveLocal = local.stdout;
      if (shared && shared.exitCode === 0) liveCluster = shared.stdout;
    } catch (e) {
      if (e instanceof UnreachableError) throw new PreflightError(`${authority.node} stopped answering: ${e.message}`, { hint: 'nothing was changed; run again' });
      throw e;
    }
  }
  const live = newerConf(liveLocal, liveCluster);
  let conf: RestoreConf;
  try {
    conf = chooseRestoreConf(cluster, live, new Map(restoring.map((n) => [n, archives.get(n)?.corosyncConf ?? ''])), restoring);
  } catch (e) {
    if (e instanceof RestoreConfError) throw new PreflightError(`cannot restore: ${e.message}`, { hint: 'nothing was changed' });
    throw e;
  }
  const votes = votesOf(conf.text);
  const total = [...votes.values()].reduce((a, b) => a + b, 0);
  const present = new Set([...restoring, ...(authority ? authority.online.filter((n) => votes.has(n)) : [])]);
  const presentVotes = [...present].reduce((a, n) => a + (votes.get(n) ?? 0), 0);
  const expectQuorum = presentVotes * 2 > total;
  // pmxcfs gives every member the database with the most writes (reference §2.4): the restore decides
  // which one each node ends with, and names what that would take from it before anything changes
  const current = await readGuests(t, restoring);
  const authorityGuests = authority ? (await readGuests(t, [authority.node])).get(authority.node) : undefined;
  if (authorityGuests === 'unmounted') throw new PreflightError(`cannot read the guest configurations on ${authority?.node}: pmxcfs is not mounted there`, { hint: 'nothing was changed; run again' });
  const clusterGuests = authorityGuests;
  const nodes: RestoreNode[] = [];
  const guestChanges: GuestChange[] = [];
  const warnings: string[] = [];
  const conflicts: string[] = [];
  for (const n of restoring) {
    const a = archives.get(n) as VerifiedArchive;
    const folders = otherFolders(a.entry.files, n);
    const database: RestoreNode['database'] = clusterGuests ? 'cluster' : archiveHasDatabase(a.data) ? 'backup' : 'kept';
    if (database === 'kept') warnings.push(`the backup of ${n} holds no ${CLUSTER_PATHS.configDb}: ${n} keeps its own database, and when the nodes meet the one with the most writes decides /etc/pve`);
    const listed = current.get(n) as GuestConfigs | 'unmounted';
    const finalAll = database === 'cluster' ? (clusterGuests as GuestConfigs) : database === 'backup' ? archiveGuests(a.data) : listed === 'unmounted' ? archiveGuests(a.data) : listed;
    const after = ofNode(finalAll, n);
    // without pmxcfs (a stop part-way through a teardown or a restore) nothing can have changed
    // /etc/pve since it stopped; what its database holds stays there, or is kept aside before it is replaced
    if (listed === 'unmounted') {
      warnings.push(
        `pmxcfs is not running on ${n} (a teardown or restore stopped part-way), so its guest configurations cannot be compared: ` +
          (database === 'kept' ? `${n} keeps its own database` : `its own database is kept in ${keptDatabaseDir(manifest.set)} (once) before it is replaced`),
      );
    }
    const now = listed === 'unmounted' ? after : ofNode(listed, n);
    const changes = compareGuests(now, after);
    guestChanges.push(...changes);
    const keep = opts.keepChanges === true && changes.length > 0;
    if (keep) {
      for (const c of changes.filter((x) => x.change === 'created')) {
        const elsewhere = [...finalAll.values()].find((g) => g.node !== n && g.vmid === c.vmid);
        if (elsewhere) conflicts.push(`${n}: ${c.type === 'qemu' ? 'VM' : 'CT'} ${c.vmid} exists on ${elsewhere.node} in the restored cluster too`);
      }
    }
    const byKey = (c: GuestChange, from: GuestConfigs) => from.get(guestKey(c));
    nodes.push({
      node: n,
      archiveBase64: () => a.data.toString('base64'),
      sha256: a.entry.sha256,
      backupConf: a.corosyncConf,
      ...(folders.length > 0 ? { folders } : {}),
      database,
      guests: keep ? now : after,
      ...(keep
        ? {
            keep: {
              write: changes.filter((c) => c.change !== 'removed').flatMap((c) => byKey(c, now) ?? []),
              remove: changes.filter((c) => c.change === 'removed').flatMap((c) => byKey(c, after) ?? []),
            },
          }
        : {}),
    });
  }
  if (guestChanges.length > 0 && !opts.keepChanges && !opts.discardChanges) {
    const per = restoring
      .map((n) => ({ n, list: guestChanges.filter((c) => c.node === n) }))
      .filter((x) => x.list.length > 0)
      .map((x) => `${x.n}: ${x.list.map(describeChange).join(', ')}`);
    const source = clusterGuests ? `the running cluster's (on ${authority?.node})` : "the backup's";
    throw new PreflightError(`guest configurations differ from ${source}, and the restore would replace them: ${per.join('; ')}`, {
      hint:
        `nothing was changed. Run again with --keep-changes to write these configurations into the restored cluster once it is quorate, ` +
        `or with --discard-changes to restore ${source} (each node's own database is kept in ${keptDatabaseDir(manifest.set)})`,
      details: { guestChanges },
    });
  }
  if (opts.keepChanges && guestChanges.length > 0 && !expectQuorum) {
    throw new PreflightError('--keep-changes writes the kept configurations through the cluster, and the restored nodes will not be quorate', { hint: 'nothing was changed; restore more nodes at once, or use --discard-changes' });
  }
  if (conflicts.length > 0) {
    throw new PreflightError(`cannot keep guest configurations whose VMID the restored cluster uses already: ${conflicts.join('; ')}`, { hint: 'nothing was changed; give the guest another VMID first (qm/pct), or use --discard-changes' });
  }
  const updateMembers = authority !== undefined && liveLocal !== conf.text;
  const plan = planRestore(
    {
      cluster,
      set: manifest.set,
      conf,
      nodes,
      members: updateMembers ? members.map((m) => m.node) : [],
      ...(authority && liveCluster !== conf.text ? { clusterCopyOn: authority.node } : {}),
      partition: present.size,
      expectQuorum,
    },
    { read: readMembership, timing },
  );
  if (!expectQuorum) {
    warnings.push(`${[...present].join(', ')} hold ${presentVotes} of ${total} votes: the cluster will not be quorate until more of ${conf.nodes.filter((n) => !present.has(n)).join(', ')} are back`);
  }
  return previewOrRun(deps, {
    preview: () => ({ command: COMMAND, result: { title: plan.title, cluster, backup: dir, plan: describePlan(plan) }, exitCode: 0, warnings }),
    run: async () => {
      await confirmation.ask({
        preface:
          `\nRestore ${restoring.join(', ')} into cluster '${cluster}' from ${dir}: ${updateMembers ? `${members.map((m) => m.node).join(', ')} take corosync.conf version ${conf.configVersion} first; ` : ''}` +
          `their cluster services restart.${skipped.length ? ` Skipped: ${skipped.map((s) => `${s.node} (${s.why})`).join(', ')}.` : ''}\n`,
        message: `Type the cluster name (${cluster}) to restore:`,
        typed: cluster,
        mismatch: `the name did not match '${cluster}': nothing was changed`,
        untouched: 'nothing was restored',
      });

      const interrupt = listenForInterrupt(deps);
      let done;
      try {
        done = await runPlanWithProgress(deps, t, plan, { signal: interrupt.signal, lock: scopeOfViews(before.values(), names) });
      } finally {
        interrupt.dispose();
      }
      const after = await readStates(t, names);
      const treatment = guestChanges.length === 0 ? {} : { guestChanges, changesTreatment: opts.keepChanges ? ('keep' as const) : ('discard' as const) };
      const base = {
        cluster,
        backup: dir,
        skipped,
        conf: { configVersion: conf.configVersion, nodes: conf.nodes, source: conf.source },
        databases: nodes.map((n) => ({ node: n.node, database: n.database })),
        ...treatment,
        steps: done.steps,
      };
      if (!done.run.ok) {
        const { error } = failureError(deps, done.run, `restoring ${restoring.join(', ')}`, before, after, recovery);
        return {
          command: COMMAND,
          result: { ...base, outcome: 'failed', summary: error.message.split('\n')[0] ?? '', restored: [], nodes: [...after.values()].map(nodeState), journal: String(error.details?.['journal'] ?? ''), recovery },
          exitCode: error.exitCode,
          warnings,
          error,
        };
      }
      const view = membershipOf(after.get(restoring[0] as string)) ?? membershipOf(authority ? after.get(authority.node) : undefined);
      const summary = `restored ${restoring.join(', ')} into cluster '${cluster}' (corosync.conf version ${conf.configVersion})`;
      const result: RestoreResult = { ...base, outcome: 'restored', summary, restored: restoring, ...(view ? { membership: view } : {}) };
      if (view && !view.quorate) {
        const error = new NotQuorateError(`${summary}, but the cluster is not quorate: ${view.online.length} of ${view.configured.length} node(s) online`, {
          hint: `restore or start the other nodes (${view.configured.filter((n) => !view.online.includes(n)).join(', ')})`,
        });
        return { command: COMMAND, result, exitCode: error.exitCode, warnings, error };
      }
      return { command: COMMAND, result, exitCode: 0, warnings };
    },
  });
}

/**
 * Every guest configuration of each node's /etc/pve, or `unmounted` where pmxcfs does not run (its
 * database is all there is); a node whose listing cannot be read otherwise refuses the restore.
 */
async function readGuests(t: Transport, nodes: readonly string[]): Promise<Map<string, GuestConfigs | 'unmounted'>> {
  const out = new Map<string, GuestConfigs | 'unmounted'>();
  await Promise.all(
    nodes.map(async (n) => {
      let r;
      try {
        r = await t.exec(n, guestContentsArgv(), { title: `read the guest configurations on ${n}` });
      } catch (e) {
        if (e instanceof UnreachableError) throw new PreflightError(`${n} stopped answering: ${e.message}`, { hint: 'nothing was changed; run again' });
        throw e;
      }
      if (r.exitCode === PMXCFS_NOT_MOUNTED_EXIT && !r.stdout.trim()) {
        out.set(n, 'unmounted');
        return;
      }
      const why = r.exitCode !== 0 ? r.stderr.trim().split('\n').pop() || `exit code ${r.exitCode}` : undefined;
      try {
        if (why === undefined) {
          out.set(n, parseGuestContents(r.stdout));
          return;
        }
      } catch (e) {
        if (!(e instanceof GuestListingError)) throw e;
        throw new PreflightError(`cannot read the guest configurations on ${n}: ${e.message}`, { hint: 'nothing was changed' });
      }
      throw new PreflightError(`cannot read the guest configurations on ${n} (${why}): a restore must know what it would replace`, {
        hint: `nothing was changed; fix what ${n} answered, then run again`,
      });
    }),
  );
  return out;
}

/** The folders of other nodes an archive holds under etc/pve/nodes/ (named as PVE names nodes; anything else is left out). */
export function otherFolders(files: readonly string[], node: string): string[] {
  const prefix = `${entryOf(CLUSTER_PATHS.pveNodes)}/`;
  const names = files.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length).split('/')[0] ?? '');
  return [...new Set(names)].filter((n) => n !== node && nodeNameProblem(n) === undefined).sort();
}

/** The copy with the higher config_version (unreadable ones lose). */
function newerConf(a: string | undefined, b: string | undefined): string | undefined {
  const version = (text: string | undefined): number => {
    if (text === undefined) return -1;
    try {
      return summarizeCorosyncConf(parseCorosyncConf(text)).configVersion;
    } catch (e) {
      if (e instanceof ParseError) return -1;
      throw e;
    }
  };
  const va = version(a);
  const vb = version(b);
  if (va < 0 && vb < 0) return a;
  return vb > va ? b : a;
}

function membershipField(m: Membership | undefined): { membership?: RestoreMembership } {
  const v = membershipOf(m);
  return v ? { membership: v } : {};
}
