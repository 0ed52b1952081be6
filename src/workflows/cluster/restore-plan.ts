/**
 * The plan of `pvx cluster restore`: the running members learn the restored nodes first (their
 * corosync.conf, reloaded), then each node gets its verified backup back (the archive is uploaded
 * and checked against its sha256 on the node), the pmxcfs database that must win (the backup's when
 * the whole cluster is restored, the running cluster's when members still run: pmxcfs gives every
 * member the database with the most writes, reference §2.4), /etc/corosync from the archive, and its
 * services restarted; at the end the cluster-wide /etc/pve/corosync.conf is made the same everywhere,
 * quorum is checked, guest configurations kept on request are written back, and every node is
 * checked to hold the guest configurations it must.
 */
import { CLUSTER_PATHS, corosyncReload, pmxcfsLocal, pvecm, systemctl } from '../../pve/argv.js';
import { describeMembership, waitForMembership, type Membership, type ReadWiring } from '../../facts/node.js';
import type { Plan, Step, StepOutcome } from '../plan.js';
import type { RestoreConf } from './restore-conf.js';
import { describeDifference, guestContentsArgv, guestPath, ofNode, parseGuestContents, GuestListingError, type GuestConfig, type GuestConfigs } from './restore-guests.js';
import { backupFileName, nodeBackupDir } from '../teardown/backup.js';
import { stopLeftoverPmxcfsArgv, stopPmxcfsArgv } from '../teardown/plan.js';
import { lastLine } from '../../pve/parse/text.js';

/** One node to restore. */
export interface RestoreNode {
  node: string;
  /** the verified archive, base64 */
  archiveBase64: () => string;
  sha256: string;
  /** the corosync.conf inside its backup */
  backupConf: string;
  /** other nodes' folders its backup holds under etc/pve/nodes/ (the teardown removed them from the node) */
  folders?: string[];
  /**
   * The database the node ends with: `backup` puts the archive's config.db back (the whole cluster is
   * restored), `cluster` clears the node's own so it takes the running members' (they still run),
   * `kept` keeps the node's own (the archive holds no config.db; the folders are put back instead).
   */
  database: 'backup' | 'cluster' | 'kept';
  /** the guest configurations of its own folder it must hold at the end */
  guests: GuestConfigs;
  /** configurations to write back (or remove) through the cluster once it is quorate: changes kept on request */
  keep?: { write: GuestConfig[]; remove: GuestConfig[] };
}

/** What the restore plan is built from. */
export interface RestoreInput {
  cluster: string;
  /** the backup set name (the directory on the nodes) */
  set: string;
  conf: RestoreConf;
  nodes: RestoreNode[];
  /** running members whose /etc/corosync/corosync.conf must take the configuration first */
  members: string[];
  /** the running member whose cluster-wide /etc/pve/corosync.conf must take it, once quorate */
  clusterCopyOn?: string;
  /** corosync nodes expected in the quorate partition at the end (restored and running members) */
  partition: number;
  /** the restored nodes and the running members together have quorum */
  expectQuorum: boolean;
}

// $1 the archive path, $2 its sha256; the archive arrives base64 on stdin and is kept only if it matches.
const UPLOAD_SCRIPT =
  'set -eu; umask 077; mkdir -p "$(dirname "$1")"; base64 -d > "$1.part"; echo "$2  $1.part" | sha256sum -c --quiet - >&2; ' +
  'mv "$1.part" "$1"; echo "$2  $(basename "$1")" > "$1.sha256"; echo "ok $2"';

// $1 the file; the content arrives on stdin. Written beside and renamed, as PVE's docs do for corosync.conf.
const WRITE_SCRIPT = 'set -eu; cat > "$1.new"; mv "$1.new" "$1"';

/** Put an archive (base64 on stdin) at `file` on the node, refusing it unless its sha256 matches. */
export function uploadArgv(file: string, sha256: string): string[] {
  return ['sh', '-c', UPLOAD_SCRIPT, 'sh', file, sha256];
}

