/**
 * The package versions of a simulated PVE release (reference version map and the two real
 * `pveversion -v` listings, 8.4.11 and 9.1.7); other releases are derived from the nearest one.
 */
import { createHash } from 'node:crypto';

/** What depends on the simulated release. */
export interface PveRelease {
  version: string;
  major: number;
  minor: number;
  patch: number;
  repoid: string;
  kernel: string;
  /** `package: version` pairs in `pveversion -v` order, without the first two lines */
  packages: Array<[string, string]>;
  proxmoxVe: string;
}

const PVE8_4_11: Array<[string, string]> = [
  ['proxmox-kernel-helper', '8.1.4'],
  ['proxmox-kernel-6.8.12-13-pve-signed', '6.8.12-13'],
  ['proxmox-kernel-6.8', '6.8.12-13'],
  ['proxmox-kernel-6.8.12-11-pve-signed', '6.8.12-11'],
  ['proxmox-kernel-6.8.4-2-pve-signed', '6.8.4-2'],
  ['ceph', '18.2.7-pve1'],
  ['ceph-fuse', '18.2.7-pve1'],
  ['corosync', '3.1.9-pve1'],
  ['criu', '3.17.1-2+deb12u1'],
  ['glusterfs-client', '10.3-5'],
  ['ifupdown2', '3.2.0-1+pmx11'],
  ['ksm-control-daemon', '1.5-1'],
  ['libjs-extjs', '7.0.0-5'],
  ['libknet1', '1.30-pve2'],
  ['libproxmox-acme-perl', '1.6.0'],
  ['libproxmox-backup-qemu0', '1.5.2'],
  ['libproxmox-rs-perl', '0.3.5'],
  ['libpve-access-control', '8.2.2'],
  ['libpve-apiclient-perl', '3.3.2'],
  ['libpve-cluster-api-perl', '8.1.2'],
  ['libpve-cluster-perl', '8.1.2'],
  ['libpve-common-perl', '8.3.4'],
  ['libpve-guest-common-perl', '5.2.2'],
  ['libpve-http-server-perl', '5.2.2'],
  ['libpve-network-perl', '0.11.2'],
  ['libpve-rs-perl', '0.9.4'],
  ['libpve-storage-perl', '8.3.7'],
  ['libspice-server1', '0.15.1-1'],
  ['lvm2', '2.03.16-2'],
  ['lxc-pve', '6.0.0-1'],
  ['lxcfs', '6.0.0-pve2'],
  ['novnc-pve', '1.6.0-2'],
  ['proxmox-backup-client', '3.4.6-1'],
  ['proxmox-backup-file-restore', '3.4.6-1'],
  ['proxmox-backup-restore-image', '0.7.0'],
  ['proxmox-firewall', '0.7.1'],
  ['proxmox-kernel-helper', '8.1.4'],
  ['proxmox-mail-forward', '0.3.3'],
  ['proxmox-mini-journalreader', '1.5'],
  ['proxmox-offline-mirror-helper', '0.6.7'],
  ['proxmox-widget-toolkit', '4.3.13'],
  ['pve-cluster', '8.1.2'],
  ['pve-container', '5.3.0'],
  ['pve-docs', '8.4.1'],
  ['pve-edk2-firmware', '4.2025.02-4~bpo12+1'],
  ['pve-esxi-import-tools', '0.7.4'],
  ['pve-firewall', '5.1.2'],
  ['pve-firmware', '3.16-3'],
  ['pve-ha-manager', '4.0.7'],
  ['pve-i18n', '3.4.5'],
  ['pve-qemu-kvm', '9.2.0-7'],
  ['pve-xtermjs', '5.5.0-2'],
  ['qemu-server', '8.4.1'],
  ['smartmontools', '7.3-pve1'],
  ['spiceterm', '3.3.0'],
  ['swtpm', '0.8.0+pve1'],
  ['vncterm', '1.8.0'],
  ['zfsutils-linux', '2.2.8-pve1'],
];

