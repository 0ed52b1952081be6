import { describe, expect, it } from 'vitest';
import { clockArgv } from '../../../src/checks/clock-probe.js';
import { readNode } from '../../../src/checks/gather.js';
import type { ExecResult, Transport } from '../../../src/transport/types.js';
import { factsOutput } from './scenario.js';

/** A node whose clock answers take `delays` ms each, in turn, on a workstation clock that only the answers move. */
function node(delays: number[]): { t: Transport; clockReads: () => number; now: () => number } {
  let now = 1_787_246_573_000;
  let reads = 0;
  const t: Transport = {
    async exec(_n, argv): Promise<ExecResult> {
      if (argv.join(' ') !== clockArgv().join(' ')) return { exitCode: 0, stdout: factsOutput('pve1', '10.99.0.1'), stderr: '', durationMs: 5 };
      const d = delays[reads++] ?? 1;
      now += d;
      // the node's clock is exactly the workstation's at the middle of the round trip
      const mid = (now - d / 2) / 1000;
      return { exitCode: 0, stdout: `${mid.toFixed(6)}\n`, stderr: '', durationMs: d };
    },
  };
  return { t, clockReads: () => reads, now: () => now };
}

describe('the clock sample', () => {
  it('is taken again while its round trip was long, and the tightest is kept', async () => {
    const n = node([900, 400, 40]);
    const f = await readNode({ transport: n.t, now: n.now }, { name: 'pve1', host: '10.99.0.1' });
    expect(n.clockReads()).toBe(3);
    expect(f.clock.ok && f.clock.value.uncertaintySec).toBeCloseTo(0.02, 6);
    expect(f.clock.ok && Math.abs(f.clock.value.offsetSec)).toBeLessThan(0.001);
  });

  it('is read once when the first round trip was short', async () => {
    const n = node([20]);
    const f = await readNode({ transport: n.t, now: n.now }, { name: 'pve1', host: '10.99.0.1' });
    expect(n.clockReads()).toBe(1);
    expect(f.clock.ok && f.clock.value.uncertaintySec).toBeCloseTo(0.01, 6);
  });

  it('keeps the first sample when the others are no better', async () => {
    const n = node([400, 500, 700]);
    const f = await readNode({ transport: n.t, now: n.now }, { name: 'pve1', host: '10.99.0.1' });
    expect(n.clockReads()).toBe(3);
    expect(f.clock.ok && f.clock.value.uncertaintySec).toBeCloseTo(0.2, 6);
  });
});
