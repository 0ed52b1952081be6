/**
 * The plan of `pvx cluster teardown` (reference §2.2, §2.3): remove a QDevice first (pve-docs
 * pvecm.adoc asks for that before nodes are removed), separate the other nodes one by one and remove
 * each from the membership on the last node (setting the expected votes where the last node would
 * otherwise lack quorum), then separate the last node. Every separation is checked: standalone, no
 * corosync, no cluster files, every guest configuration still there; then the other nodes' folders
 * it still holds go, once their files are in its verified backup.
 */
import { CLUSTER_PATHS, emptyDir, pmxcfsLocal, pvecm, pveNodeDir, systemctl } from '../../pve/argv.js';
import { nodeNameProblem } from '../../pve/names.js';
import { classifyPvecmDelnode } from '../../pve/parse/pvecm-add-output.js';
import { readOnlyScript } from '../../transport/read-only-scripts.js';
import type { ExecResult, Transport } from '../../transport/types.js';
import { delnodeFailure } from '../cluster/remove-node.js';
import { guestFileLabel, guestFilesArgv, missingGuests, parseGuestFiles, type GuestFile } from '../../facts/guest-files.js';
import { describeMembership, waitForMembership, type ReadWiring } from '../../facts/node.js';
import type { Plan, Step } from '../plan.js';
import { entryOf, isHalfWritten, type NodeBackup } from './backup.js';
import type { TeardownInput } from './decide.js';
import { lastLine } from '../../pve/parse/text.js';

/** What each separated node looked like at the end, filled in as the checks run. */
export interface SeparationRecord {
  node: string;
  guestsBefore: GuestFile[];
  guestsAfter?: GuestFile[];
  standalone: boolean;
  /** the other nodes' folders removed from its /etc/pve/nodes (their files are in its backup) */
  foldersRemoved?: string[];
  /** folders it still holds, and why they were kept */
  foldersKept?: Array<{ folder: string; why: string }>;
}

/** What the teardown knows besides the decision: the guest files and folders each node holds, and its backup. */
export interface TeardownPlanFacts {
  /** guest configuration files each node holds in its own folder */
  guestsBefore: ReadonlyMap<string, readonly GuestFile[]>;
  /** per node: the folders under /etc/pve/nodes holding guest configurations there */
  guestFolders?: ReadonlyMap<string, readonly string[]>;
  /** per node: its backup, filled in (and verified) before the plan runs */
  backups?: ReadonlyMap<string, NodeBackup>;
  /** nodes whose guest configurations could not be read (pmxcfs not mounted): read once their local pmxcfs runs */
  guestsUnknown?: ReadonlySet<string>;
}

/** A teardown plan with the records its checks fill in. */
export interface TeardownPlan {
  plan: Plan;
  records: Map<string, SeparationRecord>;
  /** nodes whose separation starts at each step index (the first step of the node) */
  firstStepOf: Map<string, number>;
  /** nodes before whose removal the last node needs `pvecm expected` (it would lack quorum) */
  expectedBefore: string[];
}

// $1 is the pidfile. The PID must belong to pmxcfs; a zombie counts as gone.
const STOP_PMXCFS_SCRIPT = [
  'pid=$(cat "$1") || exit 1; case "$pid" in \'\'|*[!0-9]*) echo "no PID in $1" >&2; exit 1;; esac',
  'if ! tr \'\\0\' \' \' < "/proc/$pid/cmdline" 2>/dev/null | grep -qw pmxcfs; then echo "PID $pid of $1 is not pmxcfs" >&2; exit 1; fi; kill "$pid"',
  'alive() { s=$(sed \'s/^.*) //\' "/proc/$1/stat" 2>/dev/null | cut -c1); [ -n "$s" ] && [ "$s" != Z ]; }; i=0',
  'while alive "$pid"; do i=$((i+1)); if [ "$i" -ge 300 ]; then echo "pmxcfs (PID $pid) did not exit within 30 s" >&2; exit 1; fi; sleep 0.1; done; echo "stopped pmxcfs (PID $pid)"',
].join('\n');

