import { describe, expect, it } from 'vitest';
import { inventoryNodes, of, runScenario, statuses } from './scenario.js';

describe('ssh check', () => {
  it('passes for root with a known host key', async () => {
    const r = await runScenario({ nodes: inventoryNodes(2) });
    expect(of(r, 'ssh')).toEqual([
      { id: 'ssh', node: 'pve1', status: 'ok', message: 'key login as root works and the host key is known' },
      { id: 'ssh', node: 'pve2', status: 'ok', message: 'key login as root works and the host key is known' },
    ]);
  });

  it('fails an unreachable node and reports its other checks as not run, never as passed', async () => {
    const r = await runScenario({ nodes: inventoryNodes(3), node: { pve2: { unreachable: true } } });
    expect(of(r, 'ssh')[1]).toEqual({ id: 'ssh', node: 'pve2', status: 'fail', message: 'cannot reach pve2 over SSH: Connection refused', hint: 'check the node' });
    const about2 = r.findings.filter((f) => f.id !== 'ssh' && (f.node === 'pve2' || f.peer === 'pve2'));
    expect(about2.length).toBeGreaterThan(0);
    expect(statuses(about2)).toEqual({ skip: about2.length });
    expect(about2.find((f) => f.id === 'pve-version')?.message).toBe('not run: pve2 could not be reached over SSH');
    // the reachable pair is still probed
    expect(of(r, 'udp-corosync').filter((f) => f.status === 'ok').map((f) => `${f.node}>${f.peer}`)).toEqual(['pve1>pve3', 'pve3>pve1']);
    expect(r.nodeFacts.get('pve2')?.reachable).toBe(false);
  });

  it('fails a login that is not root', async () => {
    const r = await runScenario({ nodes: inventoryNodes(1), node: { pve1: { sections: { user: { stdout: '1000\nadmin\n' } } } } });
    const [f] = of(r, 'ssh');
    expect(f?.status).toBe('fail');
    expect(f?.message).toBe("logged in to pve1 as 'admin' (uid 1000), not as root");
    expect(f?.hint).toMatch(/user: root/);
  });

  it('warns when id is missing or prints garbage', async () => {
    const missing = await runScenario({ nodes: inventoryNodes(1), node: { pve1: { sections: { user: { exitCode: 127, stderr: 'sh: 1: id: not found\n' } } } } });
    expect(of(missing, 'ssh')[0]).toMatchObject({ status: 'warn', message: 'logged in to pve1, but could not tell as whom: id is not installed' });
    const garbage = await runScenario({ nodes: inventoryNodes(1), node: { pve1: { sections: { user: { stdout: 'uid=0(root)\n' } } } } });
    expect(of(garbage, 'ssh')[0]).toMatchObject({ status: 'warn' });
    expect(of(garbage, 'ssh')[0]?.message).toMatch(/expected a numeric uid/);
  });

  it('fails a node where the read script did not run, and skips its checks', async () => {
    const r = await runScenario({
      nodes: inventoryNodes(2),
      node: { pve2: { factsResult: { exitCode: 97, stdout: 'Welcome to pve2!\n', stderr: 'mktemp: failed to create directory\n' } } },
    });
    expect(of(r, 'ssh')[1]).toMatchObject({ status: 'fail', message: 'logged in to pve2, but the read failed: the facts read failed (exit code 97): mktemp: failed to create directory' });
    expect(of(r, 'pve-version')[1]).toMatchObject({ status: 'skip' });
  });
});
