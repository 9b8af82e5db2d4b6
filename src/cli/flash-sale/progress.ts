// Live progress on stderr: a redrawn bar on a terminal, a plain line every 2 s otherwise.
import type { Tally } from './shopper.js';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Progress {
  stop(): void;
}

export const TTY_INTERVAL_MS = 100;
export const PLAIN_INTERVAL_MS = 2000;
const BAR_WIDTH = 20;
const RATE_WINDOW_MS = 1000;

export function progressLine(tally: Tally, total: number, rps: number, tty: boolean): string {
  const counts = `sold ${tally.confirmed}  rejected ${tally.rejected}  errors ${tally.errorCount}  ${Math.round(rps)} req/s`;
  if (!tty) return `flash-sale: ${tally.done}/${total} shoppers done, ${tally.started - tally.done} in flight; ${counts}\n`;
  const filled = total === 0 ? BAR_WIDTH : Math.round((tally.done / total) * BAR_WIDTH);
  const bar = '#'.repeat(filled) + '.'.repeat(BAR_WIDTH - filled);
  return `[${bar}] ${tally.done}/${total}  ${counts}`;
}

/** Starts drawing; stop() clears the bar (terminal) so the report starts on a clean line. */
export function startProgress(stream: ProgressStream, tally: Tally, total: number, now: () => number): Progress {
  const tty = stream.isTTY === true;
  // The rate over the last second or so (a sliding window of samples), not since the start.
  const window: { at: number; requests: number }[] = [{ at: now(), requests: tally.requests }];
  const draw = () => {
    const at = now();
    window.push({ at, requests: tally.requests });
    while (window.length > 2 && at - (window[1]?.at ?? at) >= RATE_WINDOW_MS) window.shift();
    const oldest = window[0] ?? { at, requests: tally.requests };
    const rps = at > oldest.at ? ((tally.requests - oldest.requests) * 1000) / (at - oldest.at) : 0;
    const line = progressLine(tally, total, rps, tty);
    if (!tty) {
      stream.write(line);
      return;
    }
    // Fit the terminal, so a narrow window does not wrap and scroll on every redraw.
    const width = (stream.columns ?? 120) - 1;
    stream.write(`\r\x1b[2K${line.length > width ? line.slice(0, width) : line}`);
  };
  const timer = setInterval(draw, tty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS);
  timer.unref();
  if (tty) draw();
  return {
    stop() {
      clearInterval(timer);
      if (tty) stream.write('\r\x1b[2K');
    },
  };
}
