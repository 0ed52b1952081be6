// What preflight's node-side measurements cost on this machine, over loopback, without a lab:
//   - the UDP probe between two perl echo servers: the best round trip per port, and how long each
//     probe ran (they leave as soon as every port answered, long before their deadline)
//   - the clock sample of the preflight session: its uncertainty (half the ping's round trip) when
//     the ping rides the open session
// Prints medians of 7 runs; run with `npm run bench`. Not a test: nothing here asserts a time.
import { spawn } from 'node:child_process';
import { it } from 'vitest';
import { gatherBySession } from '../../src/facts/preflight/session.js';
import { parseProbeOutput, probeArgv, probeKey, type ProbePlan } from '../../src/facts/preflight/udp-probe.js';
import { LocalTransport } from '../../src/transport/local.js';

const RUNS = 7;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function run(argv: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0] ?? '', argv.slice(1));
    let out = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.on('error', reject);
    p.on('close', () => resolve(out));
  });
}

it('UDP probe round trip and duration, session clock uncertainty (loopback)', async () => {
  // high ports, so nothing on this host (or a lab) is disturbed
  const ports = [41415, 41416, 41417];
  const timing = { waitSec: 5, resendSec: 0.1 };
  const a: ProbePlan = { node: 'a', self: '127.0.0.31', listen: ports, expect: ['127.0.0.32'], targets: [{ address: '127.0.0.32', ports }] };
  const b: ProbePlan = { node: 'b', self: '127.0.0.32', listen: ports, expect: ['127.0.0.31'], targets: [{ address: '127.0.0.31', ports }] };
  const rtt: number[] = [];
  const took: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const outs = await Promise.all([run(probeArgv(a, timing)), run(probeArgv(b, timing))]);
    for (const [k, text] of outs.entries()) {
      const o = parseProbeOutput(text);
      const peer = k === 0 ? '127.0.0.32' : '127.0.0.31';
      for (const p of ports) rtt.push(o.sent.get(probeKey(peer, p))?.rttMs ?? NaN);
      took.push(Number(/done ([\d.]+)/.exec(text)?.[1]) * 1000);
    }
  }

  const node = { name: 'here', host: '127.0.0.1', link0: '127.0.0.1' };
  const uncertainty: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const g = await gatherBySession({ transport: new LocalTransport(), now: () => Date.now() }, [node]);
    const clock = g.facts.get('here')?.clock;
    uncertainty.push(clock?.ok ? clock.value.uncertaintySec * 1000 : NaN);
  }

  const line = (label: string, value: string) => `  ${label.padEnd(44)} median ${value}\n`;
  process.stdout.write(
    `\npreflight measurements over loopback (${RUNS} runs each)\n` +
      line('UDP probe: best round trip per port', `${median(rtt).toFixed(2)} ms`) +
      line(`UDP probe: run time (deadline ${timing.waitSec * 1000} ms)`, `${median(took).toFixed(0)} ms`) +
      line('session clock sample uncertainty', `${median(uncertainty).toFixed(2)} ms`),
  );
}, 300_000);
