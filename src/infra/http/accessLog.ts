import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logging/logger';

/** The fields that tie a log line to its request (request, correlation and W3C trace ids). */
export function requestLogFields(req: Request): Record<string, unknown> {
  return {
    request_id: req.requestId,
    correlation_id: req.correlationId,
    ...(req.traceparent ? { traceparent: req.traceparent, trace_id: req.traceId } : {}),
  };
}

/**
 * One structured line per request, written when the response finishes. Deliberately small: pino-http's
 * per-request child logger and header serialisation cost ~100 µs per request even when logging is off.
 */
export function accessLog(logger: Logger) {
  const enabled = logger.isLevelEnabled('info');
  return (req: Request, res: Response, next: NextFunction) => {
    if (!enabled || req.path === '/metrics' || req.path.startsWith('/health')) return next();
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      logger.info(
        {
          ...requestLogFields(req),
          method: req.method,
          url: req.originalUrl,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          key_id: req.principal?.keyId,
        },
        'request completed',
      );
    });
    next();
  };
}
