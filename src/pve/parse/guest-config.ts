/**
 * `qm config <vmid>` / `pct config <vmid>`: `key: value` lines of the current configuration (the
 * same lines as nodes/<node>/qemu-server/<vmid>.conf before its first `[section]`), and the
 * storage volumes, bind mounts, host drives and host devices in it that decide whether and how a
 * guest migrates.
 */
import { ParseError } from './errors.js';
import { requireText, splitLines } from './text.js';

/** One storage reference of a guest (disk, root filesystem, mount point, unused disk, CD-ROM). */
export interface GuestVolumeRef {
  /** the config key: scsi0, efidisk0, rootfs, mp1, unused0, ide2 ... */
  key: string;
  /** `<storage>:<volume>` */
  volid: string;
  storage: string;
  cdrom: boolean;
  /**
   * a cloud-init drive (a CD-ROM whose volume is `vm-<id>-cloudinit`): PVE generates it, and a
   * migration copies it as a generated volume instead of refusing it as a local CD-ROM image
   */
  cloudinit: boolean;
  /** unusedN entries: not attached, still copied by a migration */
  unused: boolean;
}

/** A VM drive that is not a storage volume: a host path (`scsi0: /dev/sdb`) or the host's CD drive (`ide2: cdrom`). */
export interface HostDriveRef {
  key: string;
  /** the absolute path, or `cdrom` for the host's CD drive */
  source: string;
  /** `shared=1`: the admin declares the path the same on every node, and PVE then migrates it as it is */
  shared: boolean;
  /** `media=cdrom` */
  cdrom: boolean;
}

/** What a migration needs to know about a guest's configuration. */
export interface GuestConfigFacts {
  entries: Map<string, string>;
  volumes: GuestVolumeRef[];
  /** container mount points backed by a host path or device (`mp0: /srv/data,mp=/data`) */
  bindMounts: Array<{ key: string; source: string }>;
  /** VM drives given as a host path or the host's CD drive, which stay on their node */
  hostDrives: HostDriveRef[];
  /** VM passthrough devices (hostpciN, usbN with host=): they pin a running VM to its node */
  hostDevices: string[];
}

const TOOL = 'qm/pct config';
const QEMU_VOLUME = /^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$|^unused\d+$/;
const LXC_VOLUME = /^rootfs$|^mp\d+$|^unused\d+$/;
/** How qemu-server's migration tells a cloud-init drive from other CD-ROM images (PVE/QemuMigrate.pm). */
const CLOUDINIT_VOLUME = /vm-\d+-cloudinit/;
/** PVE's boolean spellings for the `shared` drive option. */
const SHARED_ON = /^shared=(1|on|yes|true)$/i;

/** Parse `qm config` / `pct config` output; lines after a `[section]` header are not the current config. */
export function parseGuestConfig(type: 'qemu' | 'lxc', text: string): GuestConfigFacts {
  const entries = new Map<string, string>();
  for (const line of splitLines(requireText(TOOL, text))) {
    if (line.startsWith('[')) break;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = /^([a-z][a-z0-9_.-]*):\s?(.*)$/i.exec(line);
    if (!m) throw new ParseError(TOOL, 'expected `key: value` lines', line);
    entries.set(m[1] ?? '', (m[2] ?? '').trim());
  }
  const facts: GuestConfigFacts = { entries, volumes: [], bindMounts: [], hostDrives: [], hostDevices: [] };
  const volumeKey = type === 'qemu' ? QEMU_VOLUME : LXC_VOLUME;
  for (const [key, value] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (type === 'qemu' && (/^hostpci\d+$/.test(key) || (/^usb\d+$/.test(key) && /(^|,)host=/.test(value)))) {
      facts.hostDevices.push(key);
      continue;
    }
    if (!volumeKey.test(key)) continue;
    const parts = value.split(',');
    const first = parts[0] ?? '';
    const named = (name: string) => parts.find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);
    const source = first.includes('=') ? (named(type === 'qemu' ? 'file' : 'volume') ?? '') : first;
    const cdrom = parts.includes('media=cdrom');
    if (source === '' || source === 'none') continue;
    if (source.startsWith('/') || source === 'cdrom') {
      if (type === 'lxc') {
        if (source !== 'cdrom') facts.bindMounts.push({ key, source });
      } else facts.hostDrives.push({ key, source, shared: parts.some((p) => SHARED_ON.test(p)), cdrom });
      continue;
    }
    const colon = source.indexOf(':');
    if (colon <= 0) continue;
    const cloudinit = cdrom && CLOUDINIT_VOLUME.test(source);
    facts.volumes.push({ key, volid: source, storage: source.slice(0, colon), cdrom, cloudinit, unused: key.startsWith('unused') });
  }
  return facts;
}
