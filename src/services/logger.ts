/**
 * What services and jobs need from a logger: a structured object and a message. pino's loggers
 * (and so Fastify's) satisfy it; nothing below the HTTP layer depends on Fastify.
 */
export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
