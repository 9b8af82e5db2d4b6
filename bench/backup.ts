// `npm run bench:backup`: what an online backup costs. Times `stockhold backup` of a SQLite store
// holding a million historic reservations, then measures hot-sku reserves with and without a
// backup running (the CLI's copy from another process, and the scheduled job's copy from the
// serving connection), alternating A-B-B-A so drift on a shared machine hits both alike.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freshSqlite } from './databases.js';
import { insertProducts, prefillHistory } from './fixtures.js';
import { SCENARIO_SPECS, load } from './scenarios.js';
import { ROOT, startServer } from './server-process.js';

const args = new Map(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));
const ROWS = Number(args.get('rows') ?? 1_000_000);
const DURATION_S = Number(args.get('duration') ?? 8);
const CONNECTIONS = 50;

const run = promisify(execFile);

/** One `stockhold backup` in a child process (asynchronously: autocannon shares this event loop). */
async function backupOnce(databaseFile: string, to: string): Promise<{ ms: number; bytes: number; line: string }> {
  rmSync(to, { force: true });
  const started = performance.now();
  const { stdout } = await run(process.execPath, ['bin/stockhold.mjs', 'backup', to], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: `sqlite:${databaseFile}` },
    encoding: 'utf8',
  });
  return { ms: performance.now() - started, bytes: statSync(to).size, line: stdout.trim() };
}

async function main(): Promise<void> {
  const db = freshSqlite('backup');
  if (db.kind !== 'sqlite') throw new Error('unreachable');
  const copy = join(db.file, '..', 'copy.db');
  try {
    await insertProducts(db.url, { hotOnly: true });
    await prefillHistory(db, ROWS);
    process.stdout.write(`database: ${ROWS.toLocaleString('en')} historic reservations, ${(statSync(db.file).size / 1048576).toFixed(0)} MiB\n`);
    const idle = await backupOnce(db.file, copy);
    process.stdout.write(`stockhold backup, server stopped: ${idle.ms.toFixed(0)} ms (whole command, Node start-up included)\n  ${idle.line}\n`);

    const server = await startServer('stockhold', 'src/server.ts', {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '0',
    });
    try {
      const spec = SCENARIO_SPECS['hot-sku'];
      const hotSku = (tag: string) => load(server.baseUrl, spec, tag, { connections: CONNECTIONS, pipelining: 1, durationS: DURATION_S });
      await hotSku('warm');
      const without: number[] = [];
      const during: number[] = [];
      const cliTimes: number[] = [];
      for (const [i, withBackup] of [false, true, true, false].entries()) {
        if (!withBackup) {
          without.push((await hotSku(`plain-${i}`)).rps);
          continue;
        }
        // Back to back for the whole measured run, so the load always meets a copy in progress.
        let stop = false;
        const copies = (async () => {
          while (!stop) {
            cliTimes.push((await backupOnce(db.file, copy)).ms);
          }
        })();
        during.push((await hotSku(`backup-${i}`)).rps);
        stop = true;
        await copies;
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      process.stdout.write(
        `hot-sku, ${CONNECTIONS} connections, ${DURATION_S} s runs (A-B-B-A):\n` +
          `  without a backup: ${without.map((x) => x.toFixed(0)).join(', ')} req/s (mean ${mean(without).toFixed(0)})\n` +
          `  with stockhold backup copying back to back: ${during.map((x) => x.toFixed(0)).join(', ')} req/s (mean ${mean(during).toFixed(0)}; ratio ${(mean(during) / mean(without)).toFixed(2)})\n` +
          `  backups taken meanwhile: ${cliTimes.length}, ${cliTimes.map((x) => x.toFixed(0)).join(', ')} ms each\n`,
      );
    } finally {
      await server.stop();
    }
  } finally {
    await db.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
