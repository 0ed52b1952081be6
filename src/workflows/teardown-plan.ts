/**
 * The plan of `pvx cluster teardown` (reference §2.2, §2.3): separate the other nodes one by one
 * and remove each from the membership on the last node (setting the expected votes where the last
 * node would otherwise lack quorum), then separate the last node. Every separation is checked:
 * standalone, no corosync, no cluster files, every guest configuration still there.
 */
import { CLUSTER_PATHS, emptyDir, pmxcfsLocal, pvecm, systemctl } from '../pve/argv.js';
import { classifyPvecmDelnode } from '../pve/parse/pvecm-add-output.js';
import { readOnlyScript } from '../transport/read-only-scripts.js';
import type { ExecResult, Transport } from '../transport/types.js';
import { delnodeFailure } from './cluster-remove-node.js';
import { guestFileLabel, guestFilesArgv, missingGuests, parseGuestFiles, type GuestFile } from './guest-files.js';
import { describeMembership, waitForMembership, type ReadWiring } from './membership.js';
import type { Plan, Step } from './plan.js';
import type { TeardownInput } from './teardown-decide.js';

/** What each separated node looked like at the end, filled in as the checks run. */
export interface SeparationRecord {
  node: string;
  guestsBefore: GuestFile[];
  guestsAfter?: GuestFile[];
  standalone: boolean;
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

/** Stop the pmxcfs named by the pidfile, by its PID, and wait until it is gone. */
export function stopPmxcfsArgv(): string[] {
  return ['sh', '-c', STOP_PMXCFS_SCRIPT, 'sh', CLUSTER_PATHS.pmxcfsPidFile];
}

/** List what still ties a node to a cluster (files, a running corosync). */
export function clusterTracesArgv(): string[] {
  return ['sh', '-c', CLUSTER_TRACES_SCRIPT];
}

/** The traces the script reported. */
export function parseClusterTraces(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('file ') || l === 'corosync running')
    .map((l) => (l.startsWith('file ') ? l.slice(5) : 'corosync is running'));
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}

/** Success, or the removal of something that is already gone (a re-run after a failure). */
function judgeRemoval(r: ExecResult): string | undefined {
  if (r.exitCode === 0) return undefined;
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length > 0 && lines.every((l) => l.includes('No such file or directory'))) return undefined;
  return lastLine(r.stderr) || lastLine(r.stdout) || `exit code ${r.exitCode}`;
}

/** The steps that turn one node standalone, ending with the check of what must and must not remain. */
export function separationSteps(node: string, record: SeparationRecord, w: ReadWiring): Step[] {
  const on = `on ${node}`;
  const check: Step = {
    node,
    title: `check that ${node} is standalone and kept its ${record.guestsBefore.length} guest configuration(s)`,
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
        if (g.exitCode !== 0) return `the guest configurations on ${node} cannot be listed: ${lastLine(g.stderr) || `exit code ${g.exitCode}`}`;
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
    { node, title: `start pmxcfs in local mode ${on} (its /etc/pve writable without the cluster)`, argv: pmxcfsLocal(), mutates: true, timeoutMs: 60_000 },
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
      if (r.exitCode !== 0) return { ok: false, message: `pvecm expected ${votes} failed: ${lastLine(r.stderr) || lastLine(r.stdout) || `exit code ${r.exitCode}`}` };
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

/** Build the teardown plan from the decision and the guest files each node holds now. */
export function planTeardown(input: TeardownInput, guestsBefore: ReadonlyMap<string, readonly GuestFile[]>, w: ReadWiring): TeardownPlan {
  const steps: Step[] = [];
  const records = new Map<string, SeparationRecord>();
  const firstStepOf = new Map<string, number>();
  const expectedBefore: string[] = [];
  const q = input.quorum;
  const votes = new Map((q?.configured ?? []).map((n) => [n.name, n.votes]));
  const configured = new Set(votes.keys());
  const online = new Set(q?.online ?? []);
  let expected = q?.expectedVotes ?? 0;
  const sum = (names: Iterable<string>) => [...names].reduce((s, n) => s + (votes.get(n) ?? 1), 0);

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
    steps.push(...separationSteps(node, record, w));
  };

  for (const node of input.removeOnly) leave(node);
  for (const o of input.others) {
    separate(o.node);
    if (o.configured) leave(o.node);
  }
  separate(input.last);
  return { plan: { title: `tear down cluster '${input.cluster}'`, steps }, records, firstStepOf, expectedBefore };
}
