import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout (pino): one line per event, fields instead of prose. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'costsim-guard', ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization'], censor: '[redacted]' },
  });
}
