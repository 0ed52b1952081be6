/**
 * The corosync UDP probe: one perl process per node that is at once an echo server on every
 * corosync port of its link0 address and a sender to every peer's ports. All nodes run it at the
 * same time, so every ordered pair and port is tested in one round. A receiver logs each sender
 * it heard, so a one-way block is attributed to the right direction.
 */
import { canonicalAddress } from './address.js';

/** corosync/knet's UDP ports, link0 … link7 (reference §6). */
export const COROSYNC_PORTS: readonly number[] = [5405, 5406, 5407, 5408, 5409, 5410, 5411, 5412];

/** How long the probe waits for answers, and how often it re-sends. */
export interface ProbeTiming {
  waitSec: number;
  resendSec: number;
}

/** Defaults: about 15 tries per port; a dropped packet shows as silence until the end. */
export const PROBE_TIMING: ProbeTiming = { waitSec: 1.5, resendSec: 0.1 };

/** One peer to probe and the ports it listens on. */
export interface ProbeTarget {
  address: string;
  ports: number[];
}

/** What one node's probe does. */
export interface ProbePlan {
  node: string;
  /** the node's link0 address: listen on it, send from it */
  self: string;
  /** ports to echo on; where corosync runs, never the ones it holds or is configured to use */
  listen: number[];
  /** link0 addresses of the peers that will probe this node */
  expect: string[];
  /** the peers to probe */
  targets: ProbeTarget[];
}

