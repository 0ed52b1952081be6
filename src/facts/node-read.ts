/**
 * The read behind `cluster status` and every membership check: one shell script per node, one
 * round trip, only native sources that answer in milliseconds.
 *
 * - `pvecm status` is a header from /etc/pve/corosync.conf over `corosync-quorumtool -siH`
 *   (PVE::CLI::pvecm status: check_conf_exists, cfs_read_file corosync.conf, exec quorumtool).
 *   The script does the same steps itself and pvx composes the very text pvecm would print, so
 *   it is judged by the same parser; no Perl start-up.
 * - `pvesh get /cluster/status` is pmxcfs's cluster information (CFS_IPC_GET_CLUSTER_INFO), which
 *   pmxcfs also serves as the file /etc/pve/.members.
 * - `pveversion` prints the pve-manager version of the installed package (PVE::pvecfg); the
 *   package database holds the same version.
 * No Perl tool is needed here: each of these facts has a C or file source of the same authority.
 * (Preflight keeps `pveversion -v`: the running version of the API daemons is only known to it.)
 */
import { PACKAGE_STATE_FORMAT, parsePackageVersion } from '../pve/parse/dpkg-query.js';
import { parseCorosyncConf, type CorosyncTotem } from '../pve/parse/corosync-conf.js';
import { ParseError } from '../pve/parse/errors.js';
import { parsePmxcfsMembers } from '../pve/parse/pmxcfs-members.js';
import type { ClusterStatus } from '../pve/parse/pvesh-cluster-status.js';
import type { CommandOutput } from '../pve/parse/text.js';
import { shJoin } from '../transport/quote.js';
import { readOnlyScript } from '../transport/read-only-scripts.js';

