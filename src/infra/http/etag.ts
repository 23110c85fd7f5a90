import type { Request, Response } from 'express';
import { problems } from './problem';

/** Breaker resources carry a strong ETag: the stream version. */
export function setVersionEtag(res: Response, version: number): void {
  res.setHeader('ETag', `"${version}"`);
}

/** One entity tag of an If-Match list: `"3"` or `W/"3"` (RFC 9110 §8.8.3). */
const ENTITY_TAG = /^\s*(W\/)?"([^"]*)"\s*$/;

/**
 * If-Match (RFC 9110 §13.1.1) as the stream versions that may match: undefined when absent or `*` (any
 * current representation: a declared breaker always has one), else the strong tags' versions — a weak tag
 * never matches under strong comparison, and a tag that is not a version matches nothing, so a list with
 * no such version yields [] and the command fails with 412 without writing. A header that is not a list
 * of entity tags is a 400.
 */
export function ifMatchVersions(req: Request): number[] | undefined {
  const header = req.get('if-match');
  if (header === undefined || header.trim() === '*') return undefined;
  const versions: number[] = [];
  for (const item of splitList(header)) {
    const m = ENTITY_TAG.exec(item);
    if (!m) {
      throw problems.validation([
        { path: 'header.If-Match', message: 'must be "*" or a list of entity tags such as "3", W/"2"' },
      ]);
    }
    if (m[1] === undefined && /^\d{1,15}$/.test(m[2]!)) versions.push(Number(m[2]));
  }
  return versions;
}

/** Splits a header list on commas outside quoted strings (an entity tag may contain a comma). */
function splitList(header: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      items.push(current);
      current = '';
    } else current += ch;
  }
  items.push(current);
  return items.filter((item) => item.trim() !== '');
}
