/**
 * The relay command's log: one JSON object per line on stdout (pino), with a level name, an
 * ISO time and an `event`. The relay's own events ({@link RelayLogEvent}) carry codes and
 * counts only; what could hold a secret (a database URL, a token, a password) is never passed
 * to the log, and the names such a value would travel under are redacted besides.
 * @module
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';
import type { RelayLogEvent } from './report.js';

export type { Logger } from 'pino';

/** A logger writing JSON lines to `fd` (stdout by default), synchronously so that a line logged before `process.exit` is not lost. */
export function createLogger(level: LogLevel, fd = 1): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['databaseUrl', 'password', 'token', 'authorization', '*.password', '*.token', '*.authorization'], censor: '[redacted]' },
    },
    pino.destination({ dest: fd, sync: true }),
  );
}

/** The level of a relay event: errors as errors, refusals as warnings, connections coming and going at debug. */
export function levelOf(event: RelayLogEvent): 'error' | 'warn' | 'info' | 'debug' {
  switch (event.event) {
    case 'error':
      return 'error';
    case 'refused':
    case 'resynced':
      return 'warn';
    case 'connected':
    case 'authenticated':
    case 'closed':
      return 'debug';
    default:
      return 'info';
  }
}
