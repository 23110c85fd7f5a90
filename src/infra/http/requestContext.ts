import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const SAFE_ID = /^[A-Za-z0-9._:@/-]{1,128}$/;

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
    correlationId: string;
  }
}

/**
 * X-Request-ID and X-Correlation-ID on every response, echoed from the request when given (and safe to
 * echo), generated otherwise. The correlation id defaults to the request id.
 */
export function requestContext(req: Request, res: Response, next: NextFunction): void {
  const given = (name: string) => {
    const v = req.get(name);
    return v && SAFE_ID.test(v) ? v : undefined;
  };
  req.requestId = given('x-request-id') ?? randomUUID();
  req.correlationId = given('x-correlation-id') ?? req.requestId;
  res.setHeader('X-Request-ID', req.requestId);
  res.setHeader('X-Correlation-ID', req.correlationId);
  next();
}
