/**
 * Lines of a live migration with local disks, per simulated release. Expected texts are written by
 * hand from qemu-server: src/PVE/QemuMigrate.pm (phase2, timestamped `$self->log` lines) and the
 * block-job code that prints plainly (src/PVE/QemuServer.pm in 8.4.1, src/PVE/QemuServer/BlockJob.pm
 * from 9.0): qemu_drive_mirror / common_mirror_qmp_options, qemu_drive_mirror_monitor,
 * qemu_drive_mirror_switch_to_active_mode; render_bytes/render_duration from pve-common PVE/Format.pm.
 */
import { describe, expect, it } from 'vitest';
import { parseMigrationLog } from '../../../src/pve/parse/index.js';
import { simEnv, type SimEnv } from '../../../src/lab/sim/core/env.js';
import type { Task } from '../../../src/lab/sim/core/task.js';
import { finishMirrors, memoryMigrationCompleted, mirrorDisks, renderDuration } from '../../../src/lab/sim/tools/migrate.js';
import { recordingCtx } from './ctx.js';

const MiB = 1024 * 1024;

function setup(pveVersion: string): { env: SimEnv; task: Task; lines: () => string[] } {
  const r = recordingCtx({ pveVersion });
  // no waiting: the transfer loop still counts its simulated seconds
  r.ctx.env = { ...r.ctx.env, PVX_SIM_TIME_SCALE: '0' };
  let log = '';
  const task: Task = { upid: 'UPID:pve1:00000001:00000001:00000001:qmigrate:100:root@pam:', print: (t) => void (log += t), warn: () => undefined };
  // timestamps vary; what matters is which lines carry one
  const lines = (): string[] => log.replace(/\n$/, '').split('\n').map((l) => l.replace(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} /, '<ts> '));
  return { env: simEnv(r.ctx), task, lines };
}

describe('render_duration', () => {
  it('renders as PVE::Format does', () => {
    expect([0, 4, 62, 3605].map((s) => renderDuration(s))).toEqual(['0s', '4s', '1m 2s', '1h 5s']);
  });
});

describe('storage migration of a running VM', () => {
  it('PVE 8.4: drive-<disk> jobs, block-job lines without a timestamp', async () => {
    const { env, task, lines } = setup('8.4.11');
    expect(await mirrorDisks(env, task, 100, [{ key: 'scsi0', size: 600 * MiB }])).toEqual(['drive-scsi0']);
    expect(lines()).toEqual([
      '<ts> starting storage migration',
      '<ts> scsi0: start migration to nbd:unix:/run/qemu-server/100_nbd.migrate:exportname=drive-scsi0',
      'drive mirror is starting for drive-scsi0',
      'drive-scsi0: transferred 0.0 B of 600.0 MiB (0.00%) in 0s',
      'drive-scsi0: transferred 300.0 MiB of 600.0 MiB (50.00%) in 1s',
      'drive-scsi0: transferred 600.0 MiB of 600.0 MiB (100.00%) in 2s, ready',
      "all 'mirror' jobs are ready",
      '<ts> switching mirror jobs to actively synced mode',
      'drive-scsi0: switching to actively synced mode',
      'drive-scsi0: successfully switched to actively synced mode',
    ]);
  });

  it('names the bandwidth limit KB/s up to qemu-server 9.1.16 and KiB/s from 9.1.17 on', async () => {
    for (const [version, line] of [
      ['8.4.11', 'drive mirror is starting for drive-scsi0 with bandwidth limit: 10240 KB/s'],
      ['9.1.7', 'drive mirror is starting for drive-scsi0 with bandwidth limit: 10240 KB/s'],
      ['9.2.1', 'drive mirror is starting for drive-scsi0 with bandwidth limit: 10240 KiB/s'],
    ] as const) {
      const { env, task, lines } = setup(version);
      await mirrorDisks(env, task, 100, [{ key: 'scsi0', size: 20 * MiB }], 10240);
      expect(lines()[2], version).toBe(line);
    }
  });

  it('PVE 9: mirror-<disk> jobs, every disk monitored on its own', async () => {
    const { env, task, lines } = setup('9.1.7');
    expect(await mirrorDisks(env, task, 101, [{ key: 'virtio1', size: 100 * MiB }, { key: 'scsi0', size: 100 * MiB }])).toEqual(['mirror-scsi0', 'mirror-virtio1']);
    expect(lines()).toEqual([
      '<ts> starting storage migration',
      '<ts> virtio1: start migration to nbd:unix:/run/qemu-server/101_nbd.migrate:exportname=drive-virtio1',
      'drive mirror is starting for drive-virtio1',
      'mirror-virtio1: transferred 0.0 B of 100.0 MiB (0.00%) in 0s',
      'mirror-virtio1: transferred 100.0 MiB of 100.0 MiB (100.00%) in 1s, ready',
      "all 'mirror' jobs are ready",
      '<ts> scsi0: start migration to nbd:unix:/run/qemu-server/101_nbd.migrate:exportname=drive-scsi0',
      'drive mirror is starting for drive-scsi0',
      'mirror-scsi0: transferred 0.0 B of 100.0 MiB (0.00%) in 0s',
      'mirror-scsi0: transferred 100.0 MiB of 100.0 MiB (100.00%) in 1s, ready',
      "all 'mirror' jobs are ready",
      '<ts> switching mirror jobs to actively synced mode',
      'mirror-scsi0: switching to actively synced mode',
      'mirror-virtio1: switching to actively synced mode',
      'mirror-scsi0: successfully switched to actively synced mode',
      'mirror-virtio1: successfully switched to actively synced mode',
    ]);
  });

  it('completes the jobs after the RAM: cancel round, then each job reported finished', () => {
    const { task, lines } = setup('9.1.7');
    finishMirrors(task, ['mirror-scsi0', 'mirror-virtio1']);
    expect(lines()).toEqual([
      "all 'mirror' jobs are ready",
      'mirror-scsi0: Completing block job...',
      'mirror-scsi0: Completed successfully.',
      'mirror-virtio1: Completing block job...',
      'mirror-virtio1: Completed successfully.',
      'mirror-scsi0: mirror-job finished',
      'mirror-virtio1: mirror-job finished',
    ]);
  });
});

