/**
 * `pvx ha` on two labs of their own, one per PVE generation (e2eh9: PVE 9.1.7 on 10.77.33.0/24,
 * e2eh8: PVE 8.4.11 on 10.77.34.0/24; 3 nodes, real sshd and corosync, the lab's HA stack acting
 * on requests): add with a node preference (a rule on 9, a group on 8), a stopped guest that stays
 * stopped, a guest on local storage refused with the reason, a two-node cluster refused, status
 * JSON, set, remove, a teardown refused while an LRM is still active after the last resource went,
 * and bad input that exits 2 before any command. Runs the built bin/pvx.js; needs root.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labUp, type LabInfo } from '../../src/lab/index.js';
import { pvx, type CliResult } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NODES = ['pve1', 'pve2', 'pve3'];
const TEMPLATE = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';

/** One lab and the helpers bound to it. */
function labContext(name: string, subnet: string, pve: string) {
  const labLog: string[] = [];
  const ctx = {
    name,
    info: undefined as unknown as LabInfo,
    env: {} as Record<string, string>,
    log: (line: string): void => void labLog.push(line),
    async up(): Promise<void> {
      const dir = tmpDir(`pvx-${name}-`);
      ctx.env = { PVX_STATE_DIR: path.join(dir, 'state'), PVX_RUNTIME_DIR: path.join(dir, 'run') };
      await labDown(name, ctx.log);
      ctx.info = await labUp({ name, nodes: NODES.length, subnet, pveVersions: [pve] }, ctx.log);
    },
    cli(args: string[]): CliResult {
      return pvx(['-i', ctx.info.inventory, ...args], ctx.env);
    },
    json(args: string[]): { code: number; doc: any; stderr: string } {
      const r = ctx.cli(['--json', ...args]);
      try {
        // a failed --json run says why in its envelope on stdout: keep it beside stderr for the assertion message
        return { code: r.code, doc: JSON.parse(r.stdout), stderr: r.code === 0 ? r.stderr : `${r.stderr}\n${r.stdout}` };
      } catch {
        throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
      }
    },
    async sh(node: string, argv: string[]): Promise<string> {
      const r = await labExec(name, node, argv, { timeoutMs: 60_000 });
      if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(' ')} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
      return r.stdout;
    },
    journalLength(): number {
      try {
        return readFileSync(path.join(ctx.env['PVX_STATE_DIR']!, 'journal.jsonl'), 'utf8').trim().split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    },
    /** The guests: a running and a stopped VM on shared storage, a VM on local-lvm, a stopped CT. */
    async guests(): Promise<void> {
      await ctx.sh('pve1', ['qm', 'create', '100', '--name', 'vm100', '--memory', '512', '--scsi0', 'labshare:1']);
      await ctx.sh('pve1', ['qm', 'start', '100']);
      await ctx.sh('pve2', ['qm', 'create', '101', '--name', 'vm101', '--memory', '512', '--scsi0', 'labshare:1']);
      await ctx.sh('pve3', ['qm', 'create', '102', '--name', 'vm102', '--memory', '512', '--scsi0', 'local-lvm:1']);
      await ctx.sh('pve1', ['pct', 'create', '103', TEMPLATE, '--hostname', 'ct103', '--rootfs', 'labshare:1']);
    },
    /** Wait until the CRM master has written its status `rounds` more times (its timestamp moved on). */
    async crmRounds(rounds: number): Promise<void> {
      const stamp = async (): Promise<number> => {
        const all = JSON.parse(await ctx.sh('pve1', ['pvesh', 'get', '/cluster/ha/status/current', '--output-format', 'json'])) as Array<{ type?: string; timestamp?: number }>;
        return all.find((e) => e.type === 'master')?.timestamp ?? 0;
      };
      let last = await stamp();
      const deadline = Date.now() + 60_000;
      for (let seen = 0; seen < rounds; ) {
        if (Date.now() > deadline) throw new Error(`the CRM wrote ${seen} of ${rounds} rounds in 60 s`);
        await new Promise((r) => setTimeout(r, 250));
        const now = await stamp();
        if (now !== last) {
          seen++;
          last = now;
        }
      }
    },
    async qmStatus(node: string, vmid: number): Promise<string> {
      return (await ctx.sh(node, ['qm', 'status', String(vmid)])).trim();
    },
    async dumpLog(): Promise<void> {
      if (labLog.length) ctx.log(`lab log of ${name}: ${labLog.length} line(s)`);
    },
  };
  return ctx;
}