/** One part of the read: a command's exit code and streams. */
export interface ReadSection {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Parts of the read, in print order. */
export const NODE_READ_SECTIONS = ['conf', 'quorum', 'members', 'version'] as const;

/** A part's name. */
export type NodeReadSection = (typeof NODE_READ_SECTIONS)[number];

const MARK = '@@pvx-node:';
const PVE_CONF = '/etc/pve/corosync.conf';

// The steps are sequential: each is a C program or a file read of a few milliseconds, fewer
// forks than running them side by side. quorumtool runs only where pvecm would exec it. Each
// part's output goes straight to the script's own stdout and stderr between marks (a part's
// stdout ends with its exit code), so the read forks only the four commands themselves: no
// temporary files and no `cat` of them, which cost more than the commands on a busy node.
const SCRIPT = readOnlyScript(
  [
    `r() { k=$1; shift; printf '\\n${MARK}%s\\n' "$k"; printf '\\n${MARK}%s\\n' "$k" >&2; "$@"; c=$?; printf '\\n${MARK}%s:%s\\n' "$k" "$c"; }`,
    `if [ -f ${shJoin([PVE_CONF])} ]; then r conf ${shJoin(['cat', PVE_CONF])}; r quorum ${shJoin(['corosync-quorumtool', '-siH'])}; fi`,
    `r members ${shJoin(['cat', '/etc/pve/.members'])}`,
    `r version ${shJoin(['dpkg-query', '-W', '-f', PACKAGE_STATE_FORMAT, 'pve-manager'])}`,
  ].join('\n'),
);

/** The exact command of a node's read (tests script the fake transport with it). */
export function nodeReadArgv(): string[] {
  return ['sh', '-c', SCRIPT];
}

/** The marks of one stream: a part's opening mark (`tag` undefined) or its closing one with the exit code. */
function marksOf(text: string): Array<{ name: string; tag: string | undefined; start: number; end: number }> {
  const re = new RegExp(`\\n${MARK}([a-z]+)(?::(\\d+))?\\n`, 'g');
  const marks: Array<{ name: string; tag: string | undefined; start: number; end: number }> = [];
  for (let m = re.exec(text); m; m = re.exec(text)) marks.push({ name: m[1] ?? '', tag: m[2], start: m.index, end: m.index + m[0].length });
  return marks;
}

/**
 * Split the read's output into its parts: a part's stdout lies between its opening mark and the
 * closing one that carries its exit code, its stderr after its mark on stderr. A part that did not
 * finish (no closing mark) is absent.
 */
export function parseNodeRead(run: { stdout: string; stderr: string }): Map<NodeReadSection, ReadSection> {
  const out = new Map<NodeReadSection, ReadSection>();
  const known = (name: string): name is NodeReadSection => (NODE_READ_SECTIONS as readonly string[]).includes(name);
  const marks = marksOf(run.stdout);
  marks.forEach((open, i) => {
    if (open.tag !== undefined || !known(open.name)) return;
    // the last mark before the next part opens closes this one
    const next = marks.findIndex((m, j) => j > i && m.tag === undefined);
    const close = marks[(next < 0 ? marks.length : next) - 1];
    if (!close || close === open || close.name !== open.name || close.tag === undefined) return;
    out.set(open.name, { exitCode: Number(close.tag), stdout: run.stdout.slice(open.end, close.start), stderr: '' });
  });
  const errMarks = marksOf(run.stderr);
  errMarks.forEach((mark, i) => {
    const part = mark.tag === undefined && known(mark.name) ? out.get(mark.name) : undefined;
    if (part) part.stderr = run.stderr.slice(mark.end, errMarks[i + 1]?.start ?? run.stderr.length);
  });
  return out;
}

/** Build the read's output from parts: the inverse of parseNodeRead, for tests and stand-ins. */
export function renderNodeRead(parts: Partial<Record<NodeReadSection, Partial<ReadSection>>>): { stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  for (const name of NODE_READ_SECTIONS) {
    const s = parts[name];
    if (!s) continue;
    stdout += `\n${MARK}${name}\n${s.stdout ?? ''}\n${MARK}${name}:${s.exitCode ?? 0}\n`;
    stderr += `\n${MARK}${name}\n${s.stderr ?? ''}`;
  }
  return { stdout, stderr };
}

const STANDALONE = `Error: Corosync config '${PVE_CONF}' does not exist - is this node part of a cluster?\n`;

/** The "Cluster information" block pvecm prints from the totem section (nothing for an empty one). */
function pvecmHeader(totem: CorosyncTotem): string {
  if (Object.keys(totem).length === 0) return '';
  const line = (label: string, key: string, dflt: string): string => {
    const v = totem[key];
    return `${`${label}:`.padEnd(17)} ${typeof v === 'string' ? v : dflt}\n`;
  };
  return (
    'Cluster information\n-------------------\n' +
    line('Name', 'cluster_name', 'UNKOWN?') +
    line('Config Version', 'config_version', '-1') +
    line('Transport', 'transport', 'knet') +
    line('Secure auth', 'secauth', 'off') +
    '\n'
  );
}

/**
 * What `pvecm status` prints for these parts, step by step as it does: no corosync.conf in
 * /etc/pve is the standalone error; an unreadable one is a warning and no header; then
 * quorumtool's own output and exit code.
 */
export function pvecmStatusOf(parts: ReadonlyMap<NodeReadSection, ReadSection>): CommandOutput & { exitCode: number } {
  const conf = parts.get('conf');
  const quorum = parts.get('quorum');
  if (!conf || !quorum) return { exitCode: 255, stdout: '', stderr: STANDALONE };
  let header = '';
  let warning = '';
  if (conf.exitCode === 0) {
    try {
      header = pvecmHeader(parseCorosyncConf(conf.stdout).totem);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      warning = `${e.message}\n`;
    }
  } else {
    warning = conf.stderr;
  }
  return { exitCode: quorum.exitCode, stdout: header + quorum.stdout, stderr: warning + quorum.stderr };
}

/** pmxcfs's cluster information, or undefined when it could not be read. */
export function clusterStatusOf(parts: ReadonlyMap<NodeReadSection, ReadSection>): ClusterStatus | undefined {
  const m = parts.get('members');
  if (!m || m.exitCode !== 0) return undefined;
  try {
    return parsePmxcfsMembers(m.stdout);
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    throw e;
  }
}

/** The installed pve-manager version, or null. */
export function pveVersionOf(parts: ReadonlyMap<NodeReadSection, ReadSection>): string | null {
  const v = parts.get('version');
  if (!v || v.exitCode !== 0) return null;
  try {
    return parsePackageVersion(v.stdout);
  } catch (e) {
    if (e instanceof ParseError) return null;
    throw e;
  }
}
