import 'dotenv/config';
import { ConfigError } from '../config.js';
import { restoreCommand } from './restore-command.js';

restoreCommand(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    console.error(`stockhold restore: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
