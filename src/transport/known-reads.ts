/**
 * The commands dry-run lets run: reads recognised by their shape (tool, subcommand, and the
 * arguments that keep them reads), and scripts declared read-only by their exact text. Anything
 * else is held back, whatever its caller says about it. A tool is named by its bare name; a path
 * or a prefix (`env`, `nice`) is not a known read.
 */
import { isIP } from 'node:net';
import { isReadOnlyScript } from './read-only-scripts.js';

type Shape = (args: readonly string[]) => boolean;

const oneOf =
  (...words: string[]): Shape =>
  (a) =>
    a[0] !== undefined && words.includes(a[0]);

// find's actions that write, delete or run something; its other expressions only select and print
const FIND_ACTIONS = new Set(['-delete', '-exec', '-execdir', '-ok', '-okdir', '-fprint', '-fprint0', '-fprintf', '-fls']);

// `ip` options that only change how output looks (-b/-batch would read commands from a file)
const IP_OPTIONS = new Set(['-j', '-json', '-o', '-oneline', '-4', '-6', '-br', '-brief', '-p', '-pretty', '-d', '-details']);
const IP_OBJECTS = new Set(['a', 'addr', 'address', 'l', 'link', 'r', 'route']);

// chronyc reports; -m would let one call carry several commands (makestep among them)
const CHRONYC_REPORTS = new Set(['tracking', 'sources', 'sourcestats', 'activity', 'ntpdata', 'serverstats', 'selectdata']);

const READS: Readonly<Record<string, Shape>> = {
  pvecm: (a) => a.length === 1 && oneOf('status', 'nodes')(a),
  pvesh: oneOf('get'),
  pveversion: (a) => a.length === 0 || (a.length === 1 && (a[0] === '-v' || a[0] === '--verbose')),
  qm: oneOf('config', 'list', 'status'),
  pct: oneOf('config', 'list', 'status'),
  'ha-manager': (a) => oneOf('status', 'config', 'groupconfig')(a) || (a[0] === 'rules' && a[1] === 'config'),
  pvesr: oneOf('list', 'status'),
  pvesm: oneOf('status'),
  // -e and -v set votes, -m monitors until killed, -n/-o take values
  'corosync-quorumtool': (a) => a.every((x) => /^-[slipHa]+$/.test(x)),
  // -R reloads, -k kills a node, -H shuts corosync down
  'corosync-cfgtool': (a) => a.length > 0 && a.every((x) => /^-[snb]+$/.test(x)),
  cat: () => true,
  ls: () => true,
  grep: () => true,
  sha256sum: () => true,
  base64: () => true,
  test: (a) => a.length === 2 && /^-[edfsrxL]$/.test(a[0] ?? ''),
  find: (a) => !a.some((x) => FIND_ACTIONS.has(x)),
  // an operand or -s/-F would set the name
  hostname: (a) => a.length === 0 || (a.length === 1 && ['-s', '--short', '-f', '--fqdn', '-d', '--domain', '-i', '-I'].includes(a[0] ?? '')),
  // an operand without '+' (MMDDhhmm…) or -s would set the clock
  date: (a) => a.every((x) => x.startsWith('+') || x === '-u' || x === '--utc'),
  chronyc: (a) => {
    let i = 0;
    while (a[i] === '-n' || a[i] === '-c') i++;
    return CHRONYC_REPORTS.has(a[i] ?? '') && a.slice(i + 1).every((x) => x === '-a' || x === '-v');
  },
  timedatectl: oneOf('show', 'status', 'show-timesync', 'timesync-status'),
  getent: oneOf('hosts', 'ahosts', 'ahostsv4', 'ahostsv6'),
  ip: (a) => {
    let i = 0;
    while (i < a.length && IP_OPTIONS.has(a[i] ?? '')) i++;
    if (!IP_OBJECTS.has(a[i] ?? '')) return false;
    const verb = a[i + 1];
    return verb === undefined || verb === 'show' || verb === 'list' || verb === 'ls';
  },
  sh: isScript,
  // only the status of installed packages (-W with a format), no other action
  'dpkg-query': (a) => a.length >= 3 && a[0] === '-W' && /^-f=/.test(a[1] ?? '') && a.slice(2).every((p) => /^[a-z0-9][a-z0-9+.-]*$/.test(p)),
  // only the TCP probe: bash opens a connection to an address and port, sends nothing, and exits
  timeout: (a) =>
    a.length === 7 && a[0] === '5' && a[1] === 'bash' && a[2] === '-c' && a[3] === 'exec 3<>"/dev/tcp/$1/$2"' && a[4] === 'pvx-tcp-probe' && isIP(a[5] ?? '') !== 0 && /^\d{1,5}$/.test(a[6] ?? ''),
  // only the QNetd status over root ssh, without a prompt
  ssh: (a) =>
    a.length === 9 && a.slice(0, 6).join(' ') === '-o BatchMode=yes -o ConnectTimeout=10 -l root' && isIP(a[6] ?? '') !== 0 && a[7] === 'corosync-qnetd-tool' && a[8] === '-s',
};

function isScript(args: readonly string[]): boolean {
  return isReadOnlyScript(['sh', ...args]);
}

/** True when argv is a read dry-run may run: a known read shape, or a script declared read-only. */
export function isKnownRead(argv: readonly string[]): boolean {
  const [tool, ...args] = argv;
  if (tool === undefined || !Object.hasOwn(READS, tool)) return false;
  return READS[tool]?.(args) === true;
}