const PVE9_1_7: Array<[string, string]> = [
  ['proxmox-kernel-helper', '9.0.4'],
  ['proxmox-kernel-6.17', '6.17.13-2'],
  ['proxmox-kernel-6.17.13-2-pve-signed', '6.17.13-2'],
  ['proxmox-kernel-6.17.13-1-pve-signed', '6.17.13-1'],
  ['proxmox-kernel-6.17.9-1-pve-signed', '6.17.9-1'],
  ['proxmox-kernel-6.17.4-2-pve-signed', '6.17.4-2'],
  ['proxmox-kernel-6.17.2-1-pve-signed', '6.17.2-1'],
  ['ceph-fuse', '19.2.3-pve2'],
  ['corosync', '3.1.10-pve2'],
  ['criu', '4.1.1-1'],
  ['frr-pythontools', '10.4.1-1+pve1'],
  ['ifupdown2', '3.3.0-1+pmx12'],
  ['intel-microcode', '3.20251111.1~deb13u1'],
  ['ksm-control-daemon', '1.5-1'],
  ['libjs-extjs', '7.0.0-5'],
  ['libproxmox-acme-perl', '1.7.1'],
  ['libproxmox-backup-qemu0', '2.0.2'],
  ['libproxmox-rs-perl', '0.4.1'],
  ['libpve-access-control', '9.0.6'],
  ['libpve-apiclient-perl', '3.4.2'],
  ['libpve-cluster-api-perl', '9.1.1'],
  ['libpve-cluster-perl', '9.1.1'],
  ['libpve-common-perl', '9.1.9'],
  ['libpve-guest-common-perl', '6.0.2'],
  ['libpve-http-server-perl', '6.0.5'],
  ['libpve-network-perl', '1.2.5'],
  ['libpve-rs-perl', '0.11.4'],
  ['libpve-storage-perl', '9.1.1'],
  ['libspice-server1', '0.15.2-1+b1'],
  ['lvm2', '2.03.31-2+pmx1'],
  ['lxc-pve', '6.0.5-4'],
  ['lxcfs', '6.0.4-pve1'],
  ['novnc-pve', '1.6.0-3'],
  ['proxmox-backup-client', '4.1.5-1'],
  ['proxmox-backup-file-restore', '4.1.5-1'],
  ['proxmox-backup-restore-image', '1.0.0'],
  ['proxmox-firewall', '1.2.1'],
  ['proxmox-kernel-helper', '9.0.4'],
  ['proxmox-mail-forward', '1.0.2'],
  ['proxmox-mini-journalreader', '1.6'],
  ['proxmox-offline-mirror-helper', '0.7.3'],
  ['proxmox-widget-toolkit', '5.1.9'],
  ['pve-cluster', '9.1.1'],
  ['pve-container', '6.1.2'],
  ['pve-docs', '9.1.2'],
  ['pve-edk2-firmware', '4.2025.05-2'],
  ['pve-esxi-import-tools', '1.0.1'],
  ['pve-firewall', '6.0.4'],
  ['pve-firmware', '3.18-2'],
  ['pve-ha-manager', '5.1.3'],
  ['pve-i18n', '3.7.0'],
  ['pve-qemu-kvm', '10.1.2-7'],
  ['pve-xtermjs', '5.5.0-3'],
  ['qemu-server', '9.1.6'],
  ['smartmontools', '7.4-pve1'],
  ['spiceterm', '3.4.1'],
  ['swtpm', '0.8.0+pve3'],
  ['vncterm', '1.9.1'],
  ['zfsutils-linux', '2.4.1-pve1'],
];

const REPOIDS: Record<string, string> = {
  '8.4.11': '14a32011146091ed',
  '9.1.7': '16b139a017452f16',
  '9.0.6': '49c767b70aeb6648',
};

/** The releases whose `pveversion` the lab reproduces exactly (others are derived from the nearest one). */
export const KNOWN_PVE_RELEASES: readonly string[] = Object.keys(REPOIDS).sort(compareVersions);

/** Version overrides per release line (reference version map; interpolated cells). */
const OVERRIDES: Record<string, Record<string, string>> = {
  '9.0': {
    'pve-ha-manager': '5.0.5',
    corosync: '3.1.9-pve2',
    'pve-cluster': '9.0.6',
    'libpve-cluster-perl': '9.0.6',
    'libpve-cluster-api-perl': '9.0.6',
    'qemu-server': '9.0.23',
    'pve-container': '6.0.13',
  },
  '9.1-early': { 'pve-ha-manager': '5.0.8', corosync: '3.1.9-pve2', 'qemu-server': '9.1.0', 'pve-container': '6.0.18' },
  '9.2': {
    'pve-ha-manager': '5.2.4',
    corosync: '3.1.10-pve2',
    'pve-cluster': '9.1.6',
    'libpve-cluster-perl': '9.1.6',
    'libpve-cluster-api-perl': '9.1.6',
    'qemu-server': '9.2.6',
    'pve-container': '6.1.10',
  },
};

