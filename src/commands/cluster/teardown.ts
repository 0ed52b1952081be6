/**
 * `pvx cluster teardown`: show the cluster and what will happen, confirm (type the cluster name or
 * --yes), back up and verify every reachable node's cluster configuration, separate the other
 * nodes and remove them from the membership, separate the last node, check every node.
 */
import path from 'node:path';
import type { Deps } from '../../context.js';
import { CancelledError, ChangedThenFailedError, PreflightError, StepError, UnreachableError, UsageError, type PvxError } from '../../errors.js';
import { localPathProblem } from '../../pve/names.js';
import { CLUSTER_PATHS } from '../../pve/argv.js';
import type { Outcome } from '../../ui/report.js';
import { guestFileLabel, type GuestFile } from '../../facts/guest-files.js';
import { describeMembership, DEFAULT_TIMING, type Membership, type Timing } from '../../facts/node.js';
import { describePlan, type Plan, type PlannedStep } from '../../workflows/plan.js';
import { backupSetName, backupSteps, CLUSTER_ESSENTIALS, entryOf, nodeBackupDir, type NodeBackup } from '../../workflows/teardown/backup.js';
import type { TeardownNode, TeardownRole } from '../../workflows/teardown/decide.js';
import { planTeardown } from '../../workflows/teardown/plan.js';
import { BackupSetDir, defaultBackupRoot } from './backup-store.js';
import { readMembership } from '../../facts/node.js';
import { pvxCommandLine } from './nodes.js';
import { failureError, journalFile, readStates, type StepReport } from '../shared/plan-run.js';
import type { ReadProblem, SharedStorage } from '../../facts/teardown.js';
import { readTeardownFacts, type TeardownFacts } from './teardown-facts.js';
import type { TeardownBackups, TeardownNodeResult, TeardownOverview, TeardownPlanResult, TeardownResult } from './teardown-result.js';
export type { TeardownBackups, TeardownNodeResult, TeardownOverview, TeardownPlanResult, TeardownResult } from './teardown-result.js';
import { listenForInterrupt, waitAtHold } from '../shared/interrupt.js';
import { confirmOrCancel } from '../shared/confirm.js';
import { runPlanWithProgress } from '../shared/plan-run.js';
import { scopeOfViews, takeClusterLock, type HeldClusterLock } from '../shared/cluster-lock.js';
import { previewOrRun } from '../shared/dry-run.js';

const COMMAND = 'cluster teardown';

/** Options of `cluster teardown`. */
export interface TeardownOptions {
  backupDir?: string | undefined;
  /** tests shorten the waits */
  timing?: Timing;
}

function labels(g: readonly GuestFile[] | undefined): string[] {
  return (g ?? []).map(guestFileLabel);
}

/** Where each node's removed folders went, and which it kept. */
function folderNotes(records: ReadonlyMap<string, { foldersRemoved?: string[]; foldersKept?: Array<{ folder: string; why: string }> }>, backups: TeardownBackups): string[] {
  const notes: string[] = [];
  for (const [node, rec] of records) {
    const b = backups.nodes.find((x) => x.node === node);
    const copy = b ? `copies in ${b.file} and on ${node} in ${b.nodeFile}, under etc/pve/nodes/` : 'copies in its backup';
    if (rec.foldersRemoved && rec.foldersRemoved.length > 0) notes.push(`${node}: removed the other nodes' folders ${rec.foldersRemoved.join(', ')} (${copy})`);
    for (const k of rec.foldersKept ?? []) notes.push(`${node}: kept ${k.folder}, ${k.why}; remove it once checked (rm -r ${k.folder}), or a later join of ${node} fails`);
  }
  return notes;
}