// What still ties a node to a cluster: the configuration files and a running corosync.
const CLUSTER_TRACES_SCRIPT = readOnlyScript(
  `for f in ${CLUSTER_PATHS.pveCorosyncConf} ${CLUSTER_PATHS.corosyncConf} ${CLUSTER_PATHS.authkey}; do if [ -e "$f" ]; then echo "file $f"; fi; done; ` +
    'if pidof corosync >/dev/null 2>&1; then echo "corosync running"; fi; true',
);

// $1 is the pidfile. A pmxcfs started by hand (`pmxcfs -l`) is no part of the pve-cluster unit, so
// `systemctl stop pve-cluster` leaves it running after an interrupted run, and the next `pmxcfs -l`
// cannot take its lock: stop it, and only it; no pidfile, or a PID that is not pmxcfs, is nothing to do.
const STOP_LEFTOVER_PMXCFS_SCRIPT = [
  'pid=$(cat "$1" 2>/dev/null); case "$pid" in \'\'|*[!0-9]*) echo "no local pmxcfs left running"; exit 0;; esac',
  'if ! tr \'\\0\' \' \' < "/proc/$pid/cmdline" 2>/dev/null | grep -qw pmxcfs; then echo "no local pmxcfs left running"; exit 0; fi; kill "$pid"',
  'alive() { s=$(sed \'s/^.*) //\' "/proc/$1/stat" 2>/dev/null | cut -c1); [ -n "$s" ] && [ "$s" != Z ]; }; i=0',
  'while alive "$pid"; do i=$((i+1)); if [ "$i" -ge 300 ]; then echo "pmxcfs (PID $pid) did not exit within 30 s" >&2; exit 1; fi; sleep 0.1; done; echo "stopped pmxcfs (PID $pid)"',
].join('\n');

/** Stop a local pmxcfs an interrupted run left behind, if one runs (see the script's comment). */
export function stopLeftoverPmxcfsArgv(): string[] {
  return ['sh', '-c', STOP_LEFTOVER_PMXCFS_SCRIPT, 'sh', CLUSTER_PATHS.pmxcfsPidFile];
}

/** Stop the pmxcfs named by the pidfile, by its PID, and wait until it is gone. */
export function stopPmxcfsArgv(): string[] {
  return ['sh', '-c', STOP_PMXCFS_SCRIPT, 'sh', CLUSTER_PATHS.pmxcfsPidFile];
}

/** List what still ties a node to a cluster (files, a running corosync). */
export function clusterTracesArgv(): string[] {
  return ['sh', '-c', CLUSTER_TRACES_SCRIPT];
}

// $@ are folders; each one that exists is printed, then every file in it
const FOLDER_FILES_SCRIPT = readOnlyScript('for d in "$@"; do if [ -d "$d" ]; then echo "dir $d"; find "$d" -type f | sed \'s/^/file /\'; fi; done; true');

/** List the folders that exist among `folders`, and their files. */
export function folderFilesArgv(folders: readonly string[]): string[] {
  return ['sh', '-c', FOLDER_FILES_SCRIPT, 'sh', ...folders];
}

/** The folders and files the listing reported. */
export function parseFolderFiles(stdout: string): { dirs: string[]; files: string[] } {
  const dirs: string[] = [];
  const files: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('dir ')) dirs.push(line.slice(4));
    else if (line.startsWith('file ')) files.push(line.slice(5));
  }
  return { dirs, files };
}

/** Remove folders under /etc/pve/nodes (`--`: a name never reads as an option). */
export function removeFoldersArgv(folders: readonly string[]): string[] {
  return ['rm', '-rf', '--', ...folders];
}

/** The traces the script reported. */
export function parseClusterTraces(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('file ') || l === 'corosync running')
    .map((l) => (l.startsWith('file ') ? l.slice(5) : 'corosync is running'));
}


