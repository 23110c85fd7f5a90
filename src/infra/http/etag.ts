import type { Request, Response } from 'express';
import { problems } from './problem';

/** Breaker resources carry a strong ETag: the stream version. */
export function setVersionEtag(res: Response, version: number): void {
  res.setHeader('ETag', `"${version}"`);
}

/** If-Match as a stream version; undefined when absent or `*`. A malformed value is a 400. */
export function ifMatchVersion(req: Request): number | undefined {
  const header = req.get('if-match');
  if (header === undefined || header.trim() === '*') return undefined;
  const m = /^\s*"(\d{1,15})"\s*$/.exec(header);
  if (!m) {
    throw problems.validation([{ path: 'header.If-Match', message: 'must be a strong ETag such as "3"' }]);
  }
  return Number(m[1]);
}