/** What to do on a node that was down, once it is back. */
export function downNodeAdvice(inv: Parameters<typeof pvxCommandLine>[0], node: string): string {
  return (
    `${node} was not reachable: it was removed from the membership, but it still has its cluster configuration. ` +
    `Keep it off this network until it is separated: once it is back, run ${pvxCommandLine(inv, ['cluster', 'teardown'])} again ` +
    `(it separates ${node} the same way), or on ${node} itself: systemctl stop pve-cluster corosync; pmxcfs -l; ` +
    `rm ${CLUSTER_PATHS.pveCorosyncConf}; rm -r ${CLUSTER_PATHS.corosyncDir}/*; kill <PID in ${CLUSTER_PATHS.pmxcfsPidFile}>; ` +
    `systemctl start pve-cluster; rm -r ${CLUSTER_PATHS.corosyncState}/*; then, once it is alone, move the other nodes' folders out of ${CLUSTER_PATHS.pveNodes}/ ` +
    `(pvecm add refuses a node whose ${CLUSTER_PATHS.pveNodes}/*/ folders hold guest configurations)`
  );
}

function haRefusal(facts: TeardownFacts): PreflightError | undefined {
  const ha = facts.ha;
  if (!ha || 'problem' in ha) return undefined;
  if (ha.services.length > 0) {
    const sids = ha.services.map((s) => s.sid);
    return new PreflightError(
      `${sids.length} HA resource(s) are configured (${sids.join(', ')}): a node that loses quorum while HA is active fences itself (watchdog reboot), and a teardown takes quorum away from every node`,
      { hint: `remove them first (the guests keep running): ${sids.map((s) => `ha-manager remove ${s}`).join('; ')}; then wait until 'ha-manager status' shows every lrm idle, and run the teardown again` },
    );
  }
  if (ha.activeLrms.length > 0) {
    return new PreflightError(`the HA local resource manager is still active on ${ha.activeLrms.join(', ')} (its watchdog is armed): a node losing quorum now would fence itself`, {
      hint: "wait until 'ha-manager status' shows every lrm idle, then run the teardown again",
    });
  }
  return undefined;
}

/** A teardown acts only on what it read: a failed read of a node it would change stops it before any change. */
function unreadRefusal(unread: readonly ReadProblem[]): PvxError | undefined {
  if (unread.length === 0) return undefined;
  const msg = `cannot tear down: ${unread.map((u) => `${u.what} on ${u.node} could not be read (${u.message})`).join('; ')}; nothing was changed`;
  if (unread.every((u) => u.unreachable)) return new UnreachableError(unread[0]!.node, msg, { hint: 'make the node reachable and run the teardown again' });
  return new StepError(msg, { code: 'UNREADABLE', hint: 'run with --verbose to see what the node answered, fix it, and run the teardown again' });
}

function sharedStorageNote(s: readonly SharedStorage[]): string | undefined {
  if (s.length === 0) return undefined;
  return `shared storage stays configured on every node: ${s.map((x) => `${x.storage} (${x.plugintype})`).join(', ')}; standalone nodes no longer coordinate VMIDs or locks, so let only one of them use it (pvesm set <storage> --disable 1 on the others) or keep their VMIDs apart`;
}

