// The shape of one bench run's results, as printed and as written to bench/results/*.json.
import type { PeakRss } from './server-process.js';
import type { Measurement } from './scenarios.js';

export interface ScenarioRow {
  config: string;
  scenario: string;
  title: string;
  measurement: Measurement;
  /** rps ÷ the ceiling's rps; null without a ceiling. */
  ratio: number | null;
  /** 'OK', a description of the drift, or null when not checked (ceiling, baseline). */
  oversell: string | null;
  oversellOk: boolean;
  /** Highest VmHWM of the server's processes after this scenario (peak so far), in MB. */
  peakRssMb: number | null;
}

export interface ConfigResult {
  name: string;
  env: Record<string, string>;
  peakRss: PeakRss[];
  skipped?: string;
  error?: string;
}

export interface HalfRateResult {
  /** The requests/s both runs were held to: half the SQLite FULL hot-sku peak. */
  overallRate: number;
  hotSku: Measurement;
  ceiling: Measurement;
}

export interface GrowthPass {
  historicReservations: number;
  /** hot-sku runs, alternating with the other side's. */
  hotSkuRounds: Measurement[];
  /** Mean requests/s over the rounds. */
  hotSkuRps: number;
  /** Each trial: ms from the commit of the due reservations until the sweeper had expired them all. */
  sweepTrialsMs: number[];
  sweepMedianMs: number;
  dueReservations: number;
  oversell: string;
  oversellOk: boolean;
  peakRss: PeakRss[];
}

export interface GrowthResult {
  config: string;
  empty: GrowthPass;
  filled: GrowthPass;
  /** filled ÷ empty hot-sku requests/s. */
  hotSkuRatio: number;
  /** filled ÷ empty median sweep time. */
  sweepRatio: number;
}

export interface TargetResult {
  name: string;
  value: number | null;
  /** e.g. '≥ 0.5' */
  requirement: string;
  status: 'PASS' | 'MISS' | 'NOT MEASURED';
  detail: string;
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  node: string;
  totalMemoryMb: number;
  platform: string;
  loadAverageAtStart: number[];
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  elapsedS: number;
  command: string;
  machine: MachineInfo;
  source: { commit: string; srcDirty: boolean };
  settings: { connections: number; pipelining: number; durationS: number; warmupS: number; quick: boolean };
  ceiling: Measurement | null;
  rows: ScenarioRow[];
  configs: ConfigResult[];
  halfRate: HalfRateResult | null;
  naiveBaseline: (Measurement & { peakRss: PeakRss[] }) | null;
  growth: GrowthResult[];
  targets: TargetResult[];
  notes: string[];
  failures: string[];
}
