/**
 * Ctrl-C during `pvx cluster join`, pressed as a terminal does (SIGINT to the whole foreground
 * process group, ssh children included): before the first change pvx stops with nothing changed
 * (exit 130, or ended by the signal before it listens for it); while pvecm add runs, the add
 * finishes, pvx stops (exit 4) and prints the command that finishes the job, which, run as
 * printed, leaves a whole cluster. Last, pve4 goes down (its link cut, the ssh connection with it)
 * while its pvecm add runs, and boots again: pvx stops (exit 4), and the printed command finishes the
 * join. A lab of its own (e2ej, 10.77.26.0/24, 4 nodes); pve1 and pve2 form the cluster with their
 * own pvecm, pve3 and pve4 are the nodes pvx joins. Runs the built bin/pvx.js; needs root.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labFault, labRemnants, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvx, pvxCtrlC, pvxOnPath, runPrinted as runPrintedLine, type CliResult } from '../helpers/cli.js';
import { expectWholeCluster, formClusterWithPvecm } from '../helpers/lab-cluster.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'e2ej';
const SUBNET = '10.77.26.0/24';
const NODES = ['pve1', 'pve2', 'pve3', 'pve4'];
// formClusterWithPvecm names the cluster after the lab
const CLUSTER = LAB;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];
const log = (line: string): void => void labLog.push(line);

let info: LabInfo;
let env: Record<string, string>;
let bin: string;

const joinArgs = (node = 'pve3'): string[] => ['-i', info.inventory, 'cluster', 'join', node, '--via', 'pve1', '--password-file', info.rootPasswordFile];

/** Every one of `nodes` a quorate member of the cluster, as `pvx cluster status` reads it. */
const expectWhole = (nodes: readonly string[]): void => expectWholeCluster(info.inventory, env, CLUSTER, nodes);

/** Wait until `node` has a corosync.conf of its own: its pvecm add is under way. */
async function untilAddWrites(node: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const r = await labExec(LAB, node, ['test', '-e', '/etc/corosync/corosync.conf']);
    if (r.exitCode === 0) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`${node} never wrote /etc/corosync/corosync.conf`);
}

/** Run a printed command line as printed, with this run's pvx first on PATH. */
const runPrinted = (line: string | undefined): CliResult => runPrintedLine(line, env, bin);

