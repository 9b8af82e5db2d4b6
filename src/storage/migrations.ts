import { readdirSync, readFileSync } from 'node:fs';

const FILE_PATTERN = /^(\d{3})_[a-z0-9_]+\.sql$/;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Numbered migrations of one dialect (`001_init.sql`, ...), in order. */
export function loadMigrations(dir: URL): Migration[] {
  return readdirSync(dir)
    .filter((file) => FILE_PATTERN.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 3)),
      name: file,
      sql: readFileSync(new URL(file, dir), 'utf8'),
    }));
}
