import type { Request } from 'express';
import { parse } from 'lossless-json';
import { problems } from '../../infra/http/problem';
import type { WrittenBody } from './shadowSimulation';

/**
 * The request body as the client wrote it, numbers kept as their text (docs/domain.md §2.3: `30.0` hashes as
 * the float it was), parsed with lossless-json from the bytes the JSON parser kept (httpApp's `verify`).
 * Express has already parsed the same bytes, so the text is valid JSON; the one thing lossless-json refuses
 * that JSON.parse accepts is a key given twice with different values, which is ambiguous input: a 400.
 */
export function writtenBodyOf(req: Request): WrittenBody | null {
  const raw = req.rawBody;
  if (!raw) return null;
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : 'not valid JSON';
    throw problems.validation([{ path: 'body', message: message.slice(0, 200) }]);
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as WrittenBody)
    : null;
}
