/** Guest configuration files (nodes/<node>/qemu-server/<vmid>.conf, lxc/<vmid>.conf). */

/** A parsed guest config: the current section and any further `[name]` sections kept verbatim. */
export interface GuestConfig {
  /** `description` holds the leading `#` comment lines */
  conf: Record<string, string>;
  /** raw text from the first `[section]` on (snapshots, pending, cloud-init state) */
  tail: string;
}

/** Parse a guest config file. */
export function parseGuestConfig(text: string): GuestConfig {
  const conf: Record<string, string> = {};
  const descr: string[] = [];
  const lines = text.split('\n');
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\[/.test(line)) break;
    if (line.startsWith('#')) {
      descr.push(line.slice(1));
      continue;
    }
    const m = /^([a-z][a-z0-9_.-]*):\s*(.*?)\s*$/i.exec(line);
    if (m) conf[m[1] ?? ''] = m[2] ?? '';
  }
  if (descr.length > 0) conf['description'] = descr.join('\n');
  return { conf, tail: lines.slice(i).join('\n') };
}

/** Write a guest config like write_vm_config: description as comments, then keys sorted. */
export function writeGuestConfig(g: GuestConfig): string {
  let raw = '';
  const d = g.conf['description'];
  if (d !== undefined) for (const l of d.split('\n')) raw += `#${l}\n`;
  for (const k of Object.keys(g.conf).sort()) {
    if (k === 'description' || k === 'digest') continue;
    raw += `${k}: ${g.conf[k]}\n`;
  }
  if (g.tail.trim() !== '') raw += `\n${g.tail.replace(/^\n+/, '')}`;
  return raw;
}

/** Parse `key=value,…` with an optional leading default-key value (drive and net options). */
export function parsePropList(value: string, defaultKey?: string): Record<string, string> {
  const out: Record<string, string> = {};
  value.split(',').forEach((part, idx) => {
    if (part === '') return;
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (idx === 0 && defaultKey) out[defaultKey] = part;
      else out[part] = '1';
    } else {
      out[part.slice(0, eq)] = part.slice(eq + 1);
    }
  });
  return out;
}

/** Size text of a volume (`32G`) to bytes. */
export function sizeToBytes(size: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/i.exec(size);
  if (!m) return 0;
  const mult: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
  return Math.round(Number(m[1]) * (mult[(m[2] ?? '').toUpperCase()] ?? 1));
}
