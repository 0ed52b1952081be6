import { describe, expect, it } from 'vitest';
import { clockReading } from '../../../src/facts/preflight/clock.js';
import { medianOffset } from '../../../src/checks/clock-skew.js';
import { NOW_MS, inventoryNodes, of, runScenario } from './scenario.js';

/** `date +%s.%N` of a clock `offset` seconds off the workstation. */
const at = (offset: number) => ((NOW_MS + offset * 1000) / 1000).toFixed(9);

async function skew(offsets: number[], thresholds = {}) {
  const node: Record<string, { clock: string }> = {};
  offsets.forEach((o, i) => (node[`pve${i + 1}`] = { clock: at(o) }));
  return of(await runScenario({ nodes: inventoryNodes(offsets.length), node, spec: { thresholds } }), 'clock-skew');
}

describe('clock probe', () => {
  it('uses the midpoint of the round trip, not counting the connection set-up', () => {
    // 200 ms of wall time, of which the command itself took 50 ms: the clock was read ~25 ms before the end
    const r = clockReading({ exitCode: 0, stdout: '1.150000000\n', stderr: '', durationMs: 50 }, 1000, 1200);
    expect(r).toEqual({ ok: true, value: { offsetSec: expect.closeTo(-0.025, 9), uncertaintySec: 0.025 } });
  });

  it('accepts whole seconds from a date without %N, with 1 s less precision', () => {
    const r = clockReading({ exitCode: 0, stdout: '2.N\n', stderr: '', durationMs: 0 }, 2000, 2000);
    expect(r).toEqual({ ok: true, value: { offsetSec: 0.5, uncertaintySec: 0.5 } });
  });

  it('takes the middle value nearer the workstation for an even count', () => {
    expect(medianOffset([0, 2.5])).toBe(0);
    expect(medianOffset([-3, 0.1, 0.2, 5])).toBe(0.1);
    expect(medianOffset([1, 2, 30])).toBe(2);
  });
});

describe('clock-skew check', () => {
  it('passes when the clocks agree', async () => {
    const f = await skew([0, 0.01, -0.02]);
    expect(f.map((x) => x.status)).toEqual(['ok', 'ok', 'ok']);
    expect(f[1]?.message).toBe("clock is +0.010 s from the other nodes' median (+0.010 s against this workstation, ±0 ms)");
  });

  it('fails the one node whose clock is off by more than 2 s and names it', async () => {
    const f = await skew([0, 0.05, -30]);
    expect(f.map((x) => x.status)).toEqual(['ok', 'ok', 'fail']);
    expect(f[2]).toMatchObject({
      node: 'pve3',
      message: "clock is -30.0 s from the other nodes' median (-30.0 s against this workstation, ±0 ms); more than 2 s",
      hint: 'synchronise every node to the same NTP servers (chrony), then step once: chronyc makestep',
    });
  });

  it('warns between 0.5 s and 2 s, and the limits are settable', async () => {
    expect((await skew([0, 0.8, 0])).map((x) => x.status)).toEqual(['ok', 'warn', 'ok']);
    expect((await skew([0, 0.8, 0], { skewWarnSec: 1 })).map((x) => x.status)).toEqual(['ok', 'ok', 'ok']);
    expect((await skew([0, 0.8, 0], { skewWarnSec: 0.1, skewFailSec: 0.5 })).map((x) => x.status)).toEqual(['ok', 'fail', 'ok']);
  });

  it('judges the largest difference between nodes, even without a single outlier', async () => {
    const f = await skew([-0.4, 0, 0.4]);
    expect(f.map((x) => x.status)).toEqual(['warn', 'ok', 'warn']);
    expect(f[0]?.message).toMatch(/the nodes span 0.80 s/);
  });

  it('with two nodes blames the one farther from the workstation clock', async () => {
    expect((await skew([0, 2.5])).map((x) => x.status)).toEqual(['ok', 'fail']);
  });

  it('warns for a node whose clock cannot be read (missing date, garbage) and leaves it out', async () => {
    const r = await runScenario({
      nodes: inventoryNodes(3),
      node: { pve2: { clockExit: 127, clock: '' }, pve3: { clock: 'Wed Aug 19 17:22:53 UTC 2026' } },
    });
    const f = of(r, 'clock-skew');
    expect(f[0]).toMatchObject({ status: 'ok', message: 'the only clock read (+0.000 s against this workstation, ±0 ms)' });
    expect(f[1]).toMatchObject({ status: 'warn', message: 'could not read the clock: date is not installed' });
    expect(f[2]).toMatchObject({ status: 'warn', message: "could not read the clock: date printed 'Wed Aug 19 17:22:53 UTC 2026' instead of seconds since the epoch" });
  });
});