describe('end of the RAM transfer', () => {
  for (const version of ['8.4.11', '9.1.7']) {
    it(`PVE ${version} (qemu-server >= 8.3.9) logs the transfer summary`, () => {
      const { env, task, lines } = setup(version);
      memoryMigrationCompleted(env, task, 2048 * MiB, 4, 73);
      expect(lines()).toEqual([
        '<ts> average migration speed: 512.0 MiB/s - downtime 73 ms',
        '<ts> migration completed, transferred 2.0 GiB VM-state',
        '<ts> migration status: completed',
      ]);
    });
  }
});

describe("pvx's migration log reader on these lines", () => {
  it('reads a PVE 9 live migration with local disks as a success', () => {
    const log = [
      '2026-12-05 10:00:00 starting migration of VM 101 to node \'pve2\' (10.88.3.12)',
      "2026-12-05 10:00:00 found local disk 'local-lvm:vm-101-disk-0' (attached)",
      "2026-12-05 10:00:00 starting VM 101 on remote node 'pve2'",
      '2026-12-05 10:00:02 start remote tunnel',
      '2026-12-05 10:00:02 ssh tunnel ver 1',
      '2026-12-05 10:00:02 starting storage migration',
      '2026-12-05 10:00:02 scsi0: start migration to nbd:unix:/run/qemu-server/101_nbd.migrate:exportname=drive-scsi0',
      'drive mirror is starting for drive-scsi0 with bandwidth limit: 10240 KiB/s',
      'mirror-scsi0: transferred 0.0 B of 100.0 MiB (0.00%) in 0s',
      'mirror-scsi0: transferred 100.0 MiB of 100.0 MiB (100.00%) in 10s, ready',
      "all 'mirror' jobs are ready",
      '2026-12-05 10:00:12 switching mirror jobs to actively synced mode',
      'mirror-scsi0: switching to actively synced mode',
      'mirror-scsi0: successfully switched to actively synced mode',
      '2026-12-05 10:00:12 starting online/live migration on unix:/run/qemu-server/101.migrate',
      '2026-12-05 10:00:13 average migration speed: 512.0 MiB/s - downtime 73 ms',
      '2026-12-05 10:00:13 migration completed, transferred 512.0 MiB VM-state',
      '2026-12-05 10:00:13 migration status: completed',
      "all 'mirror' jobs are ready",
      'mirror-scsi0: Completing block job...',
      'mirror-scsi0: Completed successfully.',
      'mirror-scsi0: mirror-job finished',
      '2026-12-05 10:00:14 stopping NBD storage migration server on target.',
      '2026-12-05 10:00:15 migration finished successfully (duration 00:00:15)',
      '',
    ].join('\n');
    expect(parseMigrationLog(log)).toMatchObject({
      outcome: 'success',
      guestType: 'vm',
      vmid: 101,
      target: 'pve2',
      duration: '00:00:15',
      durationSec: 15,
      errors: [],
      firstTimestamp: '2026-12-05 10:00:00',
      lastTimestamp: '2026-12-05 10:00:15',
    });
  });
});
