/**
 * Ctrl-C during `pvx cluster teardown` and `pvx cluster restore`, pressed as a terminal does (SIGINT
 * to the whole foreground process group, ssh children included), at chosen steps: pvx lets the step
 * under way finish, stops (exit 4, or 130 before the first change) and prints the command that
 * recovers; that command, run exactly as printed (a run confirmed with --yes prints its continuation
 * with --yes; putting separated nodes back is a new decision, confirmed here with --yes), leaves
 * either a whole cluster (quorate, every node a member, every guest configuration everywhere) or,
 * for "finish the teardown", every node standalone with its own guests. A node that goes down in
 * the middle of its separation or of its restore (its link cut, the ssh connection with it) and boots again is
 * recovered the same way. One lab (e2ek,
 * 10.77.25.0/24, 3 nodes, real sshd and corosync); the cluster is formed once with the nodes' own
 * pvecm, and each restore that recovers a teardown point makes it whole for the next point.
 * Runs the built bin/pvx.js; needs root.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labFault, labRemnants, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvx, pvxCtrlC, pvxOnPath, runPrinted as runPrintedLine, type CliResult, type CtrlCResult } from '../helpers/cli.js';
import { formClusterWithPvecm } from '../helpers/lab-cluster.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'e2ek';
const SUBNET = '10.77.25.0/24';
const NODES = ['pve1', 'pve2', 'pve3'];
// formClusterWithPvecm names the cluster after the lab
const CLUSTER = LAB;
/** The guests made once the cluster runs: each node's own VM. */
const GUESTS: Record<string, string> = { pve1: '100', pve2: '101', pve3: '102' };
const ALL_GUESTS = NODES.map((n) => `/etc/pve/nodes/${n}/qemu-server/${GUESTS[n]}.conf`).sort();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const log = (line: string): void => void labLog.push(line);

let info: LabInfo;
let env: Record<string, string>;
let bin: string;

