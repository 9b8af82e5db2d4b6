import { pino, type Logger as PinoLogger } from 'pino';
import type { Config } from '../config.js';

/** Credentials never reach a log line, whichever object carries them. */
const LOG_REDACTIONS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  'config.auth',
];

/**
 * The process's one logger, shared by start-up, jobs and the HTTP app. JSON lines for log
 * pipelines; human-readable (pino-pretty) only for a developer at a terminal.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'nodeEnv'>, stdoutIsTty = process.stdout.isTTY === true): PinoLogger {
  const pretty = stdoutIsTty && config.nodeEnv === 'development';
  return pino({
    level: config.logLevel,
    redact: { paths: LOG_REDACTIONS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}
