import type { NextFunction, Request, Response } from 'express';

/** W3C Trace Context `traceparent`: version-traceid-parentid-flags, lowercase hex, ids not all zero. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's valid `traceparent` header, if it sent one (logged with the request). */
    traceparent?: string;
    traceId?: string;
  }
}

export function parseTraceparent(value: string | undefined): { traceparent: string; traceId: string } | null {
  const m = value === undefined ? null : TRACEPARENT.exec(value.trim());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return null;
  return { traceparent: m[0], traceId: m[2]! };
}

/** Keeps a valid traceparent on the request so every log line about it can carry the trace id. */
export function traceContext(req: Request, _res: Response, next: NextFunction): void {
  const parsed = parseTraceparent(req.get('traceparent'));
  if (parsed) {
    req.traceparent = parsed.traceparent;
    req.traceId = parsed.traceId;
  }
  next();
}
