/**
 * A lab node's package database. Nodes share the host's /var/lib/dpkg, which has no PVE packages;
 * a real PVE node's database has them. Each node gets a dpkg admin directory of its own whose
 * `status` is the host's with the node's PVE packages in place of any same-named host package
 * (dpkg refuses two instances of one package), so the real dpkg-query answers on the node.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pveRelease } from './versions.js';

/** The host's package database. */
export const HOST_DPKG_DIR = '/var/lib/dpkg';

/** The packages a node of this PVE version has installed: the `pveversion -v` list, proxmox-ve and pve-manager. */
export function pvePackages(version: string): Map<string, string> {
  const rel = pveRelease(version);
  return new Map([['proxmox-ve', rel.proxmoxVe], ['pve-manager', rel.version], ...rel.packages]);
}

const DEB_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: 'i386' };

/** One installed package's paragraph, with the fields dpkg keeps in its status file. */
function stanza(pkg: string, version: string): string {
  return [
    `Package: ${pkg}`,
    'Status: install ok installed',
    'Priority: optional',
    'Section: admin',
    'Maintainer: Proxmox Support Team <support@proxmox.com>',
    `Architecture: ${DEB_ARCH[process.arch] ?? 'amd64'}`,
    `Version: ${version}`,
    `Description: ${pkg} (Proxmox VE package of a pvx lab node)`,
  ].join('\n');
}

/** The node's status file: the host's paragraphs, less those the node's PVE packages replace, then those. */
export function nodeDpkgStatus(hostStatus: string, packages: ReadonlyMap<string, string>): string {
  const kept = hostStatus
    .split(/\n{2,}/)
    .filter((p) => p.trim() !== '')
    .filter((p) => {
      const name = /^Package: (\S+)$/m.exec(p)?.[1];
      return name === undefined || !packages.has(name);
    });
  return `${[...kept, ...[...packages].map(([p, v]) => stanza(p, v))].join('\n\n')}\n`;
}

/**
 * Make `dir` a dpkg admin directory for a node of `pveVersion` (status written atomically; info and
 * arch from the host; an empty updates journal). Idempotent.
 */
export function writeNodeDpkgDb(dir: string, pveVersion: string, hostDir = HOST_DPKG_DIR): void {
  mkdirSync(path.join(dir, 'updates'), { recursive: true });
  for (const shared of ['info', 'arch']) {
    const link = path.join(dir, shared);
    if (!existsSync(link) && existsSync(path.join(hostDir, shared))) {
      try {
        symlinkSync(path.join(hostDir, shared), link);
      } catch {
        // another call made it first
      }
    }
  }
  const tmp = path.join(dir, `status.${process.pid}`);
  writeFileSync(tmp, nodeDpkgStatus(readFileSync(path.join(hostDir, 'status'), 'utf8'), pvePackages(pveVersion)));
  renameSync(tmp, path.join(dir, 'status'));
}

/** Is the node's status older than the host's database or than the node's identity (its PVE version)? */
export function nodeDpkgDbStale(dir: string, identityFile: string, hostDir = HOST_DPKG_DIR): boolean {
  try {
    const mine = statSync(path.join(dir, 'status')).mtimeMs;
    return mine <= statSync(path.join(hostDir, 'status')).mtimeMs || (existsSync(identityFile) && mine <= statSync(identityFile).mtimeMs);
  } catch {
    return true;
  }
}
