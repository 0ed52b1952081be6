/**
 * The status side of one pmxcfs daemon (pve-cluster src/pmxcfs/status.c and logger.c): the
 * memberlist version counter, the node addresses the members announced, the RRD entries received in
 * the last five minutes and the cluster log. All of it lives in the daemon's memory only, as in
 * pmxcfs: a restarted daemon starts again from version 0 and a log with its own start entry.
 */

/** One cluster log entry (logger.h clog_entry_t, the fields clog_dump_json prints). */
export interface ClogEntry {
  uid: number;
  time: number;
  pri: number;
  tag: string;
  pid: number;
  node: string;
  user: string;
  msg: string;
}

/** One RRD entry: pvestatd's data string and when this daemon received it (status.c rrdentry_t). */
export interface RrdEntry {
  key: string;
  data: string;
  time: number;
}

const FNV1A_64_INIT = 0xcbf29ce484222325n;
const MASK64 = (1n << 64n) - 1n;

/** logger.c fnv_64a_buf (64-bit FNV-1a from the usual offset basis). */
export function fnv64aBuf(buf: Uint8Array): bigint {
  let h = FNV1A_64_INIT;
  for (const b of buf) {
    h ^= BigInt(b);
    h = (h + (h << 1n) + (h << 4n) + (h << 5n) + (h << 7n) + (h << 8n) + (h << 40n)) & MASK64;
  }
  return h;
}

/** The digest pmxcfs keeps per node name: fnv_64a_buf over the name and its terminating NUL. */
export function fnv64a(s: string): bigint {
  return fnv64aBuf(Buffer.concat([Buffer.from(s, 'latin1'), Buffer.alloc(1)]));
}

/** clog_entry_sort_fn, with its C arithmetic: differences truncated to a signed 32-bit int. */
export function clogCompare(a: ClogEntry, b: ClogEntry): number {
  const int32 = (x: bigint): number => Number(BigInt.asIntN(32, x));
  if (a.time !== b.time) return int32(BigInt(a.time) - BigInt(b.time));
  const da = fnv64a(a.node);
  const db = fnv64a(b.node);
  if (da !== db) return int32(da - db);
  return int32(BigInt(a.uid) - BigInt(b.uid));
}

/**
 * utf8_to_ascii (cfs-utils.c) with quotequote, as clog_pack stores a message: `"` escaped, control
 * characters as `#ddd`, other non-ASCII as `\uXXXX`.
 */
