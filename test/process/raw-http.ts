// HTTP/1.1 over a bare socket, for drain tests: a request can be held half-sent, and a reset is
// seen as a reset rather than hidden behind a client's retry.
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  raw: string;
}

export interface RawRequest {
  /** Resolves once the first part is written (all of it unless `holdBack`). */
  sent: Promise<void>;
  /** Sends the rest of a held-back body. */
  finish(): void;
  /** The answer, or a rejection carrying the socket error code (ECONNRESET) or CLOSED_WITHOUT_ANSWER. */
  answer: Promise<RawAnswer>;
}

function parse(buffer: Buffer): RawAnswer | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  const length = Number(headers.get('content-length') ?? NaN);
  const bodyBytes = buffer.subarray(end + 4);
  if (!Number.isFinite(length) || bodyBytes.length < length) return undefined;
  const raw = bodyBytes.subarray(0, length).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    body = undefined;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body, raw };
}

/** One request on a fresh connection; `holdBack` keeps the last bytes of the body until finish(). */
export function rawRequest(port: number, method: string, path: string, body?: unknown, options: { holdBack?: number } = {}): RawRequest {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  const head =
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    (body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n`) +
    '\r\n';
  const cut = payload.length - Math.min(options.holdBack ?? 0, payload.length);
  const socket: Socket = connect({ port, host: '127.0.0.1' });
  const sent = new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.write(Buffer.concat([Buffer.from(head), payload.subarray(0, cut)]), (err) => (err ? reject(err) : resolve()));
  });
  sent.catch(() => undefined);
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    let settled = false;
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parse(received);
      if (parsed && !settled) {
        settled = true;
        resolve(parsed);
        socket.destroy();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!settled) reject(Object.assign(new Error(err.code ?? err.message), { code: err.code ?? err.message }));
      settled = true;
    });
    socket.on('close', () => {
      if (!settled) reject(Object.assign(new Error('CLOSED_WITHOUT_ANSWER'), { code: 'CLOSED_WITHOUT_ANSWER' }));
      settled = true;
    });
  });
  return { sent, finish: () => socket.write(payload.subarray(cut)), answer };
}

/** Resolves when a new connection to the port is refused: the listener has closed. */
export async function portClosed(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    if (refused) return true;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return false;
}
