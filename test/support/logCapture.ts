import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../src/infra/logging/logger';

/** A pino logger whose JSON lines land in `lines` (parsed), for tests that check what the service logs. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
