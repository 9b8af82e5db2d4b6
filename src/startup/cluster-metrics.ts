import type { Cluster, Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Scrape } from '../http/routes/metrics.routes.js';

// With WORKERS > 1 the workers share one port, so a scrape lands on any of them. That worker
// asks the primary, which collects every worker's metrics and sums them (prom-client's
// aggregator; gauges read from the store say `first`), so one scrape covers the process group.

const SCRAPE = 'stockhold:metrics:scrape';
const COLLECT = 'stockhold:metrics:collect';
const PART = 'stockhold:metrics:part';
const RESULT = 'stockhold:metrics:result';
const COLLECT_TIMEOUT_MS = 5_000;

interface Message {
  type?: string;
  id?: number;
  metrics?: unknown;
  text?: string;
  error?: string;
}

/** Primary side: answers workers' scrapes with the metrics of all workers combined. */
export function aggregateWorkerMetrics(cluster: Cluster): void {
  let next = 0;
  const pending = new Map<number, (worker: Worker, metrics: unknown) => void>();
  cluster.on('message', (asker, message: Message) => {
    if (message?.type === PART && typeof message.id === 'number') pending.get(message.id)?.(asker, message.metrics);
    if (message?.type !== SCRAPE) return;
    const id = next++;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    const parts = new Map<Worker, unknown>();
    const reply = (extra: Partial<Message>) => {
      pending.delete(id);
      clearTimeout(timer);
      if (asker.isConnected()) asker.send({ type: RESULT, id: message.id, ...extra });
    };
    const finish = () => {
      const list = [...parts.values()] as Parameters<typeof AggregatorRegistry.aggregate>[0];
      AggregatorRegistry.aggregate(list)
        .metrics()
        .then((text) => reply({ text }), (err: unknown) => reply({ error: String(err) }));
    };
    const timer = setTimeout(finish, COLLECT_TIMEOUT_MS);
    pending.set(id, (worker, metrics) => {
      parts.set(worker, metrics);
      if (parts.size === workers.length) finish();
    });
    for (const worker of workers) worker.send({ type: COLLECT, id });
  });
}

/** Worker side: hands its metrics to the primary on request, and scrapes the group through it. */
export function workerScrape(registry: () => Registry): Scrape {
  let next = 0;
  const waiting = new Map<number, (message: Message) => void>();
  process.on('message', (message: Message) => {
    if (message?.type === COLLECT) {
      registry()
        .getMetricsAsJSON()
        .then((metrics) => process.send?.({ type: PART, id: message.id, metrics }));
    } else if (message?.type === RESULT && typeof message.id === 'number') {
      waiting.get(message.id)?.(message);
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, (message) => {
        waiting.delete(id);
        if (message.text !== undefined) resolve({ contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE, text: message.text });
        else reject(new Error(`cluster metrics: ${message.error ?? 'no answer'}`));
      });
      process.send?.({ type: SCRAPE, id });
    });
}
