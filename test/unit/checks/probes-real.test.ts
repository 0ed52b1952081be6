/** The node-side scripts run for real: the facts script under /bin/sh, the UDP probe under perl on loopback. */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { factsArgv, guestListFunction, parseSections, renderSections } from '../../../src/facts/preflight/script.js';
import { parseProbeArgv, parseProbeOutput, probeArgv, probeKey, type ProbePlan } from '../../../src/facts/preflight/udp-probe.js';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Start argv; `printed(text)` settles once its stdout holds `text` (or it ended without it). */
function start(argv: readonly string[], env?: NodeJS.ProcessEnv): { done: Promise<Ran>; printed(text: string): Promise<void> } {
  const p = spawn(argv[0] ?? '', argv.slice(1), { env: env ?? process.env });
  let stdout = '';
  let stderr = '';
  const waiting: Array<{ text: string; resolve: () => void }> = [];
  const check = (ended: boolean) => {
    for (const w of waiting.filter((x) => ended || stdout.includes(x.text))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
  };
  p.stdout.on('data', (d) => ((stdout += String(d)), check(false)));
  p.stderr.on('data', (d) => (stderr += String(d)));
  const done = new Promise<Ran>((resolve) => p.on('close', (code) => (check(true), resolve({ code: code ?? -1, stdout, stderr }))));
  return { done, printed: (text) => new Promise<void>((resolve) => (waiting.push({ text, resolve }), check(false))) };
}

function run(argv: readonly string[], env?: NodeJS.ProcessEnv): Promise<Ran> {
  return start(argv, env).done;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('facts script under the real /bin/sh', () => {
  it('prints every section with its exit code, stdout and stderr; a missing tool is 127', async () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'pvx-facts-'));
    dirs.push(bin);
    const tool = (name: string, body: string) => {
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    tool('pveversion', "printf 'pve-manager: 9.1.7 (running version: 9.1.7/16b139a017452f16)\\nno final newline'");
    tool('chronyc', "echo '506 Cannot talk to daemon'; exit 1");
    tool('timedatectl', "echo yes");
    tool('corosync-cfgtool', "echo 'Could not initialize corosync configuration API error 2' >&2; exit 1");
    // only the stand-ins and the basics: chronyc's fallback, a missing quorumtool
    const env = { PATH: `${bin}:/usr/bin:/bin`, LC_ALL: 'C' };
    for (const t of ['corosync-quorumtool']) rmSync(path.join(bin, t), { force: true });
    const r = await run(factsArgv(), env);
    expect(r.code).toBe(0);
    const s = parseSections(r.stdout);
    expect(s.get('pveversion')).toEqual({ exitCode: 0, stdout: 'pve-manager: 9.1.7 (running version: 9.1.7/16b139a017452f16)\nno final newline', stderr: '' });
    expect(s.get('chrony')).toMatchObject({ exitCode: 1, stdout: '506 Cannot talk to daemon\n' });
    expect(s.get('timedatectl')).toMatchObject({ exitCode: 0, stdout: 'yes\n' });
    expect(s.get('cfgtool')).toMatchObject({ exitCode: 1, stderr: 'Could not initialize corosync configuration API error 2\n' });
    expect(s.get('user')?.stdout).toMatch(/^\d+\n\S+\n$/);
    expect(s.get('guests')).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    // corosync-quorumtool is installed on this host or not; either way the section is there
    expect(s.has('quorum')).toBe(true);
  });

  it('lists every guest config under every nodes/* folder, as pmxcfs counts them, with the name from the first section', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'pvx-pve-'));
    dirs.push(root);
    const put = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    };
    // the node's own guest, with a snapshot section naming another VM
    put('nodes/pve2/qemu-server/100.conf', 'boot: order=scsi0\nname: web\n\n[before-upgrade]\nname: old-web\n');
    // folders another cluster left behind
    put('nodes/pve1/lxc/101.conf', 'arch: amd64\nhostname: db\n');
    put('nodes/old3/qemu-server/300.conf', 'memory: 512\n');
    put('nodes/pve1/qemu-server/notes.txt', 'not a config\n');
    mkdirSync(path.join(root, 'nodes', 'pve3', 'lxc'), { recursive: true });
    const r = await run(['sh', '-c', `${guestListFunction(root)}\nguests`]);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([`${root}/nodes/old3/qemu-server/300.conf `, `${root}/nodes/pve1/lxc/101.conf db`, `${root}/nodes/pve2/qemu-server/100.conf web`]);
    // the facts script lists /etc/pve's folders the same way
    expect(factsArgv()[2]).toContain(guestListFunction('/etc/pve'));
  });

  it('round-trips renderSections', () => {
    const text = renderSections({ hostname: { stdout: 'pve1\n' }, pveversion: { exitCode: 127, stderr: 'not found\n' } });
    expect([...parseSections(text)]).toEqual([
      ['hostname', { exitCode: 0, stdout: 'pve1\n', stderr: '' }],
      ['pveversion', { exitCode: 127, stdout: '', stderr: 'not found\n' }],
    ]);
  });
});

