import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Readiness } from './readiness.js';

/** The listener closes once no connection has arrived for this long... */
export const ACCEPT_QUIET_MS = 100;
/** ...or after this long, whichever comes first. */
export const MAX_ACCEPT_WAIT_MS = 1_000;

/**
 * Ends the HTTP side without cutting anyone off:
 * 1. readiness turns 503, so a balancer stops sending; requests that had not reached a handler
 *    get the enveloped 503, and every response from now on says Connection: close;
 * 2. the listener keeps accepting until connections stop arriving: closing a listening socket
 *    resets the connections still in the kernel's accept queue, so those are taken and answered;
 * 3. the listener closes, idle sockets close, each busy socket closes after its response, and
 *    Fastify's onClose hooks stop the sweeper and close the store.
 */
export async function drainHttp(app: FastifyInstance, readiness: Readiness): Promise<void> {
  readiness.drain();
  let lastConnection = performance.now();
  const onConnection = () => (lastConnection = performance.now());
  app.server.on('connection', onConnection);
  const started = performance.now();
  for (;;) {
    await sleep(ACCEPT_QUIET_MS);
    // After the poll phase of this turn of the event loop: pending connections are accepted and
    // bytes that arrived are read, so a socket with a request on its way no longer looks idle.
    await new Promise((resolve) => setImmediate(resolve));
    const now = performance.now();
    if (now - lastConnection >= ACCEPT_QUIET_MS || now - started >= MAX_ACCEPT_WAIT_MS) break;
  }
  app.server.off('connection', onConnection);
  await app.close();
}