describe.skipIf(!isRoot)('pvx ha on a PVE 9 lab (e2eh9)', () => {
  const lab = labContext('e2eh9', '10.77.33.0/24', '9.1.7');
  beforeAll(async () => {
    await lab.up();
    const c = lab.cli(['cluster', 'create', 'e2eh9', '--nodes', NODES.join(','), '--password-file', lab.info.rootPasswordFile]);
    expect(c.code, c.stderr).toBe(0);
    await lab.guests();
  });
  afterAll(async () => {
    await labDown(lab.name, lab.log);
  });

  it('bad input exits 2 before any command runs on a node', () => {
    const before = lab.journalLength();
    for (const args of [
      ['ha', 'add', '10x'],
      ['ha', 'add', '100', '--nodes', 'pve1:top'],
      ['ha', 'add', '100', '--nodes', 'pve9'],
      ['ha', 'add', '100', '--state', 'on'],
    ]) {
      const r = lab.cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^error: /m);
    }
    expect(lab.journalLength()).toBe(before);
  });

  it('add with a node preference makes a node-affinity rule; the running VM stays started and the stopped one stays stopped', async () => {
    const r = lab.json(['ha', 'add', '100', '101', '--nodes', 'pve1:2,pve2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.result.pve).toBe(9);
    expect(r.doc.result.preference).toMatchObject({ kind: 'rule', created: true, nodes: 'pve1:2,pve2', strict: false });
    expect(r.doc.result.guests.map((g: { sid: string; state: string }) => [g.sid, g.state])).toEqual([
      ['vm:100', 'started'],
      ['vm:101', 'stopped'],
    ]);
    expect(r.doc.warnings.join('\n')).toContain('vm:101: it is stopped: added with --state stopped');
    const rules = JSON.parse(await lab.sh('pve2', ['pvesh', 'get', '/cluster/ha/rules', '--output-format', 'json']));
    expect(rules).toEqual([expect.objectContaining({ rule: r.doc.result.preference.id, type: 'node-affinity', resources: 'vm:100,vm:101', nodes: 'pve1:2,pve2' })]);
    // several CRM rounds later the stopped guest has still not been started
    await lab.crmRounds(3);
    expect(await lab.qmStatus('pve2', 101)).toBe('status: stopped');
    expect(await lab.qmStatus('pve1', 100)).toBe('status: running');
    expect(await lab.sh('pve3', ['ha-manager', 'status'])).toMatch(/^service vm:101 \(pve2, stopped\)$/m);
  });

  it('refuses a guest on local storage with the reason, and changes nothing (exit 3)', async () => {
    const r = lab.cli(['ha', 'add', '102', '103']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('vm:102 (on pve3): scsi0 is on local storage local-lvm (lvmthin): HA could not restart the guest on pve1, pve2');
    expect(await lab.sh('pve1', ['ha-manager', 'config'])).not.toMatch(/^(vm:102|ct:103)$/m);
  });

  it('status --json: the master, an LRM per node with its watchdog, the services', () => {
    const r = lab.json(['ha', 'status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.result.quorum.ok).toBe(true);
    expect(NODES).toContain(r.doc.result.master.node);
    expect(r.doc.result.master.state).toBe('active');
    expect(r.doc.result.fencing).toMatchObject({ state: 'armed' });
    expect(r.doc.result.lrms.map((l: { node: string }) => l.node)).toEqual(NODES);
    expect(r.doc.result.lrms.every((l: { watchdog?: string }) => /^watchdog (active|standby)$/.test(l.watchdog ?? ''))).toBe(true);
    expect(r.doc.result.services.map((s: { sid: string; node: string; state: string }) => [s.sid, s.node, s.state])).toEqual([
      ['vm:100', 'pve1', 'started'],
      ['vm:101', 'pve2', 'stopped'],
    ]);
    expect(r.doc.result.availability).toHaveLength(6);
  });

  it('set --state started has the HA stack start the guest, and waits for it', async () => {
    const r = lab.cli(['ha', 'set', '101', '--state', 'started']);
    expect(r.code, r.stderr).toBe(0);
    expect(await lab.qmStatus('pve2', 101)).toBe('status: running');
  });

  it('a second add is a no-op; remove leaves the guests as they are and the rule goes with its last resource', async () => {
    const again = lab.cli(['ha', 'add', '100']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to do');
    const r = lab.cli(['ha', 'remove', '100', '101']);
    expect(r.code, r.stderr).toBe(0);
    expect((await lab.sh('pve1', ['ha-manager', 'config'])).trim()).toBe('');
    expect(JSON.parse(await lab.sh('pve1', ['pvesh', 'get', '/cluster/ha/rules', '--output-format', 'json']))).toEqual([]);
    expect(await lab.qmStatus('pve1', 100)).toBe('status: running');
    expect(await lab.qmStatus('pve2', 101)).toBe('status: running');
  });

  it('refuses a teardown while an LRM is still active after its last resource went (exit 3), and plans it once the LRMs went idle', async () => {
    // LRM.pm keeps an LRM active, its watchdog armed, for 60 rounds after its node's last service went
    const refused = lab.cli(['cluster', 'teardown', '--dry-run']);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(/the HA local resource manager is still active on pve1, pve2 \(its watchdog is armed\)/);
    const idle = /pve-ha-lrm\[\d+\]: node had no service configured for 60 rounds, going idle\.$/m;
    const deadline = Date.now() + 150_000;
    for (const n of ['pve1', 'pve2']) {
      while (!idle.test(await lab.sh(n, ['cat', '/var/log/pve-ha-manager.log']))) {
        if (Date.now() > deadline) throw new Error(`${n}'s LRM did not go idle within 150 s`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const planned = lab.cli(['cluster', 'teardown', '--dry-run']);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain('pmxcfs -l');
  }, 240_000);
});

describe.skipIf(!isRoot)('pvx ha on a PVE 8 lab (e2eh8)', () => {
  const lab = labContext('e2eh8', '10.77.34.0/24', '8.4.11');
  beforeAll(async () => {
    await lab.up();
  });
  afterAll(async () => {
    await labDown(lab.name, lab.log);
  });

  it('refuses a two-node cluster: HA needs three votes', async () => {
    const c = lab.cli(['cluster', 'create', 'e2eh8', '--nodes', 'pve1,pve2', '--password-file', lab.info.rootPasswordFile]);
    expect(c.code, c.stderr).toBe(0);
    await lab.sh('pve1', ['qm', 'create', '100', '--name', 'vm100', '--memory', '512', '--scsi0', 'labshare:1']);
    const r = lab.cli(['ha', 'add', '100']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('ha-votes: the cluster has only 2 expected vote(s)');
    expect((await lab.sh('pve1', ['ha-manager', 'config'])).trim()).toBe('');
    await lab.sh('pve1', ['qm', 'destroy', '100']);
    const j = lab.cli(['cluster', 'join', 'pve3', '--via', 'pve1', '--password-file', lab.info.rootPasswordFile]);
    expect(j.code, j.stderr).toBe(0);
    await lab.guests();
  });

  it('add with a strict node preference makes a restricted HA group and adds with --group; the stopped VM stays stopped', async () => {
    const dry = lab.cli(['--dry-run', 'ha', 'add', '100', '101', '--nodes', 'pve1:2,pve2', '--strict']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('PVE 8: node preferences as HA groups');
    expect(dry.stdout).toMatch(/ha-manager groupadd pvx-[0-9a-f]{8} --nodes pve1:2,pve2 --restricted 1/);
    const r = lab.json(['ha', 'add', '100', '101', '--nodes', 'pve1:2,pve2', '--strict']);
    expect(r.code, r.stderr).toBe(0);
    const group = r.doc.result.preference.id as string;
    expect(r.doc.result.preference).toMatchObject({ kind: 'group', created: true });
    expect(await lab.sh('pve3', ['ha-manager', 'groupconfig'])).toBe(`group: ${group}\n\tnodes pve1:2,pve2\n\trestricted 1\n\n`);
    expect(await lab.sh('pve3', ['ha-manager', 'config'])).toBe(`vm:100\n\tgroup ${group}\n\tstate started\n\nvm:101\n\tgroup ${group}\n\tstate stopped\n\n`);
    await lab.crmRounds(3);
    expect(await lab.qmStatus('pve2', 101)).toBe('status: stopped');
    const s = lab.json(['ha', 'status']);
    expect(s.doc.result.fencing).toBeNull();
    expect(s.doc.result.lrms.every((l: { watchdog?: string }) => l.watchdog === undefined)).toBe(true);
  });

  it('refuses a guest on local storage (exit 3), and remove takes the group pvx made with the last resource', async () => {
    const refused = lab.cli(['ha', 'add', '102']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('local-lvm');
    const r = lab.cli(['ha', 'remove', '100', '101']);
    expect(r.code, r.stderr).toBe(0);
    expect((await lab.sh('pve1', ['ha-manager', 'groupconfig'])).trim()).toBe('');
    expect(await lab.qmStatus('pve1', 100)).toBe('status: running');
  });
});
