// `npm run flash-sale -- --url http://127.0.0.1:5000 --sku CAMERA001 --users 5000`: rehearses a
// flash sale against a running deployment and reports what was sold, refused and oversold.
import { runFlashSale } from './flash-sale/run.js';

// First Ctrl-C: start no more shoppers, let those in flight finish, print the report. Second: quit.
const stop = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nflash-sale: stopping; finishing the shoppers in flight (Ctrl-C again to quit now)\n');
  stop.abort();
  process.once('SIGINT', () => process.exit(130));
});

runFlashSale(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: stop.signal }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`flash-sale: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
