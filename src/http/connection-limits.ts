// Fair connections: no single client address may hold the server's connections. An idle
// kept-alive socket is closed after KEEP_ALIVE_TIMEOUT; once a request's first byte arrives,
// Node's HEADERS_TIMEOUT runs for it, on the first request of a connection and every later one;
// and each client address may hold at most MAX_CONNECTIONS_PER_CLIENT sockets at once.
import { compile } from '@fastify/proxy-addr';
import { normalizeIP } from '@fastify/rate-limit';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config, TrustProxy } from '../config.js';

/** Whether a socket's peer is a proxy TRUST_PROXY believes: its connections carry many clients. */
function trustedPeer(trustProxy: TrustProxy): (address: string) => boolean {
  if (trustProxy === true) return () => true;
  if (trustProxy === false) return () => false;
  const trust = compile([...trustProxy]);
  return (address) => trust(address, 0);
}

/** Open sockets per client address, refusing one over the cap at accept. */
export class ConnectionCounter {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly maxPerClient: number,
    private readonly trusted: (address: string) => boolean,
  ) {}

  /** Counts the socket, or destroys it when its address already holds the maximum. */
  admit(socket: Socket): void {
    const peer = socket.remoteAddress;
    if (peer === undefined) return;
    // Behind a trusted proxy the peer is the proxy, whose pool of connections serves every client.
    if (this.trusted(peer)) return;
    // Per /64 for IPv6, as the rate limiter counts: one client usually holds a whole /64.
    const client = normalizeIP(peer);
    const count = this.open.get(client) ?? 0;
    if (count >= this.maxPerClient) {
      socket.destroy();
      return;
    }
    this.open.set(client, count + 1);
    socket.once('close', () => {
      const left = (this.open.get(client) ?? 1) - 1;
      if (left === 0) this.open.delete(client);
      else this.open.set(client, left);
    });
  }

  /** Open sockets counted for `client` (an address as normalizeIP gives it). */
  openFor(client: string): number {
    return this.open.get(client) ?? 0;
  }
}

/** Call once, before listening. */
export function applyConnectionLimits(app: FastifyInstance, config: Readonly<Config>): ConnectionCounter {
  // Node's default keeps an idle socket 72 s (Fastify's), long enough for one client to pile them up.
  app.server.keepAliveTimeout = config.keepAliveTimeoutMs;
  const counter = new ConnectionCounter(config.maxConnectionsPerClient, trustedPeer(config.trustProxy));
  app.server.on('connection', (socket: Socket) => counter.admit(socket));
  return counter;
}
