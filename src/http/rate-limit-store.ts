// The per-process rate-limit counters (without RATE_LIMIT_REDIS_URL): fixed windows, bounded in
// size, and fair. An entry lives exactly until its window ends and is never evicted before, so a
// client flooding the table with new keys cannot reset anyone else's count. When the table is
// full, a key it does not hold is counted in one of a fixed number of shared overflow counters:
// still limited, never unlimited, at worst limited early until the window frees room.
import { createHash } from 'node:crypto';

/** What @fastify/rate-limit expects from `incr`. */
interface Count {
  current: number;
  ttl: number;
}

interface Entry {
  count: number;
  startedAt: number;
}

export const OVERFLOW_COUNTERS = 1_024;
/** Keys longer than this are stored as a fixed-size hash. */
export const MAX_KEY_CHARS = 64;

/**
 * A rate-limit key of bounded size: short keys as they are (readable in Redis), longer ones as
 * their SHA-256 (43 characters), so no input can make one counter cost more than a few hundred bytes.
 */
export function boundedKey(key: string): string {
  return key.length <= MAX_KEY_CHARS ? key : `h:${createHash('sha256').update(key).digest('base64url')}`;
}

export class WindowCounters {
  // A Map iterates in insertion order, and every entry lives one window from its (re)insertion,
  // so the entries that expire first are always at the front.
  private readonly entries = new Map<string, Entry>();
  private readonly overflow = new Map<number, Entry>();

  constructor(
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  incr(key: string, done: (err: Error | null, count: Count) => void, windowMs: number): void {
    const now = this.now();
    this.dropExpired(now, windowMs);
    let entry = this.entries.get(key);
    if (entry === undefined && this.entries.size < this.capacity) {
      entry = { count: 0, startedAt: now };
      this.entries.set(key, entry);
    }
    // entries only ever holds live windows (dropExpired ran), so only overflow counters restart here.
    entry ??= this.overflowCounter(key, now, windowMs);
    entry.count++;
    done(null, { current: entry.count, ttl: entry.startedAt + windowMs - now });
  }

  /** Counters held, overflow ones included: never more than capacity + OVERFLOW_COUNTERS. */
  get size(): number {
    return this.entries.size + this.overflow.size;
  }

  /** The plugin asks each scope's store for a child; one table serves the scope. */
  child(): this {
    return this;
  }

  private dropExpired(now: number, windowMs: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.startedAt + windowMs > now) return;
      this.entries.delete(key);
    }
  }

  private overflowCounter(key: string, now: number, windowMs: number): Entry {
    const bucket = createHash('sha256').update(key).digest().readUInt32BE(0) % OVERFLOW_COUNTERS;
    let entry = this.overflow.get(bucket);
    if (entry === undefined || entry.startedAt + windowMs <= now) {
      entry = { count: 0, startedAt: now };
      this.overflow.set(bucket, entry);
    }
    return entry;
  }
}
