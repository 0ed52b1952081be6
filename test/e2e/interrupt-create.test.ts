/**
 * Ctrl-C during `pvx cluster create`, pressed as a terminal does (SIGINT to the whole foreground
 * process group, ssh children included), while a chosen step runs: pvx lets that step finish, stops
 * before the next (exit 4, or 130 before the first change), prints the command that finishes the
 * job; that command, run as printed, leaves a whole cluster. Each point starts from standalone nodes
 * (`pvx cluster teardown --yes` after the previous one). Last, a node goes down (its link cut, the
 * ssh connection with it) right after pvecm create, and boots again: its join fails with exit 4 and
 * the printed command finishes the cluster. A lab of its own (e2ei, 10.77.24.0/24,
 * 3 nodes, real sshd and corosync). Runs the built bin/pvx.js; needs root.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labFault, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvx, pvxAsync, pvxCtrlC, pvxOnPath, runPrinted } from '../helpers/cli.js';
import { expectWholeCluster } from '../helpers/lab-cluster.js';
import { tmpDir } from '../helpers/tmp.js';

const LAB = 'e2ei';
const SUBNET = '10.77.24.0/24';
const NODES = ['pve1', 'pve2', 'pve3'];
const CLUSTER = 'e2ei';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const labLog: string[] = [];

let info: LabInfo;
let env: Record<string, string>;
let bin: string;

const createArgs = (): string[] => ['-i', info.inventory, 'cluster', 'create', CLUSTER, '--nodes', NODES.join(','), '--password-file', info.rootPasswordFile];
/** Steps finished so far, as the progress lines say. */
const finished = (stderr: string): number => (stderr.match(/^✔ \[/gm) ?? []).length;

/** Every node a quorate member of the 3-node cluster, as `pvx cluster status` reads it. */
const expectWhole = (): void => expectWholeCluster(info.inventory, env, CLUSTER, NODES);

describe.skipIf(!isRoot)('Ctrl-C during cluster create, and the printed command that finishes it (e2ei)', { retry: 0 }, () => {
  beforeAll(async () => {
    await labDown(LAB, (l) => void labLog.push(l));
    info = await labUp({ name: LAB, nodes: NODES.length, subnet: SUBNET }, (l) => void labLog.push(l));
    const dir = tmpDir('pvx-e2ei-');
    env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
    bin = pvxOnPath(dir);
  });
  afterAll(async () => {
    await labDown(LAB, (l) => void labLog.push(l));
  });

  it('Ctrl-C before the first change, and while pvecm create and each pvecm add run: the step finishes, the printed command makes the cluster whole', { timeout: 900_000 }, async () => {
    const plan = pvx([...createArgs().slice(0, 2), '--json', '--dry-run', ...createArgs().slice(2)], env);
    expect(plan.code, plan.stderr).toBe(0);
    const titles = (JSON.parse(plan.stdout).result.plan as Array<{ node: string; title: string }>).map((s) => `[${s.node}] ${s.title}`);
    const changes = titles.map((t, i) => ({ t, i })).filter(({ t }) => /create cluster|join cluster/.test(t)).map(({ i }) => i);
    // pvecm create on pve1, pvecm add on pve2, pvecm add on pve3
    expect(changes).toHaveLength(3);
    const recovered: string[] = [];

    // before the first change: preflight has passed, no step has started
    const early = await pvxCtrlC(createArgs(), env, (err) => /^✔ preflight: /m.test(err)).done;
    expect(early.pressed).toBe(true);
    if (finished(early.stderr) === 0) {
      // pvx listens for Ctrl-C from the cluster lock on; before that the signal ends it, as any program
      if (early.signal === null) {
        expect(early.code, early.stderr).toBe(130);
        expect(early.stderr).toContain("error: cluster create 'e2ei' cancelled before any change");
      } else {
        expect(early.signal).toBe('SIGINT');
      }
      const st = pvx(['-i', info.inventory, '--json', 'cluster', 'status'], env);
      expect(JSON.parse(st.stdout).result.standalone.map((n: { name: string }) => n.name)).toEqual(NODES);
      recovered.push(`Ctrl-C before the first change: ${early.signal ?? 'exit 130'}, every node still standalone`);
    }

    for (const index of changes) {
      // Ctrl-C while this step's command runs: pvecm create is seen by its corosync.conf on pve1, a join once the step before it has finished
      const run = pvxCtrlC(createArgs(), env, (err) => index > 0 && finished(err) >= index);
      if (index === 0) {
        for (let i = 0; i < 600; i++) {
          const r = await labExec(LAB, 'pve1', ['test', '-e', '/etc/corosync/corosync.conf']);
          if (r.exitCode === 0) break;
          await new Promise((res) => setTimeout(res, 50));
        }
        run.press();
      }
      const r = await run.done;
      expect(r.pressed).toBe(true);
      const stoppedAfter = finished(r.stderr);
      // the step under way finished: its command was not cut off by the Ctrl-C
      expect(stoppedAfter, r.stderr).toBeGreaterThan(index);
      expect(r.stderr).toContain('Ctrl-C: stopping after the current step');
      if (stoppedAfter < titles.length) {
        expect(r.code, r.stderr).toBe(4);
        const recovery = /continue with: (.+)$/m.exec(r.stderr)?.[1];
        expect(recovery, r.stderr).toMatch(/^pvx -i .+ cluster create e2ei --nodes pve1,pve2,pve3 --password-file /);
        const again = runPrinted(recovery, env, bin);
        expect(again.code, again.stderr).toBe(0);
        recovered.push(`Ctrl-C in "${titles[index]}": stopped after "${titles[stoppedAfter - 1]}" (exit 4), finished by the printed command`);
      } else {
        // the last step was under way: nothing was left to stop
        expect(r.code, r.stderr).toBe(0);
        recovered.push(`Ctrl-C in "${titles[index]}": the run had nothing left to stop`);
      }
      expectWhole();
      const down = await pvxAsync(['-i', info.inventory, '--yes', 'cluster', 'teardown'], env);
      expect(down.code, down.stderr).toBe(0);
    }
    // a node that goes down once the cluster exists on pve1 (its link cut, the ssh connection with it)
    // and boots again: its join fails, and the printed command finishes the cluster
    let downed: Promise<void> | undefined;
    const cut = await pvxCtrlC(createArgs(), env, (err) => {
      if (!downed && finished(err) >= 1) downed = labFault(LAB, 'pve2', 'down', undefined, (l) => void labLog.push(l));
      return false;
    }).done;
    expect(downed, cut.stderr).toBeDefined();
    await downed;
    expect(cut.code, cut.stderr).toBe(4);
    const failedAt = /^✖ (\[pve2\] .*)$/m.exec(cut.stderr)?.[1];
    expect(failedAt, cut.stderr).toBeDefined();
    const cont = /continue with: (.+)$/m.exec(cut.stderr)?.[1];
    expect(cont, cut.stderr).toMatch(/^pvx -i .+ cluster create e2ei --nodes pve1,pve2,pve3 --password-file /);
    await labFault(LAB, 'pve2', 'heal', undefined, (l) => void labLog.push(l));
    const finish = runPrinted(cont, env, bin);
    expect(finish.code, finish.stderr).toBe(0);
    expectWhole();
    recovered.push(`pve2 down once pve1 had the cluster: "${failedAt?.slice(0, 80)}" failed (exit 4); pve2 booted, the printed command made the cluster whole`);

    process.stderr.write(`${recovered.length} interruption points recovered:\n${recovered.join('\n')}\n`);
    expect(recovered).toHaveLength(changes.length + 2);
  });
});
