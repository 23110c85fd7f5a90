import { z } from 'zod';
import {
  MAX_JSON_DEPTH,
  findUnstorable,
  formatPath,
  parseStorableInstant,
  textProblem,
} from '../../../src/domain/storableValues';
import { HttpProblem } from '../../../src/infra/http/problem';
import { isoInstant, parseOrThrow, storableJsonObject } from '../../../src/infra/http/validation';

/** What PostgreSQL can hold (docs/limits.md), checked the same way at the edge and in the domain. */

const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

describe('text', () => {
  it.each([
    ['plain', null],
    ['emoji pair 😀', null],
    ['nul \u0000 inside', 'must not contain U+0000 (NUL)'],
    ['lone high \ud800', 'must not contain a lone UTF-16 surrogate (U+D800–U+DFFF)'],
    ['lone low \udc00 x', 'must not contain a lone UTF-16 surrogate (U+D800–U+DFFF)'],
    ['reversed pair \ude00\ud83d', 'must not contain a lone UTF-16 surrogate (U+D800–U+DFFF)'],
  ])('%j', (text, problem) => {
    expect(textProblem(text)).toBe(problem);
  });
});

describe('findUnstorable', () => {
  it('accepts JSON as JSON.parse makes it, a __proto__ key included', () => {
    const value = JSON.parse('{"__proto__": {"x": [1, 2.5, null, true]}, "a": "😀"}');
    expect(findUnstorable(value)).toEqual([]);
  });

  it('names every bad value and key by its path', () => {
    const value = JSON.parse(
      '{"a": {"b": ["ok", "x\\u0000"]}, "k\\u0000": 1, "s": "\\ud800", "n": 1e999, "m": -1e999}',
    );
    const found = findUnstorable(value).map((u) => [formatPath(u.path), u.message]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['a.b.1', 'must not contain U+0000 (NUL)'],
        ['"k\\u0000"', 'key must not contain U+0000 (NUL)'],
        ['s', 'must not contain a lone UTF-16 surrogate (U+D800–U+DFFF)'],
        ['n', 'must be a finite number'],
        ['m', 'must be a finite number'],
      ]),
    );
    expect(found).toHaveLength(5);
  });

  it(`allows ${MAX_JSON_DEPTH} levels of nesting and refuses one more`, () => {
    expect(findUnstorable(nested(MAX_JSON_DEPTH))).toEqual([]);
    const [problem] = findUnstorable(nested(MAX_JSON_DEPTH + 1));
    expect(problem?.message).toBe(`nests deeper than ${MAX_JSON_DEPTH} levels`);
    expect(problem?.path).toHaveLength(MAX_JSON_DEPTH);
  });

  it('walks a hostile depth without recursion', () => {
    expect(findUnstorable(nested(100_000))).toHaveLength(1);
  });

  it('refuses what is not JSON (in-process callers)', () => {
    expect(findUnstorable({ d: new Date(), n: 1n, f: () => 1 }).map((u) => u.path[0])).toEqual(
      expect.arrayContaining(['d', 'n', 'f']),
    );
    expect(findUnstorable({ skipped: undefined })).toEqual([]);
  });
});

describe('instants', () => {
  it.each([
    ['2025-03-01T12:00:00Z', '2025-03-01T12:00:00.000Z'],
    ['2025-03-01T12:00Z', '2025-03-01T12:00:00.000Z'],
    ['2025-03-01T12:00:00.123456789+01:00', '2025-03-01T11:00:00.123Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0001-01-01T15:59:00+15:59', '0001-01-01T00:00:00.000Z'],
    ['0099-06-01T00:00:00Z', '0099-06-01T00:00:00.000Z'], // not read as 1999
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['9999-12-31T23:59:59+15:59', '9999-12-31T08:00:59.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('%s is stored as %s', (text, iso) => {
    const parsed = parseStorableInstant(text);
    expect(parsed.ok && new Date(parsed.ms).toISOString()).toBe(iso);
  });

  it.each([
    ['0000-01-01T00:00:00Z', 'year must be 0001–9999'],
    ['10000-01-01T00:00:00Z', 'must be an ISO-8601 date-time with an offset (Z or ±hh:mm)'],
    [
      '0001-01-01T00:00:00+00:01',
      'must lie between 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in UTC',
    ],
    ['9999-12-31T23:59:59-23:59', 'offset must be within ±15:59'],
    [
      '9999-12-31T23:00:00-01:00',
      'must lie between 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in UTC',
    ],
    ['2025-01-01T00:00:00+16:00', 'offset must be within ±15:59'],
    ['2025-01-01T00:00:00-15:60', 'offset must be within ±15:59'],
    ['2025-02-30T00:00:00Z', 'is not a calendar date'],
    ['2023-02-29T00:00:00Z', 'is not a calendar date'],
    ['2025-01-01T24:00:00Z', 'is not a time of day'],
    ['2025-01-01T23:59:60Z', 'is not a time of day'],
    ['2025-01-01T00:00:00', 'must be an ISO-8601 date-time with an offset (Z or ±hh:mm)'],
    ['2025-01-01 00:00:00Z', 'must be an ISO-8601 date-time with an offset (Z or ±hh:mm)'],
  ])('%s is refused: %s', (text, message) => {
    expect(parseStorableInstant(text)).toEqual({ ok: false, message });
  });
});

describe('the edge', () => {
  const schema = z
    .object({ at: isoInstant.optional(), details: storableJsonObject.optional(), name: z.string() })
    .strict();
  const problemOf = (body: unknown) => {
    try {
      parseOrThrow(schema, body, 'body');
    } catch (err) {
      if (err instanceof HttpProblem) return err;
    }
    throw new Error('expected a problem');
  };

  it('keeps a __proto__ member of a free-form object, by reference', () => {
    const body = JSON.parse('{"name": "x", "details": {"__proto__": {"polluted": true}, "a": 1}}');
    const parsed = parseOrThrow(schema, body, 'body');
    expect(parsed.details).toBe(body.details);
    expect(JSON.stringify(parsed)).toBe('{"details":{"__proto__":{"polluted":true},"a":1},"name":"x"}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('names each bad field once, whatever found it (the schema or the body walk)', () => {
    const problem = problemOf(
      JSON.parse(
        '{"name": "a\\u0000", "at": "9999-12-31T23:59:59-23:59", "details": {"x": {"y\\ud800": 1}}, "extra": 1}',
      ),
    );
    expect(problem.status).toBe(400);
    expect(problem.errors!.map((e) => e.path).sort()).toEqual(
      ['at', 'details.x."y\\ud800"', 'extra', 'name'].sort(),
    );
  });

  it('refuses a body nested deeper than the limit', () => {
    const problem = problemOf({ name: 'x', details: nested(40) });
    expect(problem.errors?.[0]).toMatchObject({ message: `nests deeper than ${MAX_JSON_DEPTH} levels` });
    expect(problem.errors?.[0]?.path).toMatch(/^details(\.a)+$/);
  });

  it('checks query strings too', () => {
    expect(() => parseOrThrow(z.object({ q: z.string() }), { q: 'a\u0000' }, 'query')).toThrow(
      expect.objectContaining({ errors: [{ path: 'query.q', message: 'must not contain U+0000 (NUL)' }] }),
    );
  });
});
