import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Logger, pino } from 'pino';
import { env } from './environment.js';

/** Service logs: JSON lines to stdout for a service run on its own, or to a file beside a CLI run. */
export function createLogger(file?: string): Logger {
  const level = env('LILYPAD_LOG_LEVEL') ?? 'info';
  if (!file) return pino({ level });
  mkdirSync(dirname(file), { recursive: true });
  return pino({ level }, pino.destination({ dest: file, sync: false, mkdir: true }));
}
