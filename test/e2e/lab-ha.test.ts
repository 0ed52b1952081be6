/**
 * The lab's HA stack (pve-ha-crm and pve-ha-lrm daemons on each clustered node) acting on requests, on labs
 * of their own: e2eha (PVE 9, 10.77.31.0/24) and e2eha8 (PVE 8, 10.77.32.0/24), 3 nodes formed
 * with the sim's pvecm. A stopped guest added with the default state is really started, one added
 * `--state stopped` stays stopped, a migration passes through `migrate` and ends started on the
 * target, removal drops the service, and stopping pve-cluster leaves both daemons running. Needs root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labUp, type LabInfo } from '../../src/lab/index.js';
import { formClusterWithPvecm } from '../helpers/lab-cluster.js';

const NODES = ['pve1', 'pve2', 'pve3'];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function haLab(lab: string, subnet: string, pve: string): void {
  const log: string[] = [];
  let info: LabInfo;
  const fencing = pve.startsWith('9');

  /** What each node's HA daemons did, for a failure's message. */
  async function haDiagnosis(): Promise<string> {
    const per = await Promise.all(
      NODES.map(async (n) => {
        const r = await labExec(lab, n, ['sh', '-c', 'pve-ha-crm status; pve-ha-lrm status; ha-manager status; ls -la --full-time /etc/pve/priv/lock; date; tail -n 40 /var/log/pve-ha-manager.log'], { timeoutMs: 30_000 }).catch((e: unknown) => ({ stdout: String(e), stderr: '' }));
        return `--- ${n}:\n${r.stdout}${r.stderr}`;
      }),
    );
    return per.join('\n');
  }

  async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${await haDiagnosis()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function sh(node: string, argv: string[], input?: string): Promise<string> {
    const r = await labExec(lab, node, argv, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
    if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(' ')} failed (${r.exitCode}): ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  const status = (node = 'pve3'): Promise<string> => sh(node, ['ha-manager', 'status']);
  /** Wait until the CRM master has written its status `rounds` more times (its timestamp moved on). */
  async function crmRounds(rounds: number): Promise<void> {
    const stamp = async (): Promise<number> => {
      const all = JSON.parse(await sh('pve1', ['pvesh', 'get', '/cluster/ha/status/current', '--output-format', 'json'])) as Array<{ type?: string; timestamp?: number }>;
      return all.find((e) => e.type === 'master')?.timestamp ?? 0;
    };
    let last = await stamp();
    for (let seen = 0; seen < rounds; seen++) {
      const before = last;
      last = await until(`CRM round ${seen + 1} of ${rounds}`, async () => {
        const now = await stamp();
        return now !== before ? now : undefined;
      }, 60_000);
    }
  }
  const qmStatus = async (node: string, id: number): Promise<string> => (await sh(node, ['qm', 'status', String(id)])).trim();

  describe.skipIf(!isRoot)(`the lab's HA stack on PVE ${pve} (${lab})`, () => {
    beforeAll(async () => {
      await labDown(lab, (l) => void log.push(l));
      info = await labUp({ name: lab, nodes: NODES.length, subnet, pveVersions: [pve] }, (l) => void log.push(l));
      for (const n of NODES) await sh(n, ['sh', '-c', 'echo PVX_SIM_TIME_SCALE=0.05 >> /etc/environment']);
      await formClusterWithPvecm(lab, info, NODES);
      await sh('pve1', ['qm', 'create', '100', '--name', 'vm100', '--memory', '512', '--scsi0', 'labshare:1']);
      await sh('pve1', ['qm', 'create', '101', '--name', 'vm101', '--memory', '512', '--scsi0', 'labshare:1']);
    }, 240_000);

    afterAll(async () => {
      await labDown(lab, (l) => void log.push(l));
    });

    it('runs both HA daemons on each clustered node, and a cluster without resources shows only quorum', async () => {
      for (const n of NODES) expect((await sh(n, ['sh', '-c', 'pve-ha-crm status; pve-ha-lrm status'])).trim()).toBe('running\nrunning');
      expect(await status()).toBe(fencing ? 'quorum OK\nfencing standby (CRM watchdog standby)\n' : 'quorum OK\n');
    });

    it('starts a stopped VM added with the default state, a moment after the request', async () => {
      expect(await qmStatus('pve1', 100)).toBe('status: stopped');
      // the command only writes the configuration: with no CRM running nothing acts on it
      for (const n of NODES) await sh(n, ['systemctl', 'stop', 'pve-ha-crm']);
      await sh('pve1', ['ha-manager', 'add', 'vm:100']);
      const right = await sh('pve1', ['sh', '-c', 'ha-manager status; qm status 100']);
      expect(right).toMatch(/^service vm:100 \(pve1, queued\)$/m);
      expect(right).toMatch(/^status: stopped$/m);
      // the CRM takes it up on its own rounds, a second apart
      for (const n of NODES) await sh(n, ['systemctl', 'start', 'pve-ha-crm']);
      const text = await until('vm:100 started', async () => {
        const s = await status();
        return /^service vm:100 \(pve1, started\)$/m.test(s) ? s : undefined;
      });
      // the CRM that got the manager lock first is master; the others stay slaves, trying for it
      const master = /^master (pve\d) \(active, \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\)$/m.exec(text)?.[1] as string;
      expect(NODES).toContain(master);
      expect(await sh(master, ['sh', '-c', 'test -d /etc/pve/priv/lock/ha_manager_lock && echo held'])).toBe('held\n');
      // the master's log has the way there, however quickly the rounds went
      const crmLog = await sh(master, ['cat', '/var/log/pve-ha-manager.log']);
      expect(crmLog).toMatch(/pve-ha-crm\[\d+\]: successfully acquired lock 'ha_manager_lock'$/m);
      expect(crmLog).toMatch(/pve-ha-crm\[\d+\]: status change (wait_for_quorum|slave) => master$/m);
      expect(crmLog).toMatch(/pve-ha-crm\[\d+\]: adding new service 'vm:100' on node 'pve1'$/m);
      expect(crmLog).toMatch(/pve-ha-crm\[\d+\]: service 'vm:100': state changed from 'request_start' to 'started' \(node = pve1\)$/m);
      for (const n of NODES.filter((x) => x !== master)) {
        // since this node's CRM was started again above; its tries for the lock take up to 5 s
        const run = await until(`${n}'s CRM a slave`, async () => {
          const own = await sh(n, ['cat', '/var/log/pve-ha-manager.log']);
          const since = own.slice([...own.matchAll(/pve-ha-crm\[\d+\]: starting server$/gm)].pop()?.index ?? 0);
          return /pve-ha-crm\[\d+\]: status change wait_for_quorum => slave$/m.test(since) ? since : undefined;
        });
        expect(run).not.toMatch(/pve-ha-crm\[\d+\]: status change \w+ => master$/m);
      }
      if (fencing) expect(text).toMatch(/^fencing armed \(CRM watchdog active\)$/m);
      const lrm = fencing ? /^lrm pve1 \(active, watchdog active, .+\)$/m : /^lrm pve1 \(active, \w{3} .+\)$/m;
      expect(text).toMatch(lrm);
      expect(text).toMatch(fencing ? /^lrm pve2 \(idle, watchdog standby, .+\)$/m : /^lrm pve2 \(idle, \w{3} .+\)$/m);
      expect(await qmStatus('pve1', 100)).toBe('status: running');
      const json = JSON.parse(await sh('pve2', ['pvesh', 'get', '/cluster/ha/status/current', '--output-format', 'json'])) as Array<Record<string, unknown>>;
      expect(json.find((e) => e['id'] === 'service:vm:100')).toMatchObject({ state: 'started', crm_state: 'started', node: 'pve1', request_state: 'started' });
      expect(json.find((e) => e['id'] === 'master')).toMatchObject({ node: master, type: 'master' });
    });

    it('keeps a stopped VM added with --state stopped stopped', async () => {
      await sh('pve1', ['ha-manager', 'add', '101', '--state', 'stopped']);
      await until('vm:101 stopped', async () => ((await status()).includes('service vm:101 (pve1, stopped)') ? true : undefined));
      await crmRounds(3);
      expect(await status()).toMatch(/^service vm:101 \(pve1, stopped\)$/m);
      expect(await qmStatus('pve1', 101)).toBe('status: stopped');
    });

    it('migrates an HA VM through the migrate state to started on the target', async () => {
      await sh('pve1', ['ha-manager', 'migrate', 'vm:100', 'pve2']);
      const seen = new Set<string>();
      await until('vm:100 started on pve2', async () => {
        const m = /^service vm:100 \((\S+), ([^)]+)\)$/m.exec(await status());
        if (m) seen.add(`${m[1]} ${m[2]}`);
        return m?.[1] === 'pve2' && m[2] === 'started' ? true : undefined;
      });
      expect(seen).toContain('pve1 migrate');
      expect((await sh('pve2', ['ls', '/etc/pve/nodes/pve2/qemu-server/'])).split('\n')).toContain('100.conf');
      expect(await qmStatus('pve2', 100)).toBe('status: running');
      const tasks = await sh('pve1', ['sh', '-c', 'grep -h "qmigrate:100:" /var/log/pve/tasks/index']);
      expect(tasks).toMatch(/qmigrate:100:root@pam: \S+ OK$/m);
    });

    it('stops a service through crm-command stop and writes the requested state', async () => {
      await sh('pve1', ['ha-manager', 'crm-command', 'stop', 'vm:100', '0']);
      await until('vm:100 stopped', async () => ((await status()).includes('service vm:100 (pve2, stopped)') ? true : undefined));
      expect(await qmStatus('pve2', 100)).toBe('status: stopped');
      expect(await sh('pve1', ['ha-manager', 'config'])).toContain('vm:100\n\tstate stopped\n');
    });

    it('drops a removed service from the status, leaving the guest as it is', async () => {
      await sh('pve1', ['ha-manager', 'remove', 'vm:101']);
      await until('vm:101 gone', async () => (!(await status()).includes('vm:101') ? true : undefined));
      expect(await qmStatus('pve1', 101)).toBe('status: stopped');
    });

    it('keeps both HA daemons running while pve-cluster is stopped and started again (they only want it)', async () => {
      await sh('pve3', ['systemctl', 'stop', 'pve-cluster']);
      expect((await sh('pve3', ['sh', '-c', 'pve-ha-crm status; pve-ha-lrm status'])).trim()).toBe('running\nrunning');
      await sh('pve3', ['systemctl', 'start', 'pve-cluster']);
      expect((await sh('pve3', ['sh', '-c', 'pve-ha-crm status; pve-ha-lrm status'])).trim()).toBe('running\nrunning');
    });
  });
}

haLab('e2eha', '10.77.31.0/24', '9.1.7');
haLab('e2eha8', '10.77.32.0/24', '8.4.11');