/** Write stdin to `file` through `file.new`. */
export function writeFileArgv(file: string): string[] {
  return ['sh', '-c', WRITE_SCRIPT, 'sh', file];
}

/** Extract /etc/corosync from a backup archive. */
export function extractCorosyncArgv(file: string): string[] {
  return ['tar', '-xzf', file, '-C', '/', 'etc/corosync'];
}

// $1 the archive, $2 the node folders' directory, then folder names. pmxcfs takes no chmod, chown or
// utimes from tar, so the files are unpacked aside and written in with mkdir and cat; a folder the
// node has again is left as it is.
const PUT_FOLDERS_BACK_SCRIPT = [
  'set -eu; a=$1; to=$2; shift 2; stage=$(mktemp -d); trap \'rm -rf "$stage"\' EXIT',
  'for d in "$@"; do tar -xzf "$a" -C "$stage" "etc/pve/nodes/$d"; done',
  'for d in "$@"; do if [ -e "$to/$d" ]; then echo "kept $to/$d"; continue; fi',
  '  (cd "$stage/etc/pve/nodes" && find "$d" -type d) | while IFS= read -r x; do mkdir -p "$to/$x"; done',
  '  (cd "$stage/etc/pve/nodes" && find "$d" -type f) | while IFS= read -r x; do cat "$stage/etc/pve/nodes/$x" > "$to/$x"; done',
  '  echo "restored $to/$d"; done',
].join('\n');

// $1 backup|cluster, $2 the archive, $3 where the node's own database is kept. The database is
// kept once: a second run (after an interruption) must not replace it with the restored one. The
// -wal and -shm files belong to the database they were written for and go with it.
const DATABASE_SCRIPT = [
  'set -eu; mode=$1; a=$2; keep=$3; db=/var/lib/pve-cluster/config.db',
  'if [ -e "$db" ] && [ ! -e "$keep" ]; then mkdir -p "$keep.part"; for f in "$db" "$db-wal" "$db-shm"; do if [ -e "$f" ]; then cp -a "$f" "$keep.part/"; fi; done; mv "$keep.part" "$keep"; echo "kept $keep"; fi',
  'rm -f "$db" "$db-wal" "$db-shm"',
  'if [ "$mode" = backup ]; then mkdir -p /var/lib/pve-cluster; tar -xzf "$a" -C / var/lib/pve-cluster/config.db; echo "restored $db"; else echo "cleared $db"; fi',
].join('\n');

/** Where a restore keeps a node's own pmxcfs database before replacing it. */
export function keptDatabaseDir(set: string): string {
  return `/var/lib/pve-cluster/config.db.before-restore-${set}`;
}

/** Keep the node's database aside, then put the archive's back (`backup`) or leave none, so the cluster's is taken (`cluster`). */
export function putDatabaseArgv(mode: 'backup' | 'cluster', archive: string, set: string): string[] {
  return ['sh', '-c', DATABASE_SCRIPT, 'sh', mode, archive, keptDatabaseDir(set)];
}

/** Remove one guest configuration (kept changes: a guest removed since the backup stays removed). */
export function removeGuestArgv(file: string): string[] {
  return ['rm', '-f', '--', file];
}

/** Put other nodes' folders back into `nodesDir` (/etc/pve/nodes) from a backup archive, only those it lacks. */
export function putFoldersBackArgv(file: string, folders: readonly string[], nodesDir: string = CLUSTER_PATHS.pveNodes): string[] {
  return ['sh', '-c', PUT_FOLDERS_BACK_SCRIPT, 'sh', file, nodesDir, ...folders];
}


function writeStep(node: string, file: string, content: string, what: string): Step {
  return {
    node,
    title: `write ${what} to ${file} on ${node} (content on stdin)`,
    argv: writeFileArgv(file),
    mutates: true,
    run: async (t) => {
      const r = await t.exec(node, writeFileArgv(file), { mutates: true, input: content, title: `write ${file}` });
      return r.exitCode === 0 ? { ok: true } : { ok: false, message: `${file}: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}` };
    },
  };
}

