import { closeSync, fsyncSync, openSync } from 'node:fs';

/** fsync a file or a folder, so that what was written (or a rename into it) survives a power cut. */
export function flush(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
