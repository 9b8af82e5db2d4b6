import type { History, Attempt, Operation } from './history.js';
import { isDefiniteAnswer } from './history.js';
import type { Prng } from './prng.js';

/**
 * Socket errors raised before a single byte of the request can have reached the server: the
 * attempt certainly did nothing (Jepsen's `:fail`). Everything else after sending is `:info`.
 */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL', 'ENOTFOUND']);

/** An operation before it is sent: the history assigns its id and records its attempts. */
export type OperationSpec = Omit<Operation, 'id' | 'attempts'> & {
  /** Send the first attempt twice at once, same key: the server must treat it as one request. */
  duplicate?: boolean;
};

export interface ClientOptions {
  /** Per attempt. A timeout is `:info`: the server may still be working on it. */
  timeoutMs: number;
  /** How long an operation keeps retrying (same key) before it is left as unknown. */
  retryBudgetMs: number;
}

/** Where to send: the live base URLs of the instances, read at every attempt (a restart may move one). */
export interface Endpoints {
  urls(): readonly string[];
}

function errorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: string; name?: string } } | null)?.cause;
  if (cause?.code) return cause.code;
  const name = (err as { name?: string } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  return cause?.name ?? name ?? 'error';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs operations against the fleet and writes every attempt into the history. A request that
 * did not get a definite answer is sent again with the same Idempotency-Key (to another
 * instance when there are several), until it gets one or the retry budget runs out.
 */
export class TortureClient {
  constructor(
    private readonly history: History,
    private readonly endpoints: Endpoints,
    private readonly options: ClientOptions,
  ) {}

  /** The operation's definite answer, or undefined when it failed or its outcome is unknown. */
  async perform(spec: OperationSpec, prng: Prng): Promise<{ op: Operation; answer: Attempt | undefined }> {
    const { duplicate, ...recorded } = spec;
    const op = this.history.begin(recorded);
    const deadline = performance.now() + this.options.retryBudgetMs;
    let first = true;
    for (;;) {
      const copies = first && duplicate ? 2 : 1;
      first = false;
      const attempts = await Promise.all(Array.from({ length: copies }, () => this.attempt(op, prng)));
      const answer = attempts.find(isDefiniteAnswer);
      if (answer) return { op, answer };
      if (performance.now() > deadline) return { op, answer: undefined };
      // Back off a little; a restart takes a second or two, and a 409 in-progress needs its owner to finish.
      await sleep(prng.int(50, 300));
    }
  }

  private async attempt(op: Operation, prng: Prng): Promise<Attempt> {
    const urls = this.endpoints.urls();
    const instance = urls.length === 1 ? 0 : prng.int(0, urls.length - 1);
    const attempt = this.history.invoke(op, instance);
    const headers: Record<string, string> = {};
    if (op.body !== undefined) headers['content-type'] = 'application/json';
    if (op.idempotencyKey) headers['idempotency-key'] = op.idempotencyKey;
    let status: number | undefined;
    try {
      const res = await fetch(`${urls[instance]}${op.path}`, {
        method: op.method,
        headers,
        body: op.body === undefined ? undefined : JSON.stringify(op.body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = res.status;
      const raw = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const replayed = res.headers.get('idempotent-replayed') === 'true';
      // The API promises a 503 committed nothing (PostgreSQL's dropped COMMIT aside, which a
      // torture that kills servers, not the database, does not cause).
      const type = status === 503 ? 'fail' : 'ok';
      const code = (body as { code?: string } | undefined)?.code;
      this.history.complete(attempt, { type, status, raw, body, replayed, ...(status >= 400 ? { error: `${status} ${code ?? ''}`.trim() } : {}) });
    } catch (err) {
      const code = errorCode(err);
      // Headers arrived but the body did not: the server decided, but we cannot tell what.
      const type = status === undefined && NOT_SENT.has(code) ? 'fail' : 'info';
      this.history.complete(attempt, { type, ...(status === undefined ? {} : { status }), error: code });
    }
    return attempt;
  }
}