function parseVersion(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v);
  return [Number(m?.[1] ?? 8), Number(m?.[2] ?? 4), Number(m?.[3] ?? 0)];
}

/** Compare dotted/Debian-ish versions numerically, field by field. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.\-+~]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  const pb = b.split(/[.\-+~]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/** Everything version-dependent of the release `version` (e.g. "8.4.11", "9.1.7"). */
export function pveRelease(version: string): PveRelease {
  const [major, minor, patch] = parseVersion(version);
  const repoid = REPOIDS[version] ?? createHash('sha1').update(`pve-manager/${version}`).digest('hex').slice(0, 16);
  if (major < 9) {
    return { version, major, minor, patch, repoid, kernel: '6.8.12-13-pve', packages: PVE8_4_11, proxmoxVe: `${major}.${minor}.0` };
  }
  let key: string | undefined;
  if (minor === 0) key = '9.0';
  else if (minor === 1 && patch < 5) key = '9.1-early';
  else if (minor >= 2) key = '9.2';
  const over = key ? (OVERRIDES[key] ?? {}) : {};
  const packages = PVE9_1_7.map(([p, v]): [string, string] => [p, over[p] ?? v]);
  const kernel = minor === 0 ? '6.14.8-2-pve' : '6.17.13-2-pve';
  let list = packages;
  if (minor === 0) {
    const kernels: Array<[string, string]> = [
      ['proxmox-kernel-helper', '9.0.3'],
      ['proxmox-kernel-6.14.8-2-pve-signed', '6.14.8-2'],
      ['proxmox-kernel-6.14', '6.14.8-2'],
    ];
    const firstOther = packages.findIndex(([p]) => !p.startsWith('proxmox-kernel-'));
    list = [...kernels, ...packages.slice(firstOther).map(([p, v]): [string, string] => [p, p === 'proxmox-kernel-helper' ? '9.0.3' : v])];
  }
  return { version, major, minor, patch, repoid, kernel, packages: list, proxmoxVe: `${major}.${minor}.0` };
}

/** Version of one package of a release. */
export function packageVersion(rel: PveRelease, pkg: string): string | undefined {
  return rel.packages.find(([p]) => p === pkg)?.[1];
}

/** pve-ha-manager >= 5.1.3 prints the `fencing` line and the LRM watchdog state. */
export function haHasFencing(rel: PveRelease): boolean {
  return compareVersions(packageVersion(rel, 'pve-ha-manager') ?? '0', '5.1.3') >= 0;
}

/**
 * pve-ha-manager >= 5.0.7 has `ha-manager remove --purge` (default 1), which also drops the resource
 * from HA rules; before, the ID stays in rules.cfg (debian/changelog 5.0.7, PVE/HA/Config.pm
 * delete_service_from_config).
 */
export function haRemovePurgesRules(rel: PveRelease): boolean {
  return compareVersions(packageVersion(rel, 'pve-ha-manager') ?? '0', '5.0.7') >= 0;
}

/** Is `pkg` of the release at least `version`? */
export function packageAtLeast(rel: PveRelease, pkg: string, version: string): boolean {
  return compareVersions(packageVersion(rel, pkg) ?? '0', version) >= 0;
}

/** pve-cluster >= 9.1.0 knows `--token-coefficient`. */
export function clusterHasTokenCoefficient(rel: PveRelease): boolean {
  return compareVersions(packageVersion(rel, 'pve-cluster') ?? '0', '9.1.0') >= 0;
}

/** QEMU version recorded in new VM configs (`meta: creation-qemu=…`). */
export function qemuVersion(rel: PveRelease): string {
  return (packageVersion(rel, 'pve-qemu-kvm') ?? '9.2.0-1').replace(/-.*$/, '');
}