export function clogAscii(msg: string): string {
  let out = '';
  for (const ch of msg) {
    const u = ch.codePointAt(0) ?? 0;
    if (u === 34) out += '\\"';
    else if (u < 32 || u === 127) out += `#${String(u).padStart(3, '0')}`;
    else if (u < 127) out += ch;
    else if (u < 65536) out += `\\u${u.toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** clog_dump_json: the newest `max` entries first (`entries` oldest first), as `.clusterlog` shows them. */
export function clusterlogJson(entries: readonly ClogEntry[], max = 50): string {
  const shown = [...entries].reverse().slice(0, max);
  const lines = shown.map(
    (e) => `{"uid": ${e.uid}, "time": ${e.time}, "pri": ${e.pri}, "tag": "${e.tag}", "pid": ${e.pid}, "node": "${e.node}", "user": "${e.user}", "msg": "${e.msg}"}`,
  );
  return `{\n"data": [\n${lines.join(',\n')}${lines.length ? '\n' : ''}]\n}\n`;
}

/** cfs_rrd_dump: one `key:data` line per entry received in the last five minutes. */
export function rrdDumpText(entries: readonly RrdEntry[], now: number): string {
  return entries
    .filter((e) => now - e.time <= 300)
    .map((e) => `${e.key}:${e.data}\n`)
    .join('');
}

/** How the daemon's cluster information looks (confdb.c cmap_read_config: name, config version, nodes). */
export interface ClusterInfo {
  name: string;
  version: number;
  nodes: Array<{ name: string; nodeid: number; votes: number }>;
}

/** The newest entries a cluster log keeps (CLOG_DEFAULT_SIZE holds far fewer than this of the lab's). */
const CLOG_KEEP = 2000;

/** One daemon's status store. */
export class CfsStatus {
  /** cfs_status.clinfo_version */
  memberlistVersion = 0;
  private clinfoKey: string | undefined;
  private online = '';
  private readonly ips = new Map<string, string>();
  private readonly rrd = new Map<string, RrdEntry>();
  /** oldest first */
  private log: ClogEntry[] = [];
  /** per node: the newest (time, uid) taken (logger.c dedup_lookup) */
  private dedup = new Map<string, { time: number; uid: number }>();
  private uidCounter = 0;

  /** cfs_status_init: the cluster log starts with the daemon's own entry. */
  constructor(
    private readonly nodename: string,
    pid: number,
    now: number,
  ) {
    this.logAdd('root', 'cluster', pid, 6, 'starting cluster log', now);
  }

  /** cfs_status_set_clinfo, called on every read of corosync's configuration that changed it. */
  setClusterInfo(info: ClusterInfo): void {
    const key = JSON.stringify(info);
    if (key === this.clinfoKey) return;
    this.clinfoKey = key;
    this.memberlistVersion++;
  }

  /** Does the daemon know a cluster with nodes (the memberlist has a nodelist)? */
  hasNodes(): boolean {
    return this.clinfoKey !== undefined && (JSON.parse(this.clinfoKey) as ClusterInfo).nodes.length > 0;
  }

  /** dfsm_confchg of the kvstore group: a new member list counts only with a nodelist. Returns whether it changed. */
  confchg(online: readonly number[]): boolean {
    const key = [...online].sort((a, b) => a - b).join(',');
    if (key === this.online) return false;
    this.online = key;
    if (this.hasNodes()) this.memberlistVersion++;
    return true;
  }

  /** nodeip_hash_set: a new or changed address bumps the version. */
  setNodeIp(name: string, ip: string): void {
    if (this.ips.get(name) === ip) return;
    this.ips.set(name, ip);
    this.memberlistVersion++;
  }

  /** The address `name` announced, if any. */
  nodeIp(name: string): string | undefined {
    return this.ips.get(name);
  }

  /** rrdentry_hash_set. */
  setRrd(key: string, data: string, now: number): void {
    this.rrd.delete(key);
    this.rrd.set(key, { key, data, time: now });
  }

  /** `.rrd`: entries older than five minutes are dropped first (rrd_entry_is_old). */
  rrdDump(now: number): string {
    for (const [k, e] of this.rrd) if (now - e.time > 300) this.rrd.delete(k);
    return rrdDumpText([...this.rrd.values()], now);
  }

  /** clog_pack + clusterlog_insert of an entry logged on this node; returns it for the other members. */
  logAdd(user: string, tag: string, pid: number, pri: number, msg: string, now: number): ClogEntry {
    const e: ClogEntry = { uid: ++this.uidCounter, time: now, pri, tag, pid, node: this.nodename, user, msg: clogAscii(msg) };
    this.insert(e);
    return e;
  }

  /** clusterlog_insert: an entry older than the newest taken from its node is a duplicate. */
  insert(e: ClogEntry): boolean {
    const d = this.dedup.get(e.node);
    if (d && !(e.time > d.time || (e.time === d.time && e.uid > d.uid))) return false;
    this.dedup.set(e.node, { time: e.time, uid: e.uid });
    this.log.push(e);
    if (this.log.length > CLOG_KEEP) this.log = this.log.slice(-CLOG_KEEP);
    return true;
  }

  /** All entries, oldest first (the state a member sends in a sync round). */
  logEntries(): ClogEntry[] {
    return [...this.log];
  }

  /**
   * clusterlog_merge: the union of this log and the members' logs, each entry once, in
   * clog_entry_sort_fn order; the dedup table then holds each node's newest entry.
   */
  merge(others: ReadonlyArray<readonly ClogEntry[]>): void {
    const all = [...this.log, ...others.flat()].sort(clogCompare);
    const merged: ClogEntry[] = [];
    for (const e of all) {
      const last = merged[merged.length - 1];
      if (last && clogCompare(last, e) === 0) continue;
      merged.push(e);
    }
    this.log = merged.slice(-CLOG_KEEP);
    this.dedup = new Map();
    for (const e of this.log) {
      const d = this.dedup.get(e.node);
      if (!d || e.time > d.time || (e.time === d.time && e.uid > d.uid)) this.dedup.set(e.node, { time: e.time, uid: e.uid });
    }
  }

  /** `.clusterlog` (cfs_cluster_log_dump with no user and 50 entries). */
  clusterlogDump(): string {
    return clusterlogJson(this.log, 50);
  }
}

/**
 * `.members` (status.c cfs_create_memberlist_msg): without a nodelist only the node name and the
 * version; otherwise the cluster line and one line per node, with `ip` only for a node whose
 * address this daemon has heard (its own after the first sync, the others' from their daemons).
 */
export function memberlistText(
  nodename: string,
  version: number,
  info: ClusterInfo | undefined,
  online: readonly number[],
  quorate: boolean,
  ipOf: (name: string) => string | undefined,
): string {
  if (!info || info.nodes.length === 0) return `{\n"nodename": "${nodename}",\n"version": ${version}\n}\n`;
  let s = `{\n"nodename": "${nodename}",\n"version": ${version},\n`;
  s += `"cluster": { "name": "${info.name}", "version": ${info.version}, "nodes": ${info.nodes.length}, "quorate": ${quorate ? 1 : 0} },\n`;
  s += '"nodelist": {\n';
  s += info.nodes
    .map((n) => {
      const ip = ipOf(n.name);
      return `  "${n.name}": { "id": ${n.nodeid}, "online": ${online.includes(n.nodeid) ? 1 : 0}${ip ? `, "ip": "${ip}"` : ''}}`;
    })
    .join(',\n');
  return `${s}\n  }\n}\n`;
}