// Plain perl with core modules only (IO::Socket::IP, Time::HiRes): present on every PVE node.
// Probe sockets are connected, so an ICMP port-unreachable comes back as ECONNREFUSED on recv.
const PERL = String.raw`
use strict; use warnings; use IO::Socket::IP; use IO::Select; use Time::HiRes qw(time);
use Socket qw(getnameinfo NI_NUMERICHOST NI_NUMERICSERV);
$| = 1;
# the plan comes as arguments, or as one line on stdin (fields separated by single spaces) when the only argument is '-'
my @plan = @ARGV; if (@plan == 1 && $plan[0] eq '-') { my $l = <STDIN> // ''; chomp $l; @plan = split / /, $l, -1 }
my ($self, $listening, $wait, $every, $listen, $expect, $targets) = map { $_ // '' } @plan;
my @listen = $listening ? grep { length } split /,/, $listen : (); my @expect = grep { length } split /,/, $expect;
my @all = (__PORTS__);
my $sel = IO::Select->new; my (%lis, %pr, %seen, %want);
sub err { my $e = $@ || "$!"; $e =~ s/\s+/ /g; $e =~ s/^\s+|\s+$//g; return $e }
for my $p (@listen) {
  my $s = IO::Socket::IP->new(Proto => 'udp', LocalHost => $self, LocalPort => $p);
  if ($s) { $sel->add($s); $lis{fileno $s} = [$s, $p]; $want{"$_ $p"} = 1 for @expect; print "bind $p ok\n" }
  else { print "bind $p fail ", err(), "\n" }
}
# targets: "<address>" (every corosync port) or "<address>/<port>+<port>…", separated by commas
for my $spec (grep { length } split /,/, $targets) {
  my ($t, $ps) = split m{/}, $spec, 2; my @tp = defined $ps ? split(/\+/, $ps) : @all;
  for my $p (@tp) {
    my $s = IO::Socket::IP->new(Proto => 'udp', LocalHost => $self, PeerHost => $t, PeerPort => $p);
    if (!$s) { print "probe $t $p error ", err(), "\n"; next }
    $sel->add($s); $pr{fileno $s} = { s => $s, t => $t, p => $p, st => 'timeout', next => 0, n => 0, ping => $p == $tp[0] };
  }
}
my $pings = 5; my $linger = 0.02; my $t0 = time; my $end = $t0 + $wait; my $heard = 0;
while (1) {
  my $now = time; my $pending = 0; my $sleep = $end - $now;
  for my $q (values %pr) {
    if ($q->{st} eq 'ok') {
      next if !$q->{ping} || $q->{n} >= $pings;
      # a ping that got no answer ends the pinging: the peer may be done and gone
      if ($q->{await} && $now >= $q->{next}) { $q->{n} = $pings; next }
    }
    $pending++;
    if ($now >= $q->{next}) {
      my $r = send($q->{s}, "pvx-probe $q->{p} $now", 0);
      $q->{st} = 'refused' if !defined $r && $!{ECONNREFUSED} && $q->{st} ne 'ok';
      $q->{await} = 1 if $q->{st} eq 'ok';
      # peers start a few ms apart: re-send fast at first, then settle at the resend interval
      my $gap = 0.005 * 2 ** ($q->{tries}++ // 0); $gap = $every if $gap > $every;
      $q->{next} = $now + $gap;
    }
    $sleep = $q->{next} - $now if $q->{next} - $now < $sleep;
  }
  my $missing = grep { !$seen{$_} } keys %want;
  last if $now >= $end;
  if (!$pending && !$missing) {
    # stay while peers still talk to us: their pings need our echo
    last if $now - $heard >= $linger;
    $sleep = $heard + $linger - $now if $heard + $linger - $now < $sleep;
  }
  $sleep = 0 if $sleep < 0;
  for my $s ($sel->can_read($sleep)) {
    my $f = fileno $s;
    if (my $l = $lis{$f}) {
      my $from = recv($s, my $buf, 512, 0);
      next unless defined $from && length $from && $buf =~ /^pvx-probe /;
      send($s, $buf, 0, $from); $heard = time;
      my ($e, $h) = getnameinfo($from, NI_NUMERICHOST | NI_NUMERICSERV);
      next if $e;
      $h =~ s/%.*//;
      print "recv $h $l->[1]\n" unless $seen{"$h $l->[1]"}++;
    } elsif (my $q = $pr{$f}) {
      my $r = recv($s, my $buf, 512, 0);
      if (!defined $r) {
        # the peer may not listen yet: try again soon rather than at the next resend
        if ($!{ECONNREFUSED} && $q->{st} ne 'ok') { $q->{st} = 'refused'; $q->{next} = time + 0.02 if $q->{next} > time + 0.02 }
        next;
      }
      if ($buf =~ /^pvx-probe \d+ ([\d.]+)$/) {
        my $rtt = (time - $1) * 1000; $q->{st} = 'ok'; $q->{n}++; $q->{await} = 0;
        $q->{rtt} = $rtt if !defined $q->{rtt} || $rtt < $q->{rtt};
        # the first answers queue behind every other node's burst; a few quiet ping-pongs measure the link
        $q->{next} = 0 if $q->{ping};
      }
    }
  }
}
for my $q (sort { $a->{t} cmp $b->{t} || $a->{p} <=> $b->{p} } values %pr) {
  print "probe $q->{t} $q->{p} $q->{st}", (defined $q->{rtt} ? sprintf(' %.3f', $q->{rtt}) : ''), "\n";
}
printf "done %.3f\n", time - $t0;
`
  .trim()
  .replace('__PORTS__', COROSYNC_PORTS.join(', '));

const ALL_PORTS = COROSYNC_PORTS.join(',');

/**
 * The exact command of one node's probe (tests script the fake transport with it). Arguments:
 * link0, listen flag, wait, resend, echo ports, expected senders, targets ("<address>" for every
 * corosync port, "<address>/<port>+<port>…" for fewer).
 */
export function probeArgv(plan: ProbePlan, timing: ProbeTiming = PROBE_TIMING): string[] {
  return ['perl', '-e', PERL, '--', ...probeFields(plan, timing)];
}

/** The probe's perl program, for a script that starts it with its plan on stdin (`perl -e PROGRAM -- -`). */
export const PROBE_PROGRAM = PERL;

/** The plan as the one stdin line the probe reads when its only argument is '-'. */
export function probeLine(plan: ProbePlan, timing: ProbeTiming = PROBE_TIMING): string {
  return probeFields(plan, timing).join(' ');
}

function probeFields(plan: ProbePlan, timing: ProbeTiming): string[] {
  return [
    plan.self, plan.listen.length > 0 ? '1' : '0', String(timing.waitSec), String(timing.resendSec),
    plan.listen.length > 0 ? plan.listen.join(',') : ALL_PORTS,
    plan.expect.join(','),
    plan.targets.map((t) => (t.ports.join(',') === ALL_PORTS ? t.address : `${t.address}/${t.ports.join('+')}`)).join(','),
  ];
}