describe.skipIf(!isRoot)('Ctrl-C during cluster join, and the printed command that finishes it (e2ej)', { retry: 0 }, () => {
  beforeAll(async () => {
    await labDown(LAB, log);
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET }, log);
    const dir = tmpDir('pvx-e2ej-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    bin = pvxOnPath(dir);
    await formClusterWithPvecm(LAB, info, ['pve1', 'pve2']);
  }, 300_000);
  afterAll(async () => {
    await labDown(LAB, log);
    expect(await labRemnants(LAB)).toEqual({ netns: [], links: [], mounts: [], pids: [] });
  }, 120_000);

  it('Ctrl-C before pvecm add changes nothing; Ctrl-C while it runs lets it finish; a node down mid-add; each printed command makes the cluster whole', { timeout: 600_000 }, async () => {
    const recovered: string[] = [];

    // before the first change: preflight has passed, no step has started (once the join information is read, pvecm add starts at once)
    const early = await pvxCtrlC(joinArgs(), env, (err) => /^✔ preflight: /m.test(err)).done;
    expect(early.pressed, `Ctrl-C was never pressed: no "✔ preflight" line came (exit ${early.code}, signal ${early.signal}):\n${early.stderr}`).toBe(true);
    if (early.signal === null) {
      expect(early.code, early.stderr).toBe(130);
      expect(early.stderr).toContain("joining pve3 to 'e2ej' cancelled before any change");
    } else {
      expect(early.signal).toBe('SIGINT');
    }
    const st = pvx(['-i', info.inventory, '--json', 'cluster', 'status'], env);
    expect(JSON.parse(st.stdout).result.standalone.map((n: { name: string }) => n.name)).toEqual(['pve3', 'pve4']);
    recovered.push(`Ctrl-C before pvecm add: ${early.signal ?? 'exit 130'}, pve3 still standalone`);

    // while pvecm add runs: it has written pve3's corosync.conf
    const run = pvxCtrlC(joinArgs(), env);
    await untilAddWrites('pve3');
    run.press();
    const r = await run.done;
    expect(r.pressed).toBe(true);
    expect(r.stderr).toContain('Ctrl-C: stopping after the current step');
    // the add under way was not cut off by the Ctrl-C
    expect(r.stderr, r.stderr).toMatch(/^✔ \[pve3\] join cluster 'e2ej' through pve1/m);
    if (/^✔ \[pve3\] wait until pve3 is quorate/m.test(r.stderr)) {
      // the add had finished before the press: nothing was left to stop
      expect(r.code, r.stderr).toBe(0);
      recovered.push('Ctrl-C after pvecm add: the run had nothing left to stop');
    } else {
      expect(r.code, r.stderr).toBe(4);
      const recovery = /continue with: (.+)$/m.exec(r.stderr)?.[1];
      expect(recovery, r.stderr).toMatch(/^pvx -i \S+ cluster join pve3 --via pve1 --password-file \S+$/);
      const again = runPrinted(recovery);
      expect(again.code, `${again.stdout}${again.stderr}`).toBe(0);
      recovered.push(`Ctrl-C while pvecm add ran: the add finished, exit 4; "${recovery?.replace(/^pvx -i \S+ /, 'pvx ').replace(/--password-file \S+/, '--password-file …')}" made the cluster whole`);
    }
    expectWhole(['pve1', 'pve2', 'pve3']);

    // pve4 goes down while its pvecm add runs (its link cut, the ssh connection with it), and boots
    // again once pvx has stopped: the add that was under way finishes, and so does the printed command
    const cut = pvxCtrlC(joinArgs('pve4'), env);
    await untilAddWrites('pve4');
    await labFault(LAB, 'pve4', 'down', undefined, log);
    const down = await cut.done;
    expect(down.pressed).toBe(false);
    expect(down.code, down.stderr).toBe(4);
    const failedAt = /^✖ (\[pve4\] .*)$/m.exec(down.stderr)?.[1];
    expect(failedAt, down.stderr).toMatch(/^\[pve4\] join cluster 'e2ej' through pve1: /);
    const cont = /continue with: (.+)$/m.exec(down.stderr)?.[1];
    expect(cont, down.stderr).toMatch(/^pvx -i \S+ cluster join pve4 --via pve1 --password-file \S+$/);
    await labFault(LAB, 'pve4', 'heal', undefined, log);
    const finish = runPrinted(cont);
    if (finish.code !== 0) {
      // what the nodes hold when the printed command did not finish the join
      for (const [node, argv] of [['pve1', ['cat', '/etc/pve/corosync.conf']], ['pve1', ['tail', '-40', '/var/log/pve-cluster.log']], ['pve4', ['sh', '-c', 'ls /etc/corosync /etc/pve; tail -30 /var/log/pve-cluster.log']]] as const) {
        const r = await labExec(LAB, node, argv);
        process.stderr.write(`--- ${node}: ${argv.join(' ')}\n${r.stdout}${r.stderr}`);
      }
    }
    expect(finish.code, `${finish.stdout}${finish.stderr}`).toBe(0);
    // the add that was under way finished on pve4: the printed command never runs a second one
    expect(finish.stderr, finish.stderr).not.toMatch(/join cluster 'e2ej' through pve1/);
    const how = /nothing to do/.test(finish.stdout) ? 'found pve4 a quorate member' : 'waited until pve4 was a quorate member';
    recovered.push(`pve4 down while pvecm add ran: "${failedAt?.slice(0, 90)}" (exit 4); pve4 booted, the printed command ${how}: the cluster is whole`);
    expectWhole(NODES);
    process.stderr.write(`join: ${recovered.length} of 3 interruption points recovered:\n${recovered.map((l) => `  ${l}`).join('\n')}\n`);
    expect(recovered).toHaveLength(3);
  });
});
