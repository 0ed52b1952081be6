/**
 * The one read per node: a shell script that runs every probe in parallel on the node and prints
 * each one's exit code, stdout and stderr as a section, so one round trip answers every check.
 */
import { pveversion } from '../../pve/argv.js';
import { chronyc, corosyncTools, ipAddresses, timedatectl } from '../../pve/argv-host.js';
import { shJoin } from '../../transport/quote.js';
import { readOnlyScript } from '../../transport/read-only-scripts.js';

/** One probe's output. */
export interface Section {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Section names, in print order. */
export const SECTION_NAMES = [
  'user',
  'hostname',
  'pveversion',
  'chrony',
  'timedatectl',
  'resolve',
  'addrs',
  'files',
  'conf',
  'localconf',
  'cfgtool',
  'quorum',
  'udp',
  'guests',
] as const;

/** A section name. */
export type SectionName = (typeof SECTION_NAMES)[number];

const MARK = '@@pvx:';

// Files that decide whether a node is clustered (reference §1.4 join refusals).
const CLUSTER_FILES = ['/etc/pve/corosync.conf', '/etc/corosync/authkey', '/etc/corosync/corosync.conf'];

/**
 * The shell function `guests` of the facts script, listing under `pveRoot` (tests pass a scratch tree).
 * It lists what `pvecm add` counts: pmxcfs builds the guest list from the configs under every
 * `nodes/*` folder, not only the node's own (pve-cluster src/pmxcfs/memdb.c memdb_recreate_vmlist),
 * so a folder another node left behind refuses a join as well. One line per config: its path, a
 * space, the name from the config's first section.
 */
export function guestListFunction(pveRoot: string): string {
  const dirs = GUEST_DIRS.map((d) => `${shJoin([`${pveRoot}/nodes`])}/*/${d}/*.conf`).join(' ');
  return (
    `guests() { for f in ${dirs}; do if [ -e "$f" ]; then ` +
    'printf \'%s %s\\n\' "$f" "$(sed -n -E -e \'/^\\[/q\' -e \'s/^(name|hostname): *//p\' "$f" | head -n 1)"; fi; done; }'
  );
}

/** The folders of a node's directory pmxcfs reads guest configs from (openvz: what PVE before 4 left behind). */
export const GUEST_DIRS = ['qemu-server', 'lxc', 'openvz'] as const;

/**
 * Why a script and not one exec per probe: the PVE tools are perl programs that take most of a
 * second each to start; run side by side on the node they cost one start-up, and one round trip.
 * Every fork counts on a busy node, so the cheap sections share one background job, each job
 * writes its own section headers, and one `cat` prints them all.
 */
const SETUP = [
  'read -r n </proc/sys/kernel/hostname || n=$(uname -n); n=${n%%.*}',
  'd=$(mktemp -d) || exit 97',
  'trap \'rm -rf "$d"\' EXIT',
  // r NAME CMD…: run CMD, keep its streams, and the headers that frame them, under NAME
  'r() { k=$1; shift; "$@" >"$d/$k.o" 2>"$d/$k.e"; c=$?; ' +
    `printf '\\n${MARK}%s:%s\\n' "$k" "$c" >"$d/$k.a"; printf '\\n${MARK}%s:stderr\\n' "$k" >"$d/$k.m"; return $c; }`,
  'files() { for f in ' + CLUSTER_FILES.map((f) => shJoin([f])).join(' ') + '; do if [ -e "$f" ]; then echo "$f"; fi; done; }',
  'conf() { if [ -e "$1" ]; then cat "$1"; fi; }',
  // ports corosync (or anything else) holds, so the UDP probe never binds them
  'udp() { if [ -e /proc/net/udp6 ]; then cat /proc/net/udp /proc/net/udp6; else cat /proc/net/udp; fi; }',
  'user() { id -u && id -un; }',
  guestListFunction('/etc/pve'),
];

/** A background job of the script and the sections it writes. */
export interface FactsJob {
  line: string;
  sections: readonly SectionName[];
  /** not needed to plan the UDP probe (the session probes while these still run) */
  slow?: boolean;
}

// in the shell itself: a builtin, no fork
const SYNC = ['r hostname echo "$n"'];

const JOBS: readonly FactsJob[] = [
  { line: `r pveversion ${shJoin(pveversion.verbose())}`, sections: ['pveversion'], slow: true },
  { line: `( r chrony ${shJoin(chronyc.tracking())} || r timedatectl ${shJoin(timedatectl.ntpSynchronized())} )`, sections: ['chrony', 'timedatectl'], slow: true },
  { line: `r addrs ${shJoin(ipAddresses())}`, sections: ['addrs'] },
  { line: `r cfgtool ${shJoin(corosyncTools.linkStatus())}`, sections: ['cfgtool'] },
  { line: `r quorum ${shJoin(corosyncTools.quorumStatus())}`, sections: ['quorum'] },
  { line: 'r resolve getent ahosts "$n"', sections: ['resolve'] },
  {
    line: '{ r user user; r files files; r conf conf /etc/pve/corosync.conf; r localconf conf /etc/corosync/corosync.conf; r udp udp; r guests guests; }',
    sections: ['user', 'files', 'conf', 'localconf', 'udp', 'guests'],
  },
];

/** Print the sections that were written, in SECTION_NAMES order; a newline before every marker, so output without a final newline cannot swallow one. */
function printLines(names: readonly SectionName[]): string[] {
  const ordered = SECTION_NAMES.filter((k) => names.includes(k));
  return [
    `set --; for k in ${ordered.join(' ')}; do if [ -e "$d/$k.a" ]; then set -- "$@" "$d/$k.a" "$d/$k.o" "$d/$k.m" "$d/$k.e"; fi; done`,
    'if [ $# -gt 0 ]; then cat "$@"; fi',
  ];
}

// it only reads (its scratch directory goes away with it), so dry-run may run it
const SCRIPT = readOnlyScript([...SETUP, ...SYNC, ...JOBS.map((j) => `${j.line} &`), 'wait', ...printLines(SECTION_NAMES)].join('\n'));

/** The exact command of the facts read (tests script the fake transport with it). */
export function factsArgv(): string[] {
  return ['sh', '-c', SCRIPT];
}

/** What the session script (src/checks/node-session.ts) builds on: set-up, the jobs, printing. */
export const FACTS_PARTS = { setup: SETUP, sync: SYNC, jobs: JOBS, printLines } as const;

/** Split the script's output into sections; a section that never printed is absent. */
export function parseSections(stdout: string): Map<SectionName, Section> {
  const out = new Map<SectionName, Section>();
  const re = /\n@@pvx:([a-z]+):(\d+|stderr)\n/g;
  const marks: Array<{ name: string; tag: string; start: number; end: number }> = [];
  for (let m = re.exec(stdout); m; m = re.exec(stdout)) {
    marks.push({ name: m[1] ?? '', tag: m[2] ?? '', start: m.index, end: m.index + m[0].length });
  }
  marks.forEach((mark, i) => {
    const body = stdout.slice(mark.end, marks[i + 1]?.start ?? stdout.length);
    if (!(SECTION_NAMES as readonly string[]).includes(mark.name)) return;
    const name = mark.name as SectionName;
    if (mark.tag === 'stderr') {
      const s = out.get(name);
      if (s) s.stderr = body;
      return;
    }
    out.set(name, { exitCode: Number(mark.tag), stdout: body, stderr: '' });
  });
  return out;
}

/** Build script output from sections: the inverse of parseSections, for tests and the lab. */
export function renderSections(sections: Partial<Record<SectionName, Partial<Section>>>): string {
  let out = '';
  for (const name of SECTION_NAMES) {
    const s = sections[name];
    if (!s) continue;
    out += `\n${MARK}${name}:${s.exitCode ?? 0}\n${s.stdout ?? ''}\n${MARK}${name}:stderr\n${s.stderr ?? ''}`;
  }
  return out;
}