/** Success, or the removal of something that is already gone (a re-run after a failure). */
function judgeRemoval(r: ExecResult): string | undefined {
  if (r.exitCode === 0) return undefined;
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length > 0 && lines.every((l) => l.includes('No such file or directory'))) return undefined;
  return lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`;
}

/** The folders under /etc/pve/nodes of `node` that belong to other nodes: every node of the teardown, and any folder with guests there. */
export function staleFolders(node: string, input: Pick<TeardownInput, 'nodes'>, guestFolders: readonly string[] = []): string[] {
  const names = new Set([...input.nodes.map((n) => n.name), ...guestFolders]);
  names.delete(node);
  // pmxcfs only keeps folders named like nodes; anything else is not pvx's to remove
  return [...names].filter((n) => nodeNameProblem(n) === undefined).sort().map(pveNodeDir);
}

/**
 * Remove the other nodes' folders from a separated node, once every file in them is in the node's
 * verified backup. Only on a node with no cluster left: on a member the removal would reach every node.
 */
export function removeStaleFoldersStep(node: string, folders: readonly string[], record: SeparationRecord, backup: () => NodeBackup | undefined): Step {
  return {
    node,
    title: `remove the other nodes' folders ${folders.join(', ')} on ${node} (stale once it is alone; their files are in its backup)`,
    argv: removeFoldersArgv(folders),
    mutates: true,
    run: async (t) => {
      const traces = parseClusterTraces((await t.exec(node, clusterTracesArgv(), { title: `look for cluster traces on ${node}` })).stdout);
      if (traces.length > 0) return { ok: false, message: `${node} still has ${traces.join(', ')}: its /etc/pve may still be the cluster's, so nothing was removed` };
      const listed = await t.exec(node, folderFilesArgv(folders), { title: `list the other nodes' folders on ${node}` });
      if (listed.exitCode !== 0) return { ok: false, message: `the folders on ${node} cannot be listed: ${lastLine(listed.stderr) ?? `exit code ${listed.exitCode}`}` };
      const { dirs, files } = parseFolderFiles(listed.stdout);
      const b = backup();
      const inBackup = new Set(b?.verified ? b.files : []);
      const kept: Array<{ folder: string; why: string }> = [];
      const remove: string[] = [];
      for (const dir of dirs) {
        // a half-written file is one a separated node froze mid-write: the backup leaves those out by design
        const lacking = files.filter((f) => f.startsWith(`${dir}/`) && !isHalfWritten(f) && !inBackup.has(entryOf(f)));
        if (lacking.length > 0) kept.push({ folder: dir, why: `not in the backup of ${node}: ${lacking.join(', ')}` });
        else remove.push(dir);
      }
      record.foldersKept = kept;
      record.foldersRemoved = [];
      if (remove.length === 0) return { ok: true, skipped: true, message: kept.length > 0 ? `kept ${kept.map((k) => k.folder).join(', ')} (files not in the backup)` : 'none of them is there' };
      const r = await t.exec(node, removeFoldersArgv(remove), { mutates: true, title: `remove ${remove.join(' ')}` });
      if (r.exitCode !== 0) return { ok: false, message: `rm on ${node}: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}` };
      const after = parseFolderFiles((await t.exec(node, folderFilesArgv(remove), { title: `check the folders are gone on ${node}` })).stdout);
      if (after.dirs.length > 0) return { ok: false, message: `still on ${node} after rm: ${after.dirs.join(', ')}` };
      record.foldersRemoved = remove;
      return { ok: true, message: `removed ${remove.join(', ')}${kept.length > 0 ? `; kept ${kept.map((k) => k.folder).join(', ')} (files not in the backup)` : ''}` };
    },
  };
}

/**
 * The steps that turn one node standalone, ending with the check of what must and must not remain.
 * `guestsUnknown`: pmxcfs was not mounted when pvx read the node, so the guest configurations it must
 * keep are those its database shows once the local pmxcfs runs.
 */
