import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveGuests, archiveHasDatabase, compareGuests, describeChange, describeDifference, guestContentsArgv, ofNode, parseGuestContents, GuestListingError } from '../../../src/workflows/cluster/restore-guests.js';
import { putDatabaseArgv } from '../../../src/workflows/cluster/restore-plan.js';
import { makeArchive } from '../../helpers/backup-archive.js';
import { tmpDir } from '../../helpers/tmp.js';

const VM100 = 'boot: order=scsi0\ncores: 2\nmemory: 2048\nname: web\nscsi0: local-lvm:vm-100-disk-0,size=32G\n';
const CT101 = 'arch: amd64\nhostname: dns\nmemory: 512\nrootfs: local-lvm:vm-101-disk-0,size=8G\n';

describe('guest configurations around a restore', () => {
  it('the listing script runs on a real folder tree: every VM and CT config of every node, nothing else', () => {
    const root = tmpDir('pvx-guests-');
    const files: Record<string, string> = {
      'pve1/qemu-server/100.conf': VM100,
      'pve1/lxc/101.conf': CT101,
      'pve2/qemu-server/200.conf': '',
      'pve2/lrm_status': '{}',
      'pve2/qemu-server/notes.txt': 'x',
    };
    for (const [f, c] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      writeFileSync(path.join(root, f), c);
    }
    // the script reads /etc/pve/nodes: run it with that path pointed at the tree
    const script = (guestContentsArgv()[2] ?? '').replace('/etc/pve/nodes', root);
    const out = execFileSync('sh', ['-c', script, 'sh']).toString();
    const got = parseGuestContents(out);
    expect([...got.keys()].sort()).toEqual(['pve1/lxc/101.conf', 'pve1/qemu-server/100.conf', 'pve2/qemu-server/200.conf']);
    expect(got.get('pve1/qemu-server/100.conf')?.content.toString()).toBe(VM100);
    expect(got.get('pve2/qemu-server/200.conf')?.content.length).toBe(0);
    expect(ofNode(got, 'pve2').size).toBe(1);
  });

  it('fails with exit code 3 when /etc/pve/nodes is not there (pmxcfs not mounted), instead of listing nothing', () => {
    const script = (guestContentsArgv()[2] ?? '').replace('/etc/pve/nodes', '/nonexistent/pvx-test');
    const r = spawnSync('sh', ['-c', script, 'sh'], { encoding: 'utf8' });
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('/nonexistent/pvx-test is not there: pmxcfs is not mounted\n');
  });

  it('refuses a listing line of another shape', () => {
    expect(() => parseGuestContents('pve1/qemu-server/100.conf Ym9vdA==\nsh: 1: base64: not found\n')).toThrow(GuestListingError);
    expect(() => parseGuestContents('pve1/qemu-server/abc.conf Ym9vdA==\n')).toThrow(GuestListingError);
  });

  it('reads the guests and the database of a backup archive', () => {
    const gz = makeArchive({ 'etc/pve/nodes/pve1/qemu-server/100.conf': VM100, 'etc/pve/nodes/pve2/lxc/101.conf': CT101, 'etc/pve/nodes/pve2/lrm_status': '{}', 'etc/corosync/authkey': 'k' });
    expect([...archiveGuests(gz).keys()].sort()).toEqual(['pve1/qemu-server/100.conf', 'pve2/lxc/101.conf']);
    expect(archiveHasDatabase(gz)).toBe(false);
    expect(archiveHasDatabase(makeArchive({ 'var/lib/pve-cluster/config.db': 'SQLite format 3\u0000' }))).toBe(true);
  });

  it('names created, changed and removed guests, and says which differ', () => {
    const now = parseGuestContents(
      [`pve1/qemu-server/100.conf ${Buffer.from(VM100.replace('2048', '4096')).toString('base64')}`, `pve1/qemu-server/105.conf ${Buffer.from('name: new\n').toString('base64')}`].join('\n'),
    );
    const backup = parseGuestContents([`pve1/qemu-server/100.conf ${Buffer.from(VM100).toString('base64')}`, `pve1/lxc/101.conf ${Buffer.from(CT101).toString('base64')}`].join('\n'));
    const diff = compareGuests(now, backup);
    expect(diff).toEqual([
      { node: 'pve1', type: 'qemu', vmid: 100, change: 'changed' },
      { node: 'pve1', type: 'lxc', vmid: 101, change: 'removed' },
      { node: 'pve1', type: 'qemu', vmid: 105, change: 'created' },
    ]);
    expect(diff.map(describeChange)).toEqual(['VM 100 (changed since the backup)', 'CT 101 (removed since the backup)', 'VM 105 (created since the backup)']);
    expect(describeDifference(now, backup)).toBe('CT 101 missing, VM 105 unexpected, VM 100 differs');
    expect(compareGuests(backup, backup)).toEqual([]);
  });

  it('the database script keeps the node\'s own database once, then puts the backup\'s in place or clears it', () => {
    const root = tmpDir('pvx-db-');
    const lib = path.join(root, 'var/lib/pve-cluster');
    mkdirSync(lib, { recursive: true });
    writeFileSync(path.join(lib, 'config.db'), 'own');
    writeFileSync(path.join(lib, 'config.db-wal'), 'own-wal');
    const archive = path.join(root, 'a.tar.gz');
    writeFileSync(archive, makeArchive({ 'var/lib/pve-cluster/config.db': 'from-backup' }));
    const argv = putDatabaseArgv('backup', archive, 'prod-20260101T000000Z');
    // the script works on /var/lib/pve-cluster and extracts to /: point both at the scratch root
    const script = (argv[2] ?? '').replaceAll('/var/lib/pve-cluster', lib).replace('-C /', `-C ${root}`);
    const keep = path.join(root, 'kept');
    const run = (mode: string) => execFileSync('sh', ['-c', script, 'sh', mode, archive, keep]).toString();
    expect(run('backup')).toBe(`kept ${keep}\nrestored ${lib}/config.db\n`);
    expect(execFileSync('cat', [path.join(lib, 'config.db'), path.join(keep, 'config.db'), path.join(keep, 'config.db-wal')]).toString()).toBe('from-backupownown-wal');
    expect(() => execFileSync('test', ['-e', path.join(lib, 'config.db-wal')])).toThrow();
    // a second run (after an interruption) leaves the kept copy alone
    expect(run('cluster')).toBe(`cleared ${lib}/config.db\n`);
    expect(execFileSync('cat', [path.join(keep, 'config.db')]).toString()).toBe('own');
    expect(() => execFileSync('test', ['-e', path.join(lib, 'config.db')])).toThrow();
  });
});