describe('UDP probe under the real perl, on loopback addresses', () => {
  // high ports, so nothing on this host (or a lab) is disturbed
  const ports = [41405, 41406, 41407];
  const timing = { waitSec: 0.6, resendSec: 0.1 };
  const argv = (p: ProbePlan) => probeArgv(p, timing);

  it('two echo servers that probe each other: every port open both ways, early exit, a round trip', async () => {
    const a: ProbePlan = { node: 'a', self: '127.0.0.21', listen: ports, expect: ['127.0.0.22'], targets: [{ address: '127.0.0.22', ports }] };
    const b: ProbePlan = { node: 'b', self: '127.0.0.22', listen: ports, expect: ['127.0.0.21'], targets: [{ address: '127.0.0.21', ports }] };
    // a deadline no healthy pair comes near: ending before it can only be the early exit
    const patient = { waitSec: 10, resendSec: 0.1 };
    // b starts once a is listening: a's first probes meet a closed port and must be retried
    const pa = start(probeArgv(a, patient));
    await pa.printed(`bind ${ports[ports.length - 1]} ok\n`);
    const [ra, rb] = await Promise.all([pa.done, run(probeArgv(b, patient))]);
    const oa = parseProbeOutput(ra.stdout);
    const ob = parseProbeOutput(rb.stdout);
    expect(ra.stderr + rb.stderr).toBe('');
    for (const p of ports) {
      expect(oa.bind.get(p)).toBeNull();
      expect(oa.heard.has(probeKey('127.0.0.22', p))).toBe(true);
      expect(ob.heard.has(probeKey('127.0.0.21', p))).toBe(true);
      expect(oa.sent.get(probeKey('127.0.0.22', p))?.state).toBe('ok');
      // a round trip was measured (how fast it is, test/bench/probes.run.ts reports)
      expect(ob.sent.get(probeKey('127.0.0.21', p))?.rttMs).toBeGreaterThanOrEqual(0);
    }
    expect(oa.finished && ob.finished).toBe(true);
    // both left as soon as all was answered, not at the deadline
    for (const r of [ra, rb]) expect(Number(/done ([\d.]+)/.exec(r.stdout)?.[1])).toBeLessThan(patient.waitSec);
  });

  it('a sender probes only the ports it is given, and a node that does not listen binds nothing', async () => {
    const echo: ProbePlan = { node: 'e', self: '127.0.0.25', listen: [ports[1] as number], expect: ['127.0.0.26'], targets: [] };
    const send: ProbePlan = { node: 's', self: '127.0.0.26', listen: [], expect: [], targets: [{ address: '127.0.0.25', ports: [ports[1] as number] }] };
    const [re, rs] = await Promise.all([run(argv(echo)), run(argv(send))]);
    const oe = parseProbeOutput(re.stdout);
    const os = parseProbeOutput(rs.stdout);
    expect([...oe.bind.keys()]).toEqual([ports[1]]);
    expect(os.bind.size).toBe(0);
    expect([...os.sent.entries()].map(([k, v]) => `${k} ${v.state}`)).toEqual([`127.0.0.25 ${ports[1]} ok`]);
    expect(oe.heard).toEqual(new Set([`127.0.0.26 ${ports[1]}`]));
  });

  it('round-trips the plan through its argv', () => {
    const plan: ProbePlan = { node: 'x', self: '10.0.0.1', listen: [5406, 5407], expect: ['10.0.0.2'], targets: [{ address: '10.0.0.2', ports: [5405, 5406, 5407, 5408, 5409, 5410, 5411, 5412] }, { address: 'fd00::3', ports: [5406] }] };
    expect(parseProbeArgv('x', probeArgv(plan))).toEqual({ ...plan, timing: { waitSec: 1.5, resendSec: 0.1 } });
    const quiet: ProbePlan = { node: 'y', self: '10.0.0.1', listen: [], expect: [], targets: [{ address: '10.0.0.2', ports: [5405, 5406, 5407, 5408, 5409, 5410, 5411, 5412] }] };
    expect(probeArgv(quiet).slice(4)).toEqual(['10.0.0.1', '0', '1.5', '0.1', '5405,5406,5407,5408,5409,5410,5411,5412', '', '10.0.0.2']);
    expect(parseProbeArgv('y', probeArgv(quiet)).listen).toEqual([]);
  });

  it('a peer with nothing listening answers refused; a port in use is reported by bind', async () => {
    const blocker = await import('node:dgram').then((d) => d.createSocket('udp4'));
    await new Promise<void>((r) => blocker.bind(ports[1], '127.0.0.23', () => r()));
    try {
      const c: ProbePlan = { node: 'c', self: '127.0.0.23', listen: ports, expect: [], targets: [{ address: '127.0.0.24', ports }] };
      const o = parseProbeOutput((await run(argv(c))).stdout);
      expect(o.bind.get(ports[1] as number)).toMatch(/in use/i);
      expect(o.bind.get(ports[0] as number)).toBeNull();
      expect([...o.sent.values()].map((s) => s.state)).toEqual(['refused', 'refused', 'refused']);
    } finally {
      blocker.close();
    }
  });
});