export function separationSteps(node: string, record: SeparationRecord, w: ReadWiring, guestsUnknown = false): Step[] {
  const on = `on ${node}`;
  const readGuests = async (t: Transport): Promise<string | undefined> => {
    const g = await t.exec(node, guestFilesArgv(), { title: `list the guest configurations on ${node}` });
    if (g.exitCode !== 0) return `the guest configurations on ${node} cannot be listed: ${lastLine(g.stderr) ?? `exit code ${g.exitCode}`}`;
    record.guestsBefore = parseGuestFiles(g.stdout).get(node) ?? [];
    return undefined;
  };
  const check: Step = {
    node,
    title: guestsUnknown
      ? `check that ${node} is standalone and kept the guest configurations its database holds`
      : `check that ${node} is standalone and kept its ${record.guestsBefore.length} guest configuration(s)`,
    argv: guestFilesArgv(),
    mutates: false,
    run: async (t) => {
      const problem = await waitUntil(w, async () => {
        const m = await w.read(t, node);
        if (m.kind !== 'standalone') return `${node} is ${describeMembership(m)}`;
        const traces = await t.exec(node, clusterTracesArgv(), { title: `look for cluster traces on ${node}` });
        const left = parseClusterTraces(traces.stdout);
        if (left.length > 0) return `${node} still has ${left.join(', ')}`;
        const g = await t.exec(node, guestFilesArgv(), { title: `list the guest configurations on ${node}` });
        if (g.exitCode !== 0) return `the guest configurations on ${node} cannot be listed: ${lastLine(g.stderr) ?? `exit code ${g.exitCode}`}`;
        const after = parseGuestFiles(g.stdout).get(node) ?? [];
        record.guestsAfter = after;
        const missing = missingGuests(record.guestsBefore, after);
        if (missing.length > 0) {
          return `GUEST CONFIGURATIONS MISSING on ${node}: ${missing.map(guestFileLabel).join(', ')} were in /etc/pve/nodes/${node}/ before and are not now`;
        }
        return undefined;
      });
      if (problem) return { ok: false, message: problem };
      record.standalone = true;
      const kept = record.guestsAfter ?? [];
      return { ok: true, message: `standalone; ${kept.length ? `guests kept: ${kept.map(guestFileLabel).join(', ')}` : 'no guests'}` };
    },
  };
  return [
    { node, title: `stop pve-cluster ${on}`, argv: systemctl.stop('pve-cluster'), mutates: true, timeoutMs: 120_000 },
    { node, title: `stop corosync ${on}`, argv: systemctl.stop('corosync'), mutates: true, timeoutMs: 120_000 },
    { node, title: `stop a local pmxcfs an interrupted run left ${on}, if one runs`, argv: stopLeftoverPmxcfsArgv(), mutates: true, timeoutMs: 60_000 },
    {
      node,
      title: `start pmxcfs in local mode ${on} (its /etc/pve writable without the cluster)${guestsUnknown ? ', and list the guest configurations its database holds' : ''}`,
      argv: pmxcfsLocal(),
      mutates: true,
      timeoutMs: 60_000,
      ...(guestsUnknown ? { verify: readGuests } : {}),
    },
    { node, title: `remove ${CLUSTER_PATHS.pveCorosyncConf} ${on}`, argv: ['rm', '-f', CLUSTER_PATHS.pveCorosyncConf], mutates: true },
    { node, title: `remove everything in ${CLUSTER_PATHS.corosyncDir} ${on}`, argv: emptyDir(CLUSTER_PATHS.corosyncDir), mutates: true, judge: judgeRemoval },
    { node, title: `stop that local pmxcfs by its PID (${CLUSTER_PATHS.pmxcfsPidFile}) ${on}`, argv: stopPmxcfsArgv(), mutates: true, timeoutMs: 60_000 },
    { node, title: `start pve-cluster ${on} (now standalone)`, argv: systemctl.start('pve-cluster'), mutates: true, timeoutMs: 120_000 },
    { node, title: `remove corosync's state in ${CLUSTER_PATHS.corosyncState} ${on}`, argv: emptyDir(CLUSTER_PATHS.corosyncState), mutates: true, judge: judgeRemoval },
    check,
  ];
}