/** The plan a probe command carries (the inverse of probeArgv, for stand-ins of nodes in tests). */
export function parseProbeArgv(node: string, argv: readonly string[]): ProbePlan & { timing: ProbeTiming } {
  const [self = '', listening, wait, resend, ports = '', expect = '', targets = ''] = argv.slice(argv.indexOf('--') + 1);
  const list = (s: string, sep: string) => s.split(sep).filter((x) => x !== '').map(Number);
  return {
    node,
    self,
    listen: listening === '1' ? list(ports, ',') : [],
    expect: expect.split(',').filter((x) => x !== ''),
    targets: targets
      .split(',')
      .filter((x) => x !== '')
      .map((t) => {
        const [address = '', ps] = t.split('/');
        return { address, ports: ps === undefined ? [...COROSYNC_PORTS] : list(ps, '+') };
      }),
    timing: { waitSec: Number(wait), resendSec: Number(resend) },
  };
}

/** "5405-5412", "5406-5412", "5405, 5407-5412": ports as a person reads them. */
export function portRanges(ports: readonly number[]): string {
  const s = [...new Set(ports)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === (s[j] as number) + 1) j++;
    parts.push(j > i ? `${s[i]}-${s[j]}` : String(s[i]));
    i = j + 1;
  }
  return parts.join(', ');
}

/** One probe's end state, as the sender saw it. */
export type ProbeState = 'ok' | 'timeout' | 'refused' | 'error';

/** What one node's probe printed. */
export interface ProbeOutput {
  /** listening port -> null when bound, else the error */
  bind: Map<number, string | null>;
  /** "<address> <port>" of every probe this node received */
  heard: Set<string>;
  /** "<address> <port>" -> the sender's end state and best round trip */
  sent: Map<string, { state: ProbeState; rttMs?: number; error?: string }>;
  finished: boolean;
}

/** The probe run of every node: its output, or why it did not run. */
export interface UdpProbeResults {
  /** how long a probe waited for an answer, seconds */
  waitSec: number;
  plans: Map<string, ProbePlan>;
  outputs: Map<string, { ok: true; output: ProbeOutput } | { ok: false; message: string }>;
}

/** No probe ran (nothing to probe). */
export function emptyProbeResults(): UdpProbeResults {
  return { waitSec: PROBE_TIMING.waitSec, plans: new Map(), outputs: new Map() };
}

/** The key of a (address, port) pair in ProbeOutput maps. */
export function probeKey(address: string, port: number): string {
  return `${canonicalAddress(address)} ${port}`;
}

/** Parse a probe's output; unknown lines are an error, so a broken perl cannot pass as silence. */
export function parseProbeOutput(stdout: string): ProbeOutput {
  const out: ProbeOutput = { bind: new Map(), heard: new Set(), sent: new Map(), finished: false };
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^bind (\d+) ok$/.exec(line))) out.bind.set(Number(m[1]), null);
    else if ((m = /^bind (\d+) fail (.*)$/.exec(line))) out.bind.set(Number(m[1]), m[2] ?? '');
    else if ((m = /^recv (\S+) (\d+)$/.exec(line))) out.heard.add(probeKey(m[1] ?? '', Number(m[2])));
    else if ((m = /^probe (\S+) (\d+) (ok|timeout|refused)(?: ([\d.]+))?$/.exec(line))) {
      const entry: { state: ProbeState; rttMs?: number } = { state: m[3] as ProbeState };
      if (m[4] !== undefined) entry.rttMs = Number(m[4]);
      out.sent.set(probeKey(m[1] ?? '', Number(m[2])), entry);
    } else if ((m = /^probe (\S+) (\d+) error (.*)$/.exec(line))) {
      out.sent.set(probeKey(m[1] ?? '', Number(m[2])), { state: 'error', error: m[3] ?? '' });
    } else if (/^done [\d.]+$/.test(line)) out.finished = true;
    else throw new Error(`unexpected probe output line: ${line.slice(0, 80)}`);
  }
  return out;
}
