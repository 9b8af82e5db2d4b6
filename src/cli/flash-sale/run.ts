// `npm run flash-sale`: the whole rehearsal, callable in-process (the tests do) with any streams.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpClient } from './http-client.js';
import { parseOptions, UsageError, USAGE, type FlashSaleOptions } from './options.js';
import { startProgress, type ProgressStream } from './progress.js';
import { buildReport, renderText, type ExpiryWait, type ProductCounters } from './report.js';
import { planShopper, runShopper, Tally, type ShopperContext } from './shopper.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** After the last abandoned hold is due, how long --wait-expiry still waits for the sweeper. */
export const EXPIRY_GRACE_MS = 30_000;
const EXPIRY_POLL_MS = 1000;
const EXPIRY_SLACK_MS = 100;

export interface FlashSaleIo {
  /** The report. */
  stdout: { write(text: string): unknown };
  /** Progress and error messages. */
  stderr: ProgressStream;
  /** Aborting stops starting new shoppers; those in flight finish and the report is printed. */
  signal?: AbortSignal;
}

/** The deployment could not be used; the message says why. Exit 1. */
class RunError extends Error {}

const COUNTER_FIELDS = ['totalQuantity', 'availableQuantity', 'reservedQuantity', 'soldQuantity'] as const;

async function readProduct(client: HttpClient, options: FlashSaleOptions): Promise<ProductCounters> {
  const answer = await client.send('GET', `/inventory/${encodeURIComponent(options.sku)}`, undefined, {});
  if (answer.status === 0) throw new RunError(`--url: cannot reach ${options.url} (${answer.code})`);
  if (answer.status === 404 && answer.code === 'PRODUCT_NOT_FOUND') throw new UsageError(`--sku: no product ${options.sku} at ${options.url}`);
  if (answer.status !== 200) throw new RunError(`GET /inventory/${options.sku} answered ${answer.status} ${answer.code ?? ''}`.trim());
  const data = (answer.body as { data?: Record<string, unknown> } | undefined)?.data;
  if (!data || COUNTER_FIELDS.some((field) => typeof data[field] !== 'number')) {
    throw new RunError(`--url: GET /inventory/${options.sku} at ${options.url} did not answer with stockhold's product counters`);
  }
  return Object.fromEntries(COUNTER_FIELDS.map((field) => [field, data[field] as number])) as unknown as ProductCounters;
}

/** Polls the product until reservedQuantity is back to its pre-run value, or the last hold's TTL + 30 s has passed. */
async function waitForExpiry(
  client: HttpClient,
  options: FlashSaleOptions,
  before: ProductCounters,
  after: ProductCounters,
  tally: Tally,
  io: FlashSaleIo,
): Promise<ExpiryWait> {
  const started = performance.now();
  const deadline = Math.max(tally.lastHoldDueAt, started) + EXPIRY_GRACE_MS;
  if (!options.json && tally.abandoned > 0) {
    io.stderr.write(`flash-sale: waiting for ${tally.abandoned} abandoned holds to expire (up to ${Math.ceil((deadline - started) / 1000)} s)\n`);
  }
  let product = after;
  for (;;) {
    try {
      product = await readProduct(client, options);
    } catch {
      // A failed poll is retried until the deadline; the last counters read are reported.
    }
    const waitedMs = performance.now() - started;
    if (product.reservedQuantity <= before.reservedQuantity) return { released: true, waitedMs, product };
    if (performance.now() >= deadline || io.signal?.aborted) return { released: false, waitedMs, product };
    // Each second; but right when the last hold falls due, and briefly more often just after it, when the sweeper catches up.
    const sinceDue = performance.now() - (tally.lastHoldDueAt + EXPIRY_SLACK_MS);
    const pause = sinceDue < 0 ? Math.min(EXPIRY_POLL_MS, -sinceDue) : sinceDue < 2000 ? 2 * EXPIRY_SLACK_MS : EXPIRY_POLL_MS;
    await sleep(Math.max(10, Math.min(pause, deadline - performance.now())));
  }
}

async function rehearse(options: FlashSaleOptions, io: FlashSaleIo): Promise<number> {
  const client = new HttpClient(options.url, { maxSockets: options.concurrency, timeoutMs: options.timeoutMs });
  try {
    const before = await readProduct(client, options);
    // A fresh prefix per run: userIds never meet a previous run's holds (one live hold per shopper and sku).
    const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const tally = new Tally();
    const ctx: ShopperContext = { client, sku: options.sku, runId, idempotency: options.idempotency, tally, now: () => performance.now() };
    const startedAt = new Date();
    const t0 = performance.now();
    const progress = options.json ? undefined : startProgress(io.stderr, tally, options.users, () => performance.now());

    let next = 0;
    const worker = async (): Promise<void> => {
      while (!io.signal?.aborted) {
        const index = next++;
        if (index >= options.users) return;
        tally.started++;
        try {
          await runShopper(planShopper(options, runId, index), ctx);
        } finally {
          tally.done++;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(options.concurrency, options.users) }, worker));
    } finally {
      progress?.stop();
    }
    const durationMs = performance.now() - t0;

    // The shoppers' side is still worth printing when the deployment went away during the run.
    let after: ProductCounters | null = null;
    let afterError: string | undefined;
    try {
      after = await readProduct(client, options);
    } catch (err) {
      afterError = err instanceof Error ? err.message : String(err);
    }
    const wait = options.waitExpiry && after ? await waitForExpiry(client, options, before, after, tally, io) : null;
    const interrupted = io.signal?.aborted === true;
    const report = buildReport({ runId, options, startedAt, durationMs, interrupted, tally, before, after, afterError, wait });
    io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
    return report.ok ? EXIT_OK : EXIT_FAILED;
  } finally {
    client.close();
  }
}

/**
 * Runs a rehearsal and resolves to the exit status: 0 when nothing was oversold and the counters
 * are consistent, 1 when not (or the deployment cannot be read), 2 for bad usage. `args` is
 * either the command line (without node and the script) or options already parsed.
 */
export async function runFlashSale(args: readonly string[] | FlashSaleOptions, io: FlashSaleIo): Promise<number> {
  try {
    const options = Array.isArray(args) ? parseOptions(args) : (args as FlashSaleOptions);
    if (options.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    return await rehearse(options, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`flash-sale: ${err.message}\nrun with --help for the options\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`flash-sale: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILED;
  }
}
