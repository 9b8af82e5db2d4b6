// A small JSON client over node:http(s) with keep-alive sockets, a per-attempt timeout, and
// bounded retries that resend the same request (same Idempotency-Key) so nothing is done twice.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpAnswer {
  /** HTTP status, or 0 when no answer came back (network error or timeout). */
  status: number;
  /** The parsed JSON body, when there was one. */
  body: unknown;
  /** The envelope's `code` on errors, or the network error code (ECONNREFUSED, TIMEOUT, ...) when status is 0. */
  code: string | undefined;
  retryAfterS: number | undefined;
  latencyMs: number;
}

export interface SendResult extends HttpAnswer {
  /** Attempts made, 1 to MAX_ATTEMPTS. */
  attempts: number;
}

export const MAX_ATTEMPTS = 3;
const BACKOFF_MS = [100, 300] as const;
const MAX_RETRY_AFTER_MS = 1000;

/** A failure after which the same request may safely be sent again. */
export function isRetryable(answer: HttpAnswer, withIdempotencyKey: boolean): boolean {
  if (answer.status === 0 || answer.status === 503) return true;
  // The first attempt is still running on the server: retrying fetches its stored answer.
  return withIdempotencyKey && answer.status === 409 && answer.code === 'IDEMPOTENCY_IN_PROGRESS';
}

export interface HttpClientOptions {
  maxSockets: number;
  timeoutMs: number;
}

export class HttpClient {
  private readonly base: URL;
  private readonly basePath: string;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(
    baseUrl: string,
    private readonly options: HttpClientOptions,
  ) {
    this.base = new URL(baseUrl);
    this.basePath = this.base.pathname.replace(/\/+$/, '');
    this.transport = this.base.protocol === 'https:' ? https : http;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets };
    this.agent = this.base.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** One attempt. Never throws: a network failure is status 0 with the error code. */
  request(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const finish = (answer: Omit<HttpAnswer, 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        resolve({ ...answer, latencyMs: performance.now() - started });
      };
      const req = this.transport.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: this.base.port,
          path: this.basePath + path,
          method,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (err: NodeJS.ErrnoException) => finish({ status: 0, body: undefined, code: err.code ?? 'ERESPONSE', retryAfterS: undefined }));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              parsed = text;
            }
            const code = (parsed as { code?: unknown } | undefined)?.code;
            const retryAfter = Number(res.headers['retry-after']);
            finish({
              status: res.statusCode ?? 0,
              body: parsed,
              code: typeof code === 'string' ? code : undefined,
              retryAfterS: Number.isFinite(retryAfter) ? retryAfter : undefined,
            });
          });
        },
      );
      req.setTimeout(this.options.timeoutMs, () => {
        finish({ status: 0, body: undefined, code: 'TIMEOUT', retryAfterS: undefined });
        req.destroy();
      });
      req.on('error', (err: NodeJS.ErrnoException) => finish({ status: 0, body: undefined, code: err.code ?? err.message, retryAfterS: undefined }));
      req.end(payload);
    });
  }

  /**
   * Sends a request, then resends the very same request (same body, same headers, so the same
   * Idempotency-Key) after a network error, a 503, or a 409 IDEMPOTENCY_IN_PROGRESS, up to
   * MAX_ATTEMPTS in all. `onAttempt` sees every attempt, for the statistics.
   */
  async send(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    headers: Record<string, string>,
    onAttempt: (answer: HttpAnswer, attempt: number) => void = () => {},
  ): Promise<SendResult> {
    const withKey = Object.keys(headers).some((h) => h.toLowerCase() === 'idempotency-key');
    for (let attempt = 1; ; attempt++) {
      const answer = await this.request(method, path, body, headers);
      onAttempt(answer, attempt);
      if (attempt >= MAX_ATTEMPTS || !isRetryable(answer, withKey)) return { ...answer, attempts: attempt };
      const backoff: number = BACKOFF_MS[attempt - 1] ?? BACKOFF_MS[BACKOFF_MS.length - 1] ?? 0;
      const retryAfter = answer.retryAfterS === undefined ? 0 : Math.min(answer.retryAfterS * 1000, MAX_RETRY_AFTER_MS);
      // A little jitter, so shoppers turned away together do not come back together.
      await sleep(Math.max(backoff, retryAfter) * (1 + Math.random() * 0.2));
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
