import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InventoryNode } from '../../src/config/inventory.js';
import { runInProcess } from '../helpers/run-cli.js';
import { tmpDir } from '../helpers/tmp.js';
import { NOW_MS, inventoryNodes, scenarioTransport, type Scenario } from '../unit/checks/scenario.js';

function inventory(nodes: InventoryNode[]): string {
  const file = path.join(tmpDir('pvx-inv-'), 'pvx.yaml');
  writeFileSync(file, 'nodes:\n' + nodes.map((n) => `  - name: ${n.name}\n    host: ${n.host}\n    link0: ${n.link0}\n`).join(''));
  return file;
}

async function preflight(sc: Scenario, args: string[], opts: { tty?: boolean; inventory?: InventoryNode[] } = {}) {
  const t = await scenarioTransport(sc);
  const r = await runInProcess(['-i', inventory(opts.inventory ?? sc.nodes), ...args], t, opts);
  t.verify();
  return r;
}

const BLOCKED: Scenario = { nodes: inventoryNodes(2), blocks: [{ from: 'pve1', to: 'pve2', port: 5407 }] };

describe('pvx preflight (in-process, fake transport)', () => {
  beforeEach(() => {
    // the clock check compares node clocks with this workstation's
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW_MS);
  });
  afterEach(() => vi.useRealTimers());

  it('prints a table grouped by check on a terminal and exits 0 when all pass', async () => {
    const r = await preflight({ nodes: inventoryNodes(2) }, ['preflight'], { tty: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'CHECK                NODE         RESULT  DETAIL',
        'ssh                  pve1         ✔ ok    key login as root works and the host key is known',
        '                     pve2         ✔ ok    key login as root works and the host key is known',
        "node-names           pve1         ✔ ok    'pve1' is a valid node name and unique",
        "                     pve2         ✔ ok    'pve2' is a valid node name and unique",
        'pve-version          pve1         ✔ ok    runs pve-manager 9.1.7',
        '                     pve2         ✔ ok    runs pve-manager 9.1.7, same packages as pve1',
        'ntp-sync             pve1         ✔ ok    chrony is synchronised to chablis.fnal.gov (offset +0.000 s)',
        '                     pve2         ✔ ok    chrony is synchronised to chablis.fnal.gov (offset +0.000 s)',
        "clock-skew           pve1         ✔ ok    clock is +0.000 s from the other nodes' median (+0.000 s against this workstation, ±0 ms)",
        "                     pve2         ✔ ok    clock is +0.000 s from the other nodes' median (+0.000 s against this workstation, ±0 ms)",
        "hostname-resolution  pve1         ✔ ok    'pve1' resolves to 10.77.13.11, an address of this node",
        '                     pve1         ✔ ok    link0 10.77.13.11 is configured on pve1',
        "                     pve2         ✔ ok    'pve2' resolves to 10.77.13.12, an address of this node",
        '                     pve2         ✔ ok    link0 10.77.13.12 is configured on pve2',
        'udp-corosync         pve1 → pve2  ✔ ok    udp/5405-5412 reach pve2 (10.77.13.11 → 10.77.13.12)',
        '                     pve2 → pve1  ✔ ok    udp/5405-5412 reach pve1 (10.77.13.12 → 10.77.13.11)',
        'link-latency         pve1 → pve2  ✔ ok    link0 round trip pve1 ↔ pve2 is 0.20 ms',
        '',
        'preflight of 2 node(s): 17 ok, 0 warning(s), 0 failed: passed',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toBe('✔ preflight: 2 node(s), 17 result(s)\n');
  });

  it('names the failing node, peer and port with a hint, and exits 3', async () => {
    const r = await preflight(BLOCKED, ['preflight', '--quiet'], { tty: true });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(
      [
        'CHECK         NODE                  RESULT  DETAIL',
        'udp-corosync  pve1 → pve2 udp/5407  ✖ FAIL  pve1 → pve2 udp/5407 is blocked: nothing arrived within 1.5 s',
        '                                            hint: allow UDP 5405-5412 from 10.77.13.11 to 10.77.13.12 (firewall on pve2, on pve1 or between them); corosync needs the whole range',
        '',
        'preflight of 2 node(s): 16 ok, 0 warning(s), 1 failed: FAILED',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toBe(
      'error: preflight failed: 1 check(s) failed (udp-corosync on pve1 → pve2 udp/5407)\nhint: fix what the failed checks name, then run pvx preflight again\n',
    );
  });

  it('prints tab-separated rows off a terminal', async () => {
    const r = await preflight(BLOCKED, ['preflight']);
    expect(r.code).toBe(3);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('check\tnode\tpeer\tport\tstatus\tmessage\thint');
    expect(lines).toContain(
      'udp-corosync\tpve1\tpve2\t5407\tfail\tpve1 → pve2 udp/5407 is blocked: nothing arrived within 1.5 s\tallow UDP 5405-5412 from 10.77.13.11 to 10.77.13.12 (firewall on pve2, on pve1 or between them); corosync needs the whole range',
    );
    expect(lines).toContain('ssh\tpve1\t\t\tok\tkey login as root works and the host key is known\t');
    expect(lines.at(-2)).toBe('preflight of 2 node(s): 16 ok, 0 warning(s), 1 failed: FAILED');
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(r.stderr).toMatch(/^✖ preflight: 2 node\(s\), 17 result\(s\)\nerror: preflight failed/);
  });

  it('--json: one document with the checks and the learned facts, exit 3 with the error', async () => {
    const r = await preflight(BLOCKED, ['--json', 'preflight'], { tty: true });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, command: 'preflight', ok: false, warnings: [] });
    expect(doc.error).toEqual({
      code: 'PREFLIGHT_FAILED',
      exitCode: 3,
      message: 'preflight failed: 1 check(s) failed (udp-corosync on pve1 → pve2 udp/5407)',
      hint: 'fix what the failed checks name, then run pvx preflight again',
      details: { failed: [{ id: 'udp-corosync', node: 'pve1', peer: 'pve2', port: 5407 }] },
    });
    expect(doc.result.purpose).toBe('general');
    expect(doc.result.checks).toContainEqual({ id: 'ssh', node: 'pve1', status: 'ok', message: 'key login as root works and the host key is known' });
    expect(doc.result.checks.filter((c: { status: string }) => c.status === 'fail')).toHaveLength(1);
    expect(doc.result.nodes[0]).toEqual({ name: 'pve1', reachable: true, hostname: 'pve1', pveVersion: '9.1.7', cluster: null, corosyncRunning: false, link0: '10.77.13.11', guests: 0 });
  });

  it('--json passes with warnings: exit 0', async () => {
    const r = await preflight({ nodes: inventoryNodes(2), spec: { purpose: 'create' } }, ['--json', 'preflight', '--for', 'create', '--nodes', 'pve1,pve2'], {
      inventory: inventoryNodes(3),
    });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.result.checks.find((c: { id: string }) => c.id === 'two-node')).toMatchObject({ status: 'warn', node: 'pve1', peer: 'pve2' });
    expect(doc.result.nodes.map((n: { name: string }) => n.name)).toEqual(['pve1', 'pve2']);
  });

  it('passes the thresholds through', async () => {
    const sc: Scenario = { nodes: inventoryNodes(2), rttMs: 1.5, node: { pve2: { clock: ((NOW_MS + 300) / 1000).toFixed(9) } } };
    const r = await preflight(sc, ['--json', 'preflight', '--latency-warn', '1', '--skew-warn', '0.1', '--skew-fail', '0.2']);
    const doc = JSON.parse(r.stdout);
    expect(r.code).toBe(3);
    expect(doc.result.checks.find((c: { id: string }) => c.id === 'link-latency').status).toBe('warn');
    expect(doc.result.checks.filter((c: { id: string; status: string }) => c.id === 'clock-skew').map((c: { status: string }) => c.status)).toEqual(['ok', 'fail']);
  });
});

