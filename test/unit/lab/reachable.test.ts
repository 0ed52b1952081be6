/** The lab's reachability wait: a listening port answers at once, a port that opens later is waited for, a closed one times out. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpAnswers, waitTcpAnswers } from '../../../src/lab/reachable.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(port = 0): Promise<number> {
  const s = net.createServer((c) => c.destroy());
  servers.push(s);
  return new Promise((resolve) => s.listen(port, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
}

/** A port nothing listens on (taken, then given back). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
  await new Promise((r) => s.close(r));
  return port;
}

describe('tcpAnswers / waitTcpAnswers', () => {
  it('a listening port answers; a closed one does not', async () => {
    expect(await tcpAnswers('127.0.0.1', await listen(), 1000)).toBe(true);
    expect(await tcpAnswers('127.0.0.1', await closedPort(), 1000)).toBe(false);
  });

  it('waits for a port that starts listening later, and gives up on one that never does', async () => {
    const port = await closedPort();
    const t0 = Date.now();
    setTimeout(() => void listen(port), 400);
    expect(await waitTcpAnswers('127.0.0.1', port, 5000)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    const never = await closedPort();
    const t1 = Date.now();
    expect(await waitTcpAnswers('127.0.0.1', never, 600)).toBe(false);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(500);
  });
});
