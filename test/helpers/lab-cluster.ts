/** Forms a lab cluster with the nodes' own (simulated) pvecm, without pvx (a baseline independent of the code under test), and checks one is whole. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { labExec, type LabInfo } from '../../src/lab/index.js';
import { pvx } from './cli.js';

async function sh(lab: string, node: string, argv: string[], input?: string): Promise<string> {
  const r = await labExec(lab, node, argv, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(' ')} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * `pvecm create` on the first node, `pvecm add` with the pinned fingerprint on the others, then wait
 * until all are quorate members. `afterCreate` runs while the cluster has its first node only.
 */
export async function formClusterWithPvecm(lab: string, info: LabInfo, nodes: readonly string[], timeoutMs = 60_000, afterCreate?: () => Promise<void>): Promise<void> {
  const [first, ...rest] = nodes;
  if (!first) throw new Error('no nodes');
  const password = readFileSync(info.rootPasswordFile, 'utf8');
  await sh(lab, first, ['pvecm', 'create', lab]);
  if (afterCreate) await afterCreate();
  const join = JSON.parse(await sh(lab, first, ['pvesh', 'get', '/cluster/config/join', '--output-format', 'json'])) as { nodelist: Array<{ name: string; pve_fp: string; pve_addr: string }> };
  const me = join.nodelist.find((n) => n.name === first);
  if (!me) throw new Error(`${first} is not in its own join information`);
  for (const n of rest) {
    // pvecm add exits 0 whatever its join task did: only its last line says the join finished
    const r = await labExec(lab, n, ['pvecm', 'add', me.pve_addr, '--fingerprint', me.pve_fp], { timeoutMs: 60_000, input: password });
    const out = `${r.stdout}${r.stderr}`;
    if (r.exitCode !== 0 || !new RegExp(`successfully added node '${n}' to cluster`).test(out)) throw new Error(`${n}: pvecm add did not finish the join (exit ${r.exitCode}):\n${out}`);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await labExec(lab, first, ['pvecm', 'status']);
    if (new RegExp(`^Nodes: +${nodes.length}$`, 'm').test(s.stdout) && /^Quorate: +Yes$/m.test(s.stdout)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${nodes.length} quorate members`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Assert, through `pvx cluster status`, that every node is an online member of `cluster`, quorate. */
export function expectWholeCluster(inventory: string, env: Record<string, string>, cluster: string, nodes: readonly string[]): void {
  const s = pvx(['-i', inventory, '--json', 'cluster', 'status'], env);
  expect(s.code, s.stdout + s.stderr).toBe(0);
  const doc = JSON.parse(s.stdout);
  expect(doc.result.cluster.name).toBe(cluster);
  expect(doc.result.quorum.quorate).toBe(true);
  expect(doc.result.nodes.map((n: { name: string; online: boolean }) => [n.name, n.online])).toEqual(nodes.map((n) => [n, true]));
}