describe('pvx preflight: bad input exits 2 before any node is touched', () => {
  const inv = inventory(inventoryNodes(3));
  const cases: Array<[string[], RegExp]> = [
    [['--nodes', 'pve_1'], /--nodes: node name 'pve_1' is invalid/],
    [['--nodes', 'pve1,,pve2'], /--nodes must be a comma-separated list/],
    [['--nodes', 'pve1,pve1'], /--nodes names 'pve1' twice/],
    [['--nodes', 'pve1,pve9'], /'pve9' is not in the inventory .*pvx\.yaml/],
    [['--for', 'destroy'], /--for must be one of general, create, join, migrate, ha; got 'destroy'/],
    [['--for', 'create', '--cluster-name', 'bad_name'], /cluster name 'bad_name' is invalid/],
    [['--for', 'create', '--cluster-name', 'sixteen-chars-xx'], /at most 15/],
    [['--cluster-name', 'prod'], /--cluster-name applies to --for create or --for join/],
    [['--via', 'pve1'], /--via applies to --for join/],
    [['--for', 'join', '--via', 'pve7'], /'pve7' is not in the inventory/],
    [['--skew-warn', 'abc'], /--skew-warn must be a positive number, got 'abc'/],
    [['--skew-warn', '1', '--skew-fail', '0.5'], /--skew-fail \(0.5 s\) must not be below --skew-warn \(1 s\)/],
    [['--latency-warn', '-3'], /--latency-warn must be a positive number/],
  ];
  for (const [args, message] of cases) {
    it(`preflight ${args.join(' ')}`, async () => {
      const r = await runInProcess(['-i', inv, 'preflight', ...args], undefined);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    });
  }

  it('answers --json with an error document', async () => {
    const r = await runInProcess(['-i', inv, '--json', 'preflight', '--nodes', 'nope_'], undefined);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ schemaVersion: 1, command: 'preflight', ok: false, error: { code: 'USAGE', exitCode: 2 } });
  });

  it('shows examples in --help', async () => {
    const r = await runInProcess(['preflight', '--help'], undefined);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--for <purpose>/);
    expect(r.stdout).toMatch(/pvx preflight --for create --nodes pve1,pve2,pve3 --cluster-name prod/);
  });
});
