import 'dotenv/config';
import { ConfigError } from '../config.js';
import { backupCommand } from './backup-command.js';

backupCommand(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    console.error(`stockhold backup: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
