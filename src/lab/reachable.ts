/** Whether a lab node answers on a TCP port, asked from the host the way a client connects. */
import net from 'node:net';

/** One connect attempt: true when `host:port` accepts within `timeoutMs`. */
export function tcpAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Connect until `host:port` accepts or `timeoutMs` has passed. A link that just came back can fail
 * the first connection: the host's neighbour entry may still be resolving with probes sent while
 * the link was down, and a connection queued on it fails with it ("No route to host"); the next
 * attempt resolves afresh.
 */
export async function waitTcpAnswers(host: string, port: number, timeoutMs: number, retryMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tcpAnswers(host, port, Math.max(100, Math.min(1000, deadline - Date.now())))) return true;
    if (Date.now() + retryMs > deadline) return false;
    await new Promise((r) => setTimeout(r, retryMs));
  }
}
