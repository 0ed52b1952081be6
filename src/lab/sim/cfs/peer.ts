/**
 * The channel between the pmxcfs daemons of a cluster (what corosync CPG carries for the real one):
 * TCP on the node's lab address, port PEER_PORT, one JSON request and one JSON answer per connection.
 * A daemon only ever talks to the members its own corosync sees, so a partition made with nftables
 * or a link cut separates the daemons exactly as it separates corosync.
 */
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** TCP port of the daemon channel (outside corosync's 5405-5412). */
export const PEER_PORT = 5420;

/** The biggest message accepted (a whole database with headroom). */
const MAX_MESSAGE = 64 * 1024 * 1024;

/** Answer requests with `handler`; resolves once listening. */
export function listenPeers(host: string, port: number, handler: (msg: unknown) => Promise<unknown>): Promise<net.Server> {
  return listenOn(answering(handler), (server, cb) => server.listen(port, host, cb));
}

/** Answer requests of the node's own processes on a unix socket (pmxcfs's local IPC); resolves once listening. */
export function listenLocal(socketPath: string, handler: (msg: unknown) => Promise<unknown>): Promise<net.Server> {
  mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  rmSync(socketPath, { force: true });
  return listenOn(answering(handler), (server, cb) => server.listen(socketPath, cb));
}

function listenOn(server: net.Server, listen: (server: net.Server, cb: () => void) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    listen(server, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function answering(handler: (msg: unknown) => Promise<unknown>): net.Server {
  return net.createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_MESSAGE) sock.destroy();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        sock.destroy();
        return;
      }
      handler(msg).then(
        (answer) => sock.end(`${JSON.stringify(answer ?? null)}\n`),
        (e: unknown) => sock.end(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`),
      );
    });
    sock.on('error', () => undefined);
  });
}

/** Send one request and wait for its answer; rejects on connection failure or after `timeoutMs`. */
export function request<T>(host: string, port: number, msg: unknown, timeoutMs: number): Promise<T> {
  return requestOn<T>({ host, port }, host, msg, timeoutMs);
}

/** One request on the node's own unix socket. */
export function requestLocal<T>(socketPath: string, msg: unknown, timeoutMs: number): Promise<T> {
  return requestOn<T>({ path: socketPath }, socketPath, msg, timeoutMs);
}

function requestOn<T>(to: net.NetConnectOpts, name: string, msg: unknown, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(to);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${name}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(msg)}\n`));
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_MESSAGE) sock.destroy(new Error('answer too big'));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        const v = JSON.parse(buf) as T & { error?: string };
        if (v && typeof v === 'object' && typeof v.error === 'string') reject(new Error(v.error));
        else resolve(v);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
