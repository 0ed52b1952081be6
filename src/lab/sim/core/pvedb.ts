/** Contents of a pmxcfs database directory: the base files of a fresh node and its certificate. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeIdentity } from '../../layout.js';
import { run } from './exec.js';

/** The storage.cfg of a fresh lab node: PVE's installer defaults (LVM-thin and ZFS) plus a shared NFS storage. */
export function defaultStorageCfg(node: NodeIdentity): string {
  const server = node.address.replace(/\.\d+$/, '.1');
  return (
    'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\n' +
    'lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n\n' +
    // what the installer writes for a ZFS root (pve-installer Proxmox/Install.pm): the pool's data dataset
    'zfspool: local-zfs\n\tpool rpool/data\n\tsparse\n\tcontent images,rootdir\n\n' +
    `nfs: labshare\n\texport /export/labshare\n\tpath /mnt/pve/labshare\n\tserver ${server}\n\tcontent images,rootdir\n\n`
  );
}

/** SHA-256 fingerprint of the first certificate of a PEM file, as `AA:BB:…`. */
export function pemFingerprint(pem: string): string | undefined {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) return undefined;
  const der = Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64');
  return createHash('sha256')
    .update(der)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

function pemArmor(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** A node certificate and key (openssl when present; otherwise an opaque stand-in with a stable fingerprint). */
export async function makeNodeCert(nodeName: string, address: string, dir: string): Promise<{ pem: string; key: string }> {
  const keyFile = path.join(dir, `.pvx-cert-${process.pid}.key`);
  const pemFile = path.join(dir, `.pvx-cert-${process.pid}.pem`);
  const r = await run(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', pemFile, '-days', '730',
      '-subj', `/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=${nodeName}.lab`,
      '-addext', `subjectAltName=IP:127.0.0.1,IP:${address},DNS:localhost,DNS:${nodeName}`,
    ],
    { timeoutMs: 20_000 },
  );
  try {
    if (r.exitCode === 0) return { pem: readFileSync(pemFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } finally {
    for (const f of [keyFile, pemFile]) rmSync(f, { force: true });
  }
  return { pem: pemArmor('CERTIFICATE', randomBytes(512)), key: pemArmor('PRIVATE KEY', randomBytes(121)) };
}

function writeIfMissing(file: string, data: string, mode = 0o640): void {
  if (!existsSync(file)) writeFileSync(file, data, { mode });
}

/** gen_local_dirs: the directories every node has in the database. */
export function genLocalDirs(db: string, nodeName: string): void {
  for (const d of ['priv', 'nodes', `nodes/${nodeName}`, `nodes/${nodeName}/lxc`, `nodes/${nodeName}/qemu-server`, `nodes/${nodeName}/openvz`, `nodes/${nodeName}/priv`]) {
    mkdirSync(path.join(db, d), { recursive: true });
  }
}

/** Write a fresh node certificate into the database (gen_pve_ssl_cert). */
export async function genNodeCert(db: string, node: NodeIdentity, nodeName = node.name, address = node.address): Promise<void> {
  const dir = path.join(db, 'nodes', nodeName);
  mkdirSync(dir, { recursive: true });
  const c = await makeNodeCert(nodeName, address, dir);
  writeFileSync(path.join(dir, 'pve-ssl.key'), c.key, { mode: 0o640 });
  writeFileSync(path.join(dir, 'pve-ssl.pem'), c.pem, { mode: 0o640 });
}

/** Every file a database needs for this node; existing files are kept. */
export async function ensureBaseFiles(db: string, node: NodeIdentity): Promise<void> {
  genLocalDirs(db, node.name);
  mkdirSync(path.join(db, 'priv', 'lock'), { recursive: true });
  mkdirSync(path.join(db, 'ha'), { recursive: true });
  writeIfMissing(path.join(db, 'storage.cfg'), defaultStorageCfg(node));
  writeIfMissing(path.join(db, 'datacenter.cfg'), 'keyboard: en-us\n');
  writeIfMissing(path.join(db, 'user.cfg'), `user:root@pam:1:0:::root@${node.name}.lab::\n\n`);
  writeIfMissing(path.join(db, 'priv', 'authorized_keys'), '', 0o600);
  writeIfMissing(path.join(db, 'authkey.pub'), '');
  if (!existsSync(path.join(db, 'nodes', node.name, 'pve-ssl.pem'))) await genNodeCert(db, node);
  // under a test root the folder is one node's only: its `local` may be a plain relative link
  const local = path.join(db, 'local');
  let isLink = false;
  try {
    isLink = lstatSync(local).isSymbolicLink();
  } catch {
    isLink = false;
  }
  if (!isLink && !existsSync(local)) symlinkSync(`nodes/${node.name}`, local);
}