/** The words of a printed command line, as sh reads them. */
function words(line: string): string[] {
  const r = spawnSync('sh', ['-c', `set -- ${line}; printf '%s\\0' "$@"`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}

/** Run a printed `pvx …` line as printed, plus `extra` (e.g. --yes for a command that asks anew: there is no terminal to type the cluster name at). */
function runPrinted(line: string, extra = ''): CliResult {
  return runPrintedLine(`${line}${extra}`, env, bin);
}

/** A printed `pvx …` line run with Ctrl-C pressed once `when` holds of its stderr. */
function printedCtrlC(line: string, when: (stderr: string) => boolean): Promise<CtrlCResult> {
  const w = words(line);
  expect(w[0]).toBe('pvx');
  return pvxCtrlC(w.slice(1), env, when).done;
}

/** The line a step's progress prints once it has finished (done or skipped). */
const finishedStep = (node: string, title: string) => (err: string): boolean => err.split('\n').some((l) => l.startsWith(`[${node}] ${title}`, 2));

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every guest configuration file a node's /etc/pve shows. */
async function guestFiles(node: string): Promise<string[]> {
  const r = await labExec(LAB, node, ['sh', '-c', 'for f in /etc/pve/nodes/*/qemu-server/*.conf; do if [ -e "$f" ]; then echo "$f"; fi; done']);
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** Every node a quorate, online member, as `pvx cluster status` reads it, and every node sees every guest configuration. */
async function expectWhole(): Promise<void> {
  await until('a quorate cluster with every node online', async () => {
    const s = pvx(['-i', info.inventory, '--json', 'cluster', 'status'], env);
    if (s.code !== 0) return undefined;
    const doc = JSON.parse(s.stdout);
    const ok =
      doc.result.cluster?.name === CLUSTER &&
      doc.result.quorum?.quorate === true &&
      JSON.stringify(doc.result.nodes.map((n: { name: string; online: boolean }) => [n.name, n.online])) === JSON.stringify(NODES.map((n) => [n, true]));
    return ok ? true : undefined;
  });
  // pmxcfs hands a returning node the cluster's files a moment after quorum
  for (const n of NODES) await until(`every guest configuration on ${n}`, async () => (JSON.stringify(await guestFiles(n)) === JSON.stringify(ALL_GUESTS) ? true : undefined), 30_000);
  for (const n of NODES) expect(await guestFiles(n), n).toEqual(ALL_GUESTS);
}

/** Every node standalone, as `pvx cluster status` reads it, each with its own guest configuration. */
async function expectAllStandalone(): Promise<void> {
  const s = pvx(['-i', info.inventory, '--json', 'cluster', 'status'], env);
  expect(JSON.parse(s.stdout).result.standalone.map((n: { name: string }) => n.name)).toEqual(NODES);
  for (const n of NODES) expect(await guestFiles(n), n).toContain(`/etc/pve/nodes/${n}/qemu-server/${GUESTS[n]}.conf`);
}

const teardownArgs = (): string[] => ['-i', info.inventory, '--yes', 'cluster', 'teardown'];

describe.skipIf(!isRoot)('Ctrl-C during cluster teardown and restore, and the printed command that recovers (e2ek)', { retry: 0 }, () => {
  beforeAll(async () => {
    await labDown(LAB, log);
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET }, log);
    const dir = tmpDir('pvx-e2ek-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    bin = pvxOnPath(dir);
    await formClusterWithPvecm(LAB, info, NODES);
    // pvecm add refuses a node holding guest configurations: the guests come once every node is in
    for (const n of NODES) {
      const made = await labExec(LAB, n, ['qm', 'create', GUESTS[n] as string, '--name', `g${GUESTS[n]}`, '--memory', '256']);
      expect(made.exitCode, made.stderr).toBe(0);
    }
    await expectWhole();
  }, 300_000);
  afterAll(async () => {
    await labDown(LAB, log);
    expect(await labRemnants(LAB)).toEqual({ netns: [], links: [], mounts: [], pids: [] });
  }, 120_000);

  it('teardown: Ctrl-C before the first change, in each kind of separation step and after a removal; the printed restore (or teardown) recovers', { timeout: 900_000 }, async () => {
    const recovered: string[] = [];

    // before the first change: the cluster state was read, nothing has started
    const early = await pvxCtrlC(teardownArgs(), env, (err) => /^✔ cluster 'e2ek': /m.test(err)).done;
    expect(early.pressed).toBe(true);
    if (early.signal === null) {
      expect(early.code, early.stderr).toBe(130);
      expect(early.stderr).toContain(`teardown of '${CLUSTER}' cancelled before any change`);
    } else {
      expect(early.signal).toBe('SIGINT');
    }
    await expectWhole();
    recovered.push(`Ctrl-C before the first change: ${early.signal ?? 'exit 130'}, the cluster untouched`);

    // Ctrl-C once the step named has finished: pvx stops before or right after the next one, and the printed restore puts the nodes back
    const restorePoints: Array<{ node: string; title: string }> = [
      // pmxcfs stopped, corosync still running
      { node: 'pve3', title: 'stop pve-cluster on pve3' },
      // a local pmxcfs running, no /etc/pve/corosync.conf
      { node: 'pve3', title: 'start pmxcfs in local mode on pve3' },
      // pve3 standalone, the other nodes' folders removed from its database (copies in its backup)
      { node: 'pve3', title: "remove the other nodes' folders" },
      // pve3 out of the membership, pve2's pmxcfs stopped
      { node: 'pve1', title: 'remove pve3 from cluster' },
      // pve2 separated, pve1 alone with expected votes lowered to 1, pve2 still in its nodelist
      { node: 'pve1', title: 'let pve1 keep quorum without pve2' },
    ];
    for (const p of restorePoints) {
      const r = await pvxCtrlC(teardownArgs(), env, finishedStep(p.node, p.title)).done;
      expect(r.pressed, r.stderr).toBe(true);
      expect(r.stderr).toContain('Ctrl-C: stopping after the current step');
      expect(r.code, r.stderr).toBe(4);
      const restore = /to put the separated node\(s\) back: (pvx .+)$/m.exec(r.stderr)?.[1];
      expect(restore, r.stderr).toMatch(/^pvx -i \S+ cluster restore \S+ --node [a-z0-9,]+$/);
      const stopped = r.stderr.match(/^✔ \[[^\]]+\] .*$/gm)?.pop() ?? '';
      // putting nodes back is another decision than the teardown the user confirmed: pvx prints it without --yes
      const again = runPrinted(restore ?? 'false', ' --yes');
      expect(again.code, `${restore}\n${again.stdout}${again.stderr}`).toBe(0);
      await expectWhole();
      recovered.push(`Ctrl-C after "[${p.node}] ${p.title}": stopped after "${stopped.slice(2)}" (exit 4); "${restore?.replace(/^pvx -i \S+ /, 'pvx ')}" made the cluster whole`);
    }

    // a node that goes down in the middle of its separation (its link cut: the ssh connection dies
    // with it) and boots again: the step under way fails, and the printed restore puts it back
    let downed: Promise<void> | undefined;
    const cut = await pvxCtrlC(teardownArgs(), env, (err) => {
      if (!downed && finishedStep('pve3', 'stop pve-cluster on pve3')(err)) downed = labFault(LAB, 'pve3', 'down', undefined, log);
      return false;
    }).done;
    expect(downed, cut.stderr).toBeDefined();
    await downed;
    expect(cut.code, cut.stderr).toBe(4);
    const failedAt = /^✖ (\[pve3\] .*)$/m.exec(cut.stderr)?.[1];
    expect(failedAt, cut.stderr).toBeDefined();
    const putBack = /to put the separated node\(s\) back: (pvx .+)$/m.exec(cut.stderr)?.[1];
    expect(putBack, cut.stderr).toMatch(/^pvx -i \S+ cluster restore \S+ --node pve3$/);
    // the node comes back as after a reboot: its services start from what its disk holds
    await labFault(LAB, 'pve3', 'heal', undefined, log);
    const back = runPrinted(putBack ?? 'false', ' --yes');
    expect(back.code, `${putBack}\n${back.stdout}${back.stderr}`).toBe(0);
    await expectWhole();
    recovered.push(`pve3 down after "[pve3] stop pve-cluster on pve3": "${failedAt?.slice(0, 80)}" failed (exit 4); pve3 booted, "${putBack?.replace(/^pvx -i \S+ /, 'pvx ')}" made the cluster whole`);

    // in the last node's separation, its pmxcfs stopped (pmxcfs then calls it standalone, and its /etc/pve is empty): the printed teardown finishes the job
    const last = await pvxCtrlC(teardownArgs(), env, finishedStep('pve1', 'stop pve-cluster on pve1')).done;
    expect(last.pressed, last.stderr).toBe(true);
    expect(last.code, last.stderr).toBe(4);
    const cont = /to finish the teardown instead, once the cause is fixed: (pvx .+)$/m.exec(last.stderr)?.[1];
    expect(cont, last.stderr).toMatch(/^pvx -i \S+ cluster teardown --yes$/);
    const finish = runPrinted(cont ?? 'false');
    expect(finish.code, finish.stdout + finish.stderr).toBe(0);
    await expectAllStandalone();
    recovered.push(`Ctrl-C after "[pve1] stop pve-cluster on pve1": exit 4; "pvx cluster teardown" left every node standalone with its guests`);

    process.stderr.write(`teardown: ${recovered.length} of ${restorePoints.length + 3} interruption points recovered:\n${recovered.map((l) => `  ${l}`).join('\n')}\n`);
    expect(recovered).toHaveLength(restorePoints.length + 3);

    // the backup the interrupted run took while the cluster was whole brings every node back
    const set = /^ {2}backups: (\S+) \(on each node/m.exec(last.stderr)?.[1];
    expect(set, last.stderr).toBeDefined();
    const fromScratch = `pvx -i ${info.inventory} cluster restore ${set} --yes`;
    const rec: string[] = [];
    // a restore stopped while the first node's services are down, then once it runs again and the next one is under way
    const restoreStops = ['upload the verified backup', 'start corosync on'];
    let line = fromScratch;
    for (const stop of restoreStops) {
      const r = await printedCtrlC(line, (err) => NODES.some((n) => finishedStep(n, stop)(err)));
      expect(r.pressed, r.stderr).toBe(true);
      expect(r.code, r.stderr).toBe(4);
      const next = /continue with: (pvx .+)$/m.exec(r.stderr)?.[1];
      expect(next, r.stderr).toMatch(/^pvx -i \S+ cluster restore \S+ --node pve1,pve2,pve3 --yes$/);
      rec.push(`Ctrl-C after the first "${stop}": exit 4, "continue with: ${next?.replace(/^pvx -i \S+ /, 'pvx ')}"`);
      line = next ?? 'false';
    }
    // then pve3 goes down in the middle of its own restore (its link cut, ssh with it) and boots again
    let restoreDowned: Promise<void> | undefined;
    const w = words(line);
    const restoreCut = await pvxCtrlC(w.slice(1), env, (err) => {
      if (!restoreDowned && finishedStep('pve3', 'stop pve-cluster on pve3')(err)) restoreDowned = labFault(LAB, 'pve3', 'down', undefined, log);
      return false;
    }).done;
    expect(restoreDowned, restoreCut.stderr).toBeDefined();
    await restoreDowned;
    expect(restoreCut.code, restoreCut.stderr).toBe(4);
    const restoreFailedAt = /^✖ (\[pve3\] .*)$/m.exec(restoreCut.stderr)?.[1];
    expect(restoreFailedAt, restoreCut.stderr).toBeDefined();
    const after = /continue with: (pvx .+)$/m.exec(restoreCut.stderr)?.[1];
    expect(after, restoreCut.stderr).toMatch(/^pvx -i \S+ cluster restore \S+ --node [a-z0-9,]*pve3[a-z0-9,]* --yes$/);
    await labFault(LAB, 'pve3', 'heal', undefined, log);
    rec.push(`pve3 down after "[pve3] stop pve-cluster on pve3": "${restoreFailedAt?.slice(0, 80)}" failed (exit 4), pve3 booted; "continue with: ${after?.replace(/^pvx -i \S+ /, 'pvx ')}"`);
    line = after ?? 'false';
    const done = runPrinted(line);
    expect(done.code, done.stdout + done.stderr).toBe(0);
    await expectWhole();
    process.stderr.write(`restore: ${rec.length} of ${restoreStops.length + 1} interruption points recovered (each printed command run in turn, the last one to the end: the cluster is whole):\n${rec.map((l) => `  ${l}`).join('\n')}\n`);
  });
});