async function waitUntil(w: ReadWiring, probe: () => Promise<string | undefined>): Promise<string | undefined> {
  const deadline = w.timing.now() + w.timing.settleTimeoutMs;
  for (;;) {
    let why: string | undefined;
    try {
      why = await probe();
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
    if (why === undefined) return undefined;
    if (w.timing.now() + w.timing.pollMs > deadline) return why;
    await w.timing.sleep(w.timing.pollMs);
  }
}

/**
 * `pvecm qdevice remove` on the last node, before any node leaves (pve-docs pvecm.adoc: "If you want
 * to add a new node or remove an existing one from a cluster with a QDevice setup, you need to remove
 * the QDevice first."); done once corosync no longer reports a registered QDevice.
 */
export function qdeviceRemoveStep(last: string, cluster: string, host: string | undefined, w: ReadWiring): Step {
  return {
    node: last,
    title: `remove the QDevice${host ? ` (QNetd host ${host})` : ''} from cluster '${cluster}' first (on ${last})`,
    argv: pvecm.qdeviceRemove(),
    mutates: true,
    timeoutMs: 120_000,
    run: async (t) => {
      const r = await t.exec(last, pvecm.qdeviceRemove(), { mutates: true, title: 'pvecm qdevice remove', timeoutMs: 120_000 });
      const said = `${r.stdout}\n${r.stderr}`;
      const gone = /No QDevice configured!/.test(said);
      if (!gone && (r.exitCode !== 0 || !/Removed Qdevice\./.test(r.stdout))) {
        return { ok: false, message: `pvecm qdevice remove failed: ${lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`}` };
      }
      const left = await waitForMembership(
        t,
        last,
        w.read,
        (m) => (m.kind === 'member' && m.qdevice === undefined ? undefined : `${last} still reports a QDevice (${describeMembership(m)})`),
        w.timing.settleTimeoutMs,
        w.timing,
      );
      if (left) return { ok: false, message: left };
      return { ok: true, ...(gone ? { skipped: true, message: 'no QDevice was configured any more' } : { message: 'removed' }) };
    },
  };
}

/** Give the last node quorum alone: wait until `leaving` is out of its partition, then `pvecm expected <votes>` unless it is quorate. */
export function expectedStep(last: string, leaving: string, votes: number, w: ReadWiring): Step {
  return {
    node: last,
    title: `let ${last} keep quorum without ${leaving} (expected votes ${votes})`,
    argv: pvecm.expected(votes),
    mutates: true,
    run: async (t) => {
      const left = await waitForMembership(
        t,
        last,
        w.read,
        (m) => (m.kind === 'member' && !m.online.includes(leaving) ? undefined : `${last} still sees ${leaving} (${describeMembership(m)})`),
        w.timing.settleTimeoutMs,
        w.timing,
      );
      if (left) return { ok: false, message: left };
      const now = await w.read(t, last);
      if (now.kind === 'member' && now.quorate) return { ok: true, skipped: true, message: `${last} is quorate without it` };
      const r = await t.exec(last, pvecm.expected(votes), { mutates: true, title: `pvecm expected ${votes}` });
      if (r.exitCode !== 0) return { ok: false, message: `pvecm expected ${votes} failed: ${lastLine(r.stderr) ?? lastLine(r.stdout) ?? `exit code ${r.exitCode}`}` };
      const q = await waitForMembership(t, last, w.read, (m) => (m.kind === 'member' && m.quorate ? undefined : `${last} is ${describeMembership(m)}`), w.timing.settleTimeoutMs, w.timing);
      return q ? { ok: false, message: q } : { ok: true, message: 'quorate' };
    },
  };
}

/** `pvecm delnode` on the last node; retried while pmxcfs has not yet seen the quorum corosync already has. */
export function delnodeStep(last: string, node: string, cluster: string, w: ReadWiring): Step {
  return {
    node: last,
    title: `remove ${node} from cluster '${cluster}' (on ${last})`,
    argv: pvecm.delnode(node),
    mutates: true,
    run: async (t) => {
      const deadline = w.timing.now() + w.timing.settleTimeoutMs;
      let note = '';
      for (;;) {
        const r = await t.exec(last, pvecm.delnode(node), { mutates: true, title: `pvecm delnode ${node}`, timeoutMs: 120_000 });
        const o = classifyPvecmDelnode(r);
        if (o.kind === 'unknown-node') {
          note = 'it was no longer listed';
          break;
        }
        if (o.kind === 'removed') {
          if (o.nodeWasDown) note = 'corosync there was already stopped (CS_ERR_NOT_EXIST, harmless)';
          break;
        }
        if (o.kind === 'no-quorum' && w.timing.now() + w.timing.pollMs <= deadline) {
          await w.timing.sleep(w.timing.pollMs);
          continue;
        }
        return { ok: false, message: delnodeFailure(o) ?? 'pvecm delnode failed' };
      }
      const gone = await waitForMembership(
        t,
        last,
        w.read,
        (m) => (m.kind === 'member' && !m.configured.includes(node) ? undefined : `${last} still lists ${node} (${describeMembership(m)})`),
        w.timing.settleTimeoutMs,
        w.timing,
      );
      if (gone) return { ok: false, message: gone };
      return { ok: true, ...(note ? { message: note } : {}) };
    },
  };
}

/** Build the teardown plan from the decision, the guest files each node holds now, and the backups the plan relies on. */
export function planTeardown(input: TeardownInput, facts: TeardownPlanFacts, w: ReadWiring): TeardownPlan {
  const { guestsBefore } = facts;
  const steps: Step[] = [];
  const records = new Map<string, SeparationRecord>();
  const firstStepOf = new Map<string, number>();
  const expectedBefore: string[] = [];
  const q = input.quorum;
  const votes = new Map((q?.configured ?? []).map((n) => [n.name, n.votes]));
  const configured = new Set(votes.keys());
  const online = new Set(q?.online ?? []);
  // corosync's expected votes count a QDevice's votes (exec/votequorum.c); pvecm status reports them so
  let expected = q?.expectedVotes ?? 0;
  const sum = (names: Iterable<string>) => [...names].reduce((s, n) => s + (votes.get(n) ?? 1), 0);

  if (input.qdevice) {
    steps.push(qdeviceRemoveStep(input.last, input.cluster, input.qdevice.host, w));
    // without the device, corosync's reload takes the expected votes from the nodelist again
    expected = sum(configured);
  }

  // corosync on the last node drops the member; delnode needs a quorate partition to do it
  const leave = (node: string) => {
    if (!q || !configured.has(node)) return;
    online.delete(node);
    const present = sum(online);
    if (present * 2 <= expected) {
      steps.push(expectedStep(input.last, node, present, w));
      expectedBefore.push(node);
      expected = present;
    }
    steps.push(delnodeStep(input.last, node, input.cluster, w));
    configured.delete(node);
    expected = sum(configured);
  };
  const separate = (node: string) => {
    const record: SeparationRecord = { node, guestsBefore: [...(guestsBefore.get(node) ?? [])], standalone: false };
    records.set(node, record);
    firstStepOf.set(node, steps.length);
    steps.push(...separationSteps(node, record, w, facts.guestsUnknown?.has(node) ?? false));
    const folders = staleFolders(node, input, facts.guestFolders?.get(node));
    if (folders.length > 0 && facts.backups) {
      const backups = facts.backups;
      steps.push(removeStaleFoldersStep(node, folders, record, () => backups.get(node)));
    }
  };

  for (const node of input.removeOnly) leave(node);
  for (const o of input.others) {
    separate(o.node);
    if (o.configured) leave(o.node);
  }
  separate(input.last);
  return { plan: { title: `tear down cluster '${input.cluster}'`, steps }, records, firstStepOf, expectedBefore };
}