/** Run `cluster teardown`. */
export async function clusterTeardown(deps: Deps, opts: TeardownOptions): Promise<Outcome<TeardownResult | TeardownPlanResult>> {
  const { globals } = deps;
  // a run confirmed with --yes continues the same way: the printed command must run where this one did
  const yes = globals.yes ? ['--yes'] : [];
  const confirmation = confirmOrCancel(deps, { noTtyMessage: 'tearing down a cluster needs a confirmation, and there is no terminal to ask at' });
  const backupDirProblem = opts.backupDir !== undefined ? localPathProblem(opts.backupDir) : undefined;
  if (backupDirProblem) throw new UsageError(`--backup-dir: ${backupDirProblem}`, { hint: 'give a directory, e.g. --backup-dir ~/pvx-backups' });
  const hold = deps.pvx.teardownHold;
  const inv = deps.inventory();
  const names = inv.nodes.map((n) => n.name);
  const timing = opts.timing ?? DEFAULT_TIMING;
  const t = deps.transport(inv.nodes);

  const reading = await deps.progress.start(`reading the cluster state of ${names.join(', ')}`);
  const facts = await readTeardownFacts(t, names);
  const d = facts.decision;
  if (d.kind === 'plan') reading.succeed(`cluster '${d.input.cluster}': ${d.input.nodes.map((n) => `${n.name} ${n.role === 'down' ? 'down' : n.online ? 'online' : 'offline'}`).join(', ')}`);
  else reading.succeed(`read ${names.length} node(s)`);

  if (d.kind === 'nothing') {
    const summary = `no inventory node is in a cluster (${d.standalone.join(', ') || 'none reachable'} standalone): nothing to tear down`;
    return { command: COMMAND, result: { cluster: null, outcome: 'unchanged', summary, nodes: [], steps: [], downNodes: [], notes: [] }, exitCode: 0, warnings: [] };
  }
  if (d.kind === 'refused') {
    const msg = `cannot tear down: ${d.problems.join('; ')}`;
    if (d.reason === 'several-clusters') throw new UsageError(msg, { hint: 'use an inventory that holds the nodes of one cluster only' });
    if (d.reason === 'unreachable-online' || d.reason === 'unreachable') throw new UnreachableError(d.nodes[0] ?? '', msg, { hint: 'nothing was changed' });
    if (d.reason === 'unreadable') throw new StepError(msg, { code: 'UNREADABLE', hint: 'nothing was changed; run with --verbose to see what the nodes answered' });
    throw new PreflightError(msg, { hint: d.hint ? `nothing was changed; ${d.hint}` : 'nothing was changed' });
  }
  // an unread HA state may hide an armed watchdog, and a teardown takes quorum from every node
  const unread = unreadRefusal([...facts.unread, ...(facts.ha && 'problem' in facts.ha ? [{ node: d.input.last, what: 'the HA status', unreachable: false, message: facts.ha.problem }] : [])]);
  if (unread) throw unread;
  const ha = haRefusal(facts);
  if (ha) throw ha;

  const input = d.input;
  const warnings: string[] = [];
  const storageNote = sharedStorageNote(facts.sharedStorages);
  const set = backupSetName(input.cluster, deps.now());
  const root = opts.backupDir !== undefined ? path.resolve(deps.cwd, opts.backupDir) : defaultBackupRoot(deps.pvx.stateDir, deps.env);
  const store = new BackupSetDir(path.join(root, set));
  const backupNodes = input.nodes.filter((n) => n.role === 'separate' || n.role === 'last').map((n) => n.name);
  const backups = backupNodes.map((n) => backupSteps(n, set, store));
  const backupPlan: Plan = { title: `back up the cluster configuration of ${backupNodes.join(', ')}`, steps: backups.flatMap((b) => b.steps) };
  const td = planTeardown(
    input,
    {
      guestsBefore: facts.guestFiles,
      guestFolders: facts.guestFolders,
      backups: new Map(backups.map((b) => [b.record.node, b.record])),
      guestsUnknown: new Set(facts.unmounted.filter((n) => !facts.guestFiles.has(n))),
    },
    { read: readMembership, timing },
  );

  return previewOrRun(deps, {
    preview: () => ({
      command: COMMAND,
      result: { title: `tear down cluster '${input.cluster}'`, cluster: input.cluster, backupDir: store.dir, plan: [...describePlan(backupPlan), ...describePlan(td.plan)] },
      exitCode: 0,
      warnings: [...warnings, ...(storageNote ? [storageNote] : [])],
    }),
    run: async () => {
      const authority = facts.readings.find((r) => r.node === input.last)?.membership;
      const overview: TeardownOverview = {
        cluster: input.cluster,
        quorate: authority?.kind === 'member' ? authority.quorate : undefined,
        nodes: input.nodes,
        facts,
        last: input.last,
        others: input.others.map((o) => o.node),
        removeOnly: input.removeOnly,
        expectedBefore: td.expectedBefore,
        ...(input.qdevice ? { qdevice: input.qdevice } : {}),
        localDir: store.dir,
        nodeDir: nodeBackupDir(set),
      };
      if (!globals.json && !globals.quiet) {
        const { renderTeardownOverview } = await import('./render-teardown.js');
        deps.io.err(renderTeardownOverview(overview, deps.theme));
      }
      await confirmation.ask({
        message: `Type the cluster name (${input.cluster}) to tear it down:`,
        typed: input.cluster,
        mismatch: `the name did not match '${input.cluster}': nothing was changed`,
        untouched: `cluster '${input.cluster}' was not touched`,
      });

      const before = new Map(facts.readings.map((r) => [r.node, r.membership]));
      const nodeResults = (after?: ReadonlyMap<string, Membership>): TeardownNodeResult[] =>
        input.nodes.map((n) => {
          const rec = td.records.get(n.name);
          const a = after?.get(n.name);
          return {
            name: n.name,
            role: n.role,
            before: n.detail,
            ...(a ? { after: describeMembership(a) } : {}),
            guestsBefore: labels(facts.guestFiles.get(n.name)),
            ...(rec?.guestsAfter ? { guestsAfter: labels(rec.guestsAfter) } : {}),
            ...(rec?.foldersRemoved ? { foldersRemoved: rec.foldersRemoved } : {}),
            ...(rec?.foldersKept && rec.foldersKept.length > 0 ? { foldersKept: rec.foldersKept } : {}),
          };
        });
      const downNodes = input.nodes.filter((n) => n.role === 'down').map((n) => ({ node: n.name, advice: downNodeAdvice(inv, n.name) }));
      const interrupt = listenForInterrupt(deps);
      // one lock for both phases, on every node that answered: the cluster is taken apart in between
      const lockScope = scopeOfViews(before.values(), names);
      let lock: HeldClusterLock | undefined;
      try {
        lock = await takeClusterLock(deps, t, lockScope);
        // phase 1: backups; a failure is undone on the nodes and the workstation copy is dropped
        const b = await runPlanWithProgress(deps, t, backupPlan, { signal: interrupt.signal, lock: lockScope });
        if (!b.run.ok) {
          store.remove();
          const recovery = pvxCommandLine(inv, ['cluster', 'teardown', ...(opts.backupDir !== undefined ? ['--backup-dir', opts.backupDir] : []), ...yes]);
          const { error } = failureError(deps, b.run, `backing up cluster '${input.cluster}'`, before, before, recovery);
          return failed(error, b.steps, nodeResults(), `the backups failed; nothing was changed (${error.message.split('\n')[0] ?? ''})`);
        }
        const records = backups.map((x) => x.record);
        const manifest = store.writeManifest(input.cluster, set, new Date(deps.now()).toISOString(), records);
        for (const r of records) {
          const lacking = CLUSTER_ESSENTIALS.filter((f) => !r.files.includes(entryOf(f)));
          if (lacking.length > 0) warnings.push(`${r.node} had no ${lacking.join(', ')} to back up`);
        }
        const backupInfo: TeardownBackups = {
          dir: store.dir,
          nodeDir: nodeBackupDir(set),
          nodes: manifest.nodes.map((n) => ({ node: n.node, file: path.join(store.dir, n.file), nodeFile: n.nodePath, sha256: n.sha256, files: n.files, missing: n.missing })),
        };
        deps.progress.note(`backups verified on ${records.length} node(s) and copied to ${store.dir}`);
        const notHeld = records.flatMap((r: NodeBackup) => r.missing.map((m) => `${r.node}: ${m}`));
        if (notHeld.length > 0) warnings.push(`not on the node, so not in its backup: ${notHeld.join('; ')}`);

        // phase 2: the teardown
        const done = await runPlanWithProgress(deps, t, td.plan, {
          signal: interrupt.signal,
          lock: lockScope,
          betweenSteps: async (next) => {
            if (hold && td.firstStepOf.get(hold.node) === next) await waitAtHold(hold, interrupt.signal, (s) => deps.progress.note(s));
          },
        });
        const after = await readStates(t, names);
        if (!done.run.ok) {
          const f = done.run.failed;
          // a node was touched once one of its steps ran, or may have run (cut off under it); one that
          // could not be reached at its first step was not
          const reached = f ? f.index : done.run.done.length;
          const touched = [...td.firstStepOf.entries()]
            .filter(([, i]) => (f ? i < reached || (i === reached && (f.cutOff || !f.unreachable)) : i < reached))
            .map(([n]) => n);
          const changed = done.run.changed || touched.length > 0;
          const restore = pvxCommandLine(inv, ['cluster', 'restore', store.dir, ...(touched.length > 0 ? ['--node', touched.join(',')] : [])]);
          const cont = pvxCommandLine(inv, ['cluster', 'teardown', ...yes]);
          const journal = journalFile(deps);
          const where = f ? ` at teardown step ${f.index + 1} on ${f.step.node} (${f.step.title})` : '';
          const cause = f ? f.message : 'cancelled with Ctrl-C';
          const states = names.map((n) => `  ${n}: ${describeMembership(after.get(n) ?? { node: n, kind: 'error', message: 'not read' })}${touched.includes(n) ? ' [separation started]' : ''}`);
          const details = {
            failedStep: f ? { index: f.index + 1, node: f.step.node, title: f.step.title, message: f.message } : null,
            nodes: names.map((n) => ({ name: n, state: after.get(n)?.kind ?? 'error', detail: describeMembership(after.get(n) ?? { node: n, kind: 'error', message: 'not read' }), separationStarted: touched.includes(n) })),
            backups: backupInfo,
            journal,
            restore,
            continue: cont,
          };
          let error: PvxError;
          if (!changed) {
            const kept = `the verified backups stay in ${store.dir}`;
            if (done.run.cancelled) error = new CancelledError(`teardown of '${input.cluster}' cancelled before any change; ${kept}`, { details });
            else if (f?.unreachable) error = new UnreachableError(f.step.node, `teardown of '${input.cluster}' stopped before any change${where}: ${cause}; ${kept}`, { details, hint: `once ${f.step.node} answers, run again: ${cont}` });
            else error = new StepError(`teardown of '${input.cluster}' stopped before any change${where}: ${cause}; ${kept}`, { details, hint: `fix the cause and run again: ${cont}` });
          } else {
            error = new ChangedThenFailedError(
              [
                `teardown of '${input.cluster}' stopped after changes${where}: ${cause}`,
                ...states,
                `  backups: ${store.dir} (on each node: ${nodeBackupDir(set)}/)`,
                `  journal: ${journal}`,
              ].join('\n'),
              { details, hint: `to put the separated node(s) back: ${restore}\n      to finish the teardown instead, once the cause is fixed: ${cont}` },
            );
          }
          return failed(error, [...b.steps, ...done.steps], nodeResults(after), error.message.split('\n')[0] ?? '', { backups: backupInfo, journal, restore, continue: cont });
        }
        const notes: string[] = [];
        const standalone = names.filter((n) => td.records.has(n));
        if (input.qdevice) {
          notes.push(`the QDevice${input.qdevice.host ? ` (QNetd host ${input.qdevice.host})` : ''} was removed before any node left (pvecm qdevice remove on ${input.last})`);
        }
        notes.push(...folderNotes(td.records, backupInfo));
        if (storageNote) warnings.push(storageNote);
        for (const dn of downNodes) warnings.push(dn.advice);
        const summary = `cluster '${input.cluster}' is torn down: ${standalone.join(', ')} ${standalone.length === 1 ? 'is' : 'are'} standalone${input.removeOnly.length ? `; ${input.removeOnly.join(', ')} removed from the membership` : ''}`;
        return {
          command: COMMAND,
          result: { cluster: input.cluster, outcome: 'torn-down', summary, nodes: nodeResults(after), backups: backupInfo, steps: [...b.steps, ...done.steps], downNodes, notes, restore: pvxCommandLine(inv, ['cluster', 'restore', store.dir]) },
          exitCode: 0,
          warnings,
        };
      } finally {
        await lock?.release();
        interrupt.dispose();
      }

      function failed(error: PvxError, steps: StepReport[], nodes: TeardownNodeResult[], summary: string, extra: Partial<TeardownResult> = {}): Outcome<TeardownResult> {
        const qdeviceGone = input.qdevice !== undefined && steps.some((s) => s.command.join(' ') === 'pvecm qdevice remove' && s.status === 'ok');
        if (qdeviceGone) warnings.push(`the QDevice was removed from '${input.cluster}' before the failure; to set it up again once the cluster is whole: pvecm qdevice setup ${input.qdevice?.host ?? '<QNetd address>'}`);
        return {
          command: COMMAND,
          result: { cluster: input.cluster, outcome: 'failed', summary, nodes, steps, downNodes, notes: [], ...extra },
          exitCode: error.exitCode,
          warnings,
          error,
        };
      }
    },
  });
}