/**
 * pmxcfs turns /etc/pve writable only once its own quorum notification arrives, a moment after
 * corosync's; until then a write fails with EACCES (dcdb_send_fuse_message in pve-cluster's dcdb.c),
 * so a write refused that way is tried again until the deadline.
 */
async function untilPmxcfsWritable(write: () => Promise<StepOutcome>, deadline: number, w: ReadWiring): Promise<StepOutcome> {
  for (;;) {
    const r = await write();
    if (r.ok || !/Permission denied|Read-only file system/.test(r.message ?? '') || w.timing.now() >= deadline) return r;
    await w.timing.sleep(w.timing.pollMs);
  }
}

function qnetdOf(input: RestoreInput): string {
  return input.conf.qdevice?.host ? `, QNetd host ${input.conf.qdevice.host}` : '';
}

/** Build the restore plan. */
export function planRestore(input: RestoreInput, w: ReadWiring): Plan {
  const steps: Step[] = [];
  const what = `corosync.conf version ${input.conf.configVersion} (${input.conf.nodes.join(', ')})`;
  for (const m of input.members) {
    steps.push(writeStep(m, CLUSTER_PATHS.corosyncConf, input.conf.text, what));
    steps.push({ node: m, title: `reload corosync's configuration on ${m}`, argv: corosyncReload(), mutates: true });
  }
  for (const n of input.nodes) {
    const file = `${nodeBackupDir(input.set)}/${backupFileName(n.node)}`;
    const on = `on ${n.node}`;
    steps.push({
      node: n.node,
      title: `upload the verified backup to ${file} ${on} (base64 on stdin) and check its sha256 there`,
      argv: uploadArgv(file, n.sha256),
      mutates: true,
      timeoutMs: 300_000,
      run: async (t) => {
        const r = await t.exec(n.node, uploadArgv(file, n.sha256), { mutates: true, input: n.archiveBase64(), title: `upload ${file}`, timeoutMs: 300_000 });
        if (r.exitCode !== 0) return { ok: false, message: `the upload of ${file} failed its check: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}` };
        return { ok: true, message: `sha256 ${n.sha256.slice(0, 12)}… matches` };
      },
    });
    steps.push({ node: n.node, title: `stop pve-cluster ${on}`, argv: systemctl.stop('pve-cluster'), mutates: true, timeoutMs: 120_000 });
    steps.push({ node: n.node, title: `stop corosync ${on}`, argv: systemctl.stop('corosync'), mutates: true, timeoutMs: 120_000 });
    steps.push({ node: n.node, title: `stop a local pmxcfs an interrupted run left ${on}, if one runs`, argv: stopLeftoverPmxcfsArgv(), mutates: true, timeoutMs: 60_000 });
    const kept = keptDatabaseDir(input.set);
    if (n.database === 'backup') {
      steps.push({ node: n.node, title: `keep ${n.node}'s own pmxcfs database in ${kept} (once), then put the backup's ${CLUSTER_PATHS.configDb} back ${on}`, argv: putDatabaseArgv('backup', file, input.set), mutates: true, timeoutMs: 120_000 });
    } else if (n.database === 'cluster') {
      steps.push({ node: n.node, title: `keep ${n.node}'s own pmxcfs database in ${kept} (once) and remove it, so ${n.node} takes the running cluster's ${on}`, argv: putDatabaseArgv('cluster', file, input.set), mutates: true, timeoutMs: 120_000 });
    }
    // a node that takes the cluster's database needs no local write: the cluster's /etc/pve wins
    const localWrites = n.database !== 'cluster';
    if (localWrites) {
      steps.push({ node: n.node, title: `start pmxcfs in local mode ${on}`, argv: pmxcfsLocal(), mutates: true, timeoutMs: 60_000 });
      steps.push(writeStep(n.node, CLUSTER_PATHS.pveCorosyncConf, input.conf.text, what));
    }
    steps.push({ node: n.node, title: `put ${CLUSTER_PATHS.corosyncDir} back from the backup ${on}`, argv: extractCorosyncArgv(file), mutates: true });
    if (n.backupConf !== input.conf.text) steps.push(writeStep(n.node, CLUSTER_PATHS.corosyncConf, input.conf.text, what));
    // without the backup's database the node keeps its own, which may be the one with the most
    // writes when the nodes meet (reference §2.4): it must hold these folders itself
    if (n.database === 'kept' && n.folders && n.folders.length > 0) {
      steps.push({
        node: n.node,
        title: `put the other nodes' folders back into ${CLUSTER_PATHS.pveNodes} from the backup ${on} (${n.folders.join(', ')}; those it lacks)`,
        argv: putFoldersBackArgv(file, n.folders),
        mutates: true,
        timeoutMs: 120_000,
      });
    }
    if (localWrites) steps.push({ node: n.node, title: `stop that local pmxcfs by its PID (${CLUSTER_PATHS.pmxcfsPidFile}) ${on}`, argv: stopPmxcfsArgv(), mutates: true, timeoutMs: 60_000 });
    steps.push({ node: n.node, title: `start pve-cluster ${on}`, argv: systemctl.start('pve-cluster'), mutates: true, timeoutMs: 120_000 });
    steps.push({ node: n.node, title: `start corosync ${on}`, argv: systemctl.start('corosync'), mutates: true, timeoutMs: 120_000 });
    // the backup's /etc/corosync/qdevice holds the node's certificate the QNetd host signed: the
    // daemon pvecm qdevice setup started and enabled (and teardown's qdevice remove stopped) comes back
    if (input.conf.qdevice) {
      steps.push({ node: n.node, title: `start corosync-qdevice ${on} (the configuration has a QDevice${qnetdOf(input)})`, argv: systemctl.start('corosync-qdevice'), mutates: true, timeoutMs: 120_000 });
      steps.push({ node: n.node, title: `enable corosync-qdevice ${on}`, argv: systemctl.enable('corosync-qdevice'), mutates: true, timeoutMs: 60_000 });
    }
  }
  const restored = input.nodes.map((n) => n.node);
  const quorate = (node: string) => (m: Membership): string | undefined => {
    if (m.kind !== 'member' || m.cluster !== input.cluster) return `${node} is ${describeMembership(m)}`;
    if (!m.quorate) return `${node} is not quorate yet (${m.totalVotes} of ${m.expectedVotes} votes)`;
    const absent = restored.filter((r) => !m.online.includes(r));
    return absent.length > 0 ? `${node} does not see ${absent.join(', ')} online yet` : undefined;
  };
  const first = input.clusterCopyOn;
  if (first !== undefined && input.expectQuorum) {
    const writeCluster = writeStep(first, CLUSTER_PATHS.pveCorosyncConf, input.conf.text, what);
    // pmxcfs lists only the nodes of the cluster-wide copy, so corosync's partition is what to wait for here
    const partitionReady = (m: Membership): string | undefined => {
      if (m.kind !== 'member' || m.cluster !== input.cluster) return `${first} is ${describeMembership(m)}`;
      if (!m.quorate) return `${first} is not quorate yet (${m.totalVotes} of ${m.expectedVotes} votes)`;
      return m.partitionSize >= input.partition ? undefined : `${first} sees ${m.partitionSize} of ${input.partition} nodes in its partition`;
    };
    steps.push({
      ...writeCluster,
      title: `once quorate, write ${what} to ${CLUSTER_PATHS.pveCorosyncConf} on ${first} (the cluster-wide copy)`,
      run: async (t) => {
        const deadline = w.timing.now() + w.timing.quorumTimeoutMs;
        const problem = await waitForMembership(t, first, w.read, partitionReady, w.timing.quorumTimeoutMs, w.timing);
        if (problem) return { ok: false, message: problem };
        return untilPmxcfsWritable(() => (writeCluster.run ? writeCluster.run(t) : Promise.resolve({ ok: false, message: 'no writer' })), deadline, w);
      },
    });
  }
  if (input.expectQuorum) {
    for (const node of restored) {
      steps.push({
        node,
        title: `check that ${node} is a quorate member of '${input.cluster}'`,
        argv: pvecm.status(),
        mutates: false,
        run: async (t) => {
          const problem = await waitForMembership(t, node, w.read, quorate(node), w.timing.quorumTimeoutMs, w.timing);
          return problem ? { ok: false, message: problem } : { ok: true, message: 'quorate member' };
        },
      });
    }
  }
  const device = input.conf.qdevice;
  if (device && input.expectQuorum) {
    for (const node of restored) {
      steps.push({
        node,
        title: `check that ${node} counts the QDevice's vote again${qnetdOf(input)}`,
        argv: pvecm.status(),
        mutates: false,
        run: async (t) => {
          const problem = await waitForMembership(
            t,
            node,
            w.read,
            (m) => (m.kind === 'member' && m.qdevice?.voting ? undefined : `${node} ${m.kind === 'member' ? (m.qdevice ? 'has a QDevice that does not vote' : 'reports no QDevice') : `is ${describeMembership(m)}`}`),
            w.timing.quorumTimeoutMs,
            w.timing,
          );
          if (!problem) return { ok: true, message: 'the QDevice votes' };
          const host = device.host ?? '<QNetd host>';
          return { ok: false, message: `${problem}: check that corosync-qnetd runs on ${host} and TCP 5403 is reachable, or set it up again with 'pvecm qdevice setup ${host} --force'` };
        },
      });
    }
  }
  if (input.expectQuorum) {
    for (const n of input.nodes) {
      for (const g of n.keep?.write ?? []) {
        const write = writeStep(n.node, guestPath(g), g.content.toString('utf8'), `the configuration of ${g.type === 'qemu' ? 'VM' : 'CT'} ${g.vmid} it held before the restore`);
        steps.push({ ...write, run: (t) => untilPmxcfsWritable(() => write.run!(t), w.timing.now() + w.timing.quorumTimeoutMs, w) });
      }
      for (const g of n.keep?.remove ?? []) {
        const argv = removeGuestArgv(guestPath(g));
        steps.push({
          node: n.node,
          title: `remove ${guestPath(g)} on ${n.node} again (removed there since the backup)`,
          argv,
          mutates: true,
          run: (t) =>
            untilPmxcfsWritable(
              async () => {
                const r = await t.exec(n.node, argv, { mutates: true, title: `remove ${guestPath(g)}` });
                return r.exitCode === 0 ? { ok: true } : { ok: false, message: `${guestPath(g)}: ${lastLine(r.stderr) ?? `exit code ${r.exitCode}`}` };
              },
              w.timing.now() + w.timing.quorumTimeoutMs,
              w,
            ),
        });
      }
    }
    for (const n of input.nodes) {
      const want = n.guests;
      steps.push({
        node: n.node,
        title: `check that ${n.node} holds its ${want.size} guest configuration(s)`,
        argv: guestContentsArgv(),
        mutates: false,
        run: async (t) => {
          // pmxcfs gives a returning node the cluster's database a moment after corosync's quorum: wait for it
          const deadline = w.timing.now() + w.timing.quorumTimeoutMs;
          for (;;) {
            const r = await t.exec(n.node, guestContentsArgv(), { title: `read the guest configurations on ${n.node}` });
            let problem: string;
            if (r.exitCode !== 0) {
              problem = `the guest configurations on ${n.node} cannot be read: ${lastLine(r.stderr) || `exit code ${r.exitCode}`}`;
            } else {
              let have: GuestConfigs;
              try {
                have = ofNode(parseGuestContents(r.stdout), n.node);
              } catch (e) {
                if (e instanceof GuestListingError) return { ok: false, message: `${n.node}: ${e.message}` };
                throw e;
              }
              const diff = describeDifference(have, want);
              if (!diff) return { ok: true, message: `${want.size} guest configuration(s)` };
              problem = `${n.node} does not hold the guest configurations it must: ${diff}`;
            }
            if (w.timing.now() + w.timing.pollMs > deadline) return { ok: false, message: problem };
            await w.timing.sleep(w.timing.pollMs);
          }
        },
      });
    }
  }
  return { title: `restore ${restored.join(', ')} into cluster '${input.cluster}'`, steps };
}
