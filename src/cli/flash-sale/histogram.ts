// Latency samples of one route: exact percentiles and a coarse text histogram.

/** Upper bounds (exclusive, ms) of the buckets; a last bucket holds everything from 1 s up. */
export const BUCKET_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] as const;
export const BUCKET_LABELS = [...BUCKET_BOUNDS_MS.map((b) => (b === 1000 ? '<1s' : `<${b}ms`)), '>=1s'] as const;

export interface LatencySummary {
  count: number;
  /** Milliseconds, rounded to 0.01; 0 when there are no samples. */
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  buckets: { label: string; count: number }[];
}

const round2 = (ms: number): number => Math.round(ms * 100) / 100;

export class LatencyHistogram {
  private readonly samples: number[] = [];
  private readonly counts: number[] = new Array<number>(BUCKET_LABELS.length).fill(0);

  record(ms: number): void {
    this.samples.push(ms);
    const index = BUCKET_BOUNDS_MS.findIndex((bound) => ms < bound);
    const bucket = index === -1 ? BUCKET_BOUNDS_MS.length : index;
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
  }

  get count(): number {
    return this.samples.length;
  }

  summary(): LatencySummary {
    const sorted = Float64Array.from(this.samples).sort();
    // Nearest rank: the smallest sample with at least p% of the samples at or below it.
    const at = (p: number): number => (sorted.length === 0 ? 0 : round2(sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0));
    const total = this.samples.reduce((sum, ms) => sum + ms, 0);
    return {
      count: sorted.length,
      mean: sorted.length === 0 ? 0 : round2(total / sorted.length),
      p50: at(50),
      p90: at(90),
      p99: at(99),
      max: sorted.length === 0 ? 0 : round2(sorted[sorted.length - 1] ?? 0),
      buckets: BUCKET_LABELS.map((label, i) => ({ label, count: this.counts[i] ?? 0 })),
    };
  }
}

/** Text bars for the non-empty span of buckets, e.g. `  <5ms   ############   1203  41.2%`. */
export function renderBuckets(buckets: readonly { label: string; count: number }[], width = 30, indent = '    '): string[] {
  const first = buckets.findIndex((b) => b.count > 0);
  if (first === -1) return [];
  let last = buckets.length - 1;
  while (last > first && (buckets[last]?.count ?? 0) === 0) last--;
  const shown = buckets.slice(first, last + 1);
  const peak = Math.max(...shown.map((b) => b.count));
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  const countWidth = String(peak).length;
  return shown.map((b) => {
    const bar = b.count === 0 ? '' : '#'.repeat(Math.max(1, Math.round((b.count / peak) * width)));
    const pct = ((b.count / total) * 100).toFixed(1).padStart(5);
    return `${indent}${b.label.padEnd(6)} ${bar.padEnd(width)} ${String(b.count).padStart(countWidth)} ${pct}%`;
  });
}
