/**
 * Structured JSON logs (pino). Redaction is defence in depth: the code never logs bodies, query
 * strings or tokens, and these paths are censored should one slip into a log call.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { LogLevel } from './config/config.ts';

export type { Logger };

export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'body',
  '*.body',
  'resource',
  '*.resource',
  'access_token',
  '*.access_token',
  'client_assertion',
  '*.client_assertion',
  'jwk',
  '*.jwk',
  'privateKey',
  '*.privateKey',
  'query',
  '*.query',
];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'dripline' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
