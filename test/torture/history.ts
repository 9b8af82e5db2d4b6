/**
 * The history of a torture run, in Jepsen's terms: every HTTP attempt is recorded when it is sent
 * and again when it completes, as `ok` (the server answered), `fail` (it certainly did not reach
 * the server, or the server said nothing was committed) or `info` (the connection dropped or timed
 * out after the request went out: it may or may not have taken effect).
 */

export type OperationKind =
  | 'create-product'
  | 'reserve'
  | 'confirm'
  | 'reserve-cancel'
  | 'checkout-cancel'
  | 'payment'
  | 'get-reservation'
  | 'get-order';

export type AttemptType = 'ok' | 'fail' | 'info';

export interface Attempt {
  /** ms since the run started, when the request was handed to the client. */
  invokedAt: number;
  /** ms since the run started, when its outcome was known; undefined while in flight. */
  completedAt?: number;
  /** Date.now() at both ends: the server stamps rows with Date.now() on the same machine. */
  invokedWallMs: number;
  completedWallMs?: number;
  type?: AttemptType;
  /** Which instance it went to (always 0 with one server). */
  instance: number;
  status?: number;
  /** The answer exactly as sent, for the byte-for-byte comparison of replays. */
  raw?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body?: any;
  replayed?: boolean;
  /** Why an attempt failed or is unknown: the socket error code, or the HTTP status and code. */
  error?: string;
}

export interface Operation {
  id: number;
  userId: string;
  kind: OperationKind;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Every write carries one; all attempts of an operation share it. */
  idempotencyKey?: string;
  /** The reservation or order the operation is about, when it names one. */
  target?: { reservationId?: string; orderId?: string };
  attempts: Attempt[];
}

/** An attempt that carries the server's final word on the operation (not "busy, try again"). */
export function isDefiniteAnswer(attempt: Attempt): boolean {
  return attempt.type === 'ok' && attempt.status !== undefined && attempt.status < 500 && attempt.body?.code !== 'IDEMPOTENCY_IN_PROGRESS';
}

/**
 * One outcome per operation: `ok` once any attempt got a definite answer; otherwise `info` if any
 * attempt may have reached the server and done something; otherwise `fail`.
 */
export function operationOutcome(op: Operation): AttemptType {
  if (op.attempts.some(isDefiniteAnswer)) return 'ok';
  const mayHaveRun = op.attempts.some((a) => a.type !== 'fail');
  return mayHaveRun ? 'info' : 'fail';
}

/** The first definite answer of an operation, if it got one. */
export function answerOf(op: Operation): Attempt | undefined {
  return op.attempts.find(isDefiniteAnswer);
}

export class History {
  readonly operations: Operation[] = [];
  private readonly startedAt = performance.now();

  now(): number {
    return Math.round((performance.now() - this.startedAt) * 1000) / 1000;
  }

  begin(op: Omit<Operation, 'id' | 'attempts'>): Operation {
    const recorded: Operation = { ...op, id: this.operations.length, attempts: [] };
    this.operations.push(recorded);
    return recorded;
  }

  invoke(op: Operation, instance: number): Attempt {
    const attempt: Attempt = { invokedAt: this.now(), invokedWallMs: Date.now(), instance };
    op.attempts.push(attempt);
    return attempt;
  }

  complete(attempt: Attempt, result: Omit<Attempt, 'invokedAt' | 'invokedWallMs' | 'instance' | 'completedAt' | 'completedWallMs'>): void {
    Object.assign(attempt, result, { completedAt: this.now(), completedWallMs: Date.now() });
  }
}
