import fc from 'fast-check';
import { jsonbArrayLiteral } from '../../../src/infra/eventStore/appendParameters';

/**
 * jsonbArrayLiteral is the literal node-postgres would send for the same string[] parameter, for every
 * array of JSON texts as JSON.stringify writes them: quotes, backslashes, control characters and lone
 * surrogates inside the values (JSON.stringify escapes both), characters beyond the BMP, U+2028, empty
 * objects and arrays. (What PostgreSQL makes of it is checked by every append in the integration tests.)
 */
// node-postgres's own parameter encoding (pg/lib/utils: untyped, so required with its one signature).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };
const pgLiteral = (texts: readonly string[]): string => prepareValue(texts) as string;

test('equals node-postgres encoding of the same texts, for any JSON values', () => {
  const value = fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 });
  fc.assert(
    fc.property(fc.array(value, { maxLength: 20 }), (values) => {
      const texts = values.map((v) => JSON.stringify(v));
      expect(jsonbArrayLiteral(texts)).toBe(pgLiteral(texts));
    }),
    { numRuns: 500 },
  );
});

test.each([
  ['quotes and backslashes', { a: 'say "hi" \\ back\\slash', 'k"ey': '\\"' }],
  ['control characters', { nl: 'a\nb', tab: '\t', nul: '\u0000', esc: '\u001b' }],
  ['a lone surrogate and astral characters', { lone: '\ud800', astral: '😀𝄞', 'é😀': '\u2028\u2029' }],
  ['empty containers', { o: {}, a: [], s: '' }],
])('%s: the same literal as node-postgres', (_name, value) => {
  const texts = [JSON.stringify(value), JSON.stringify([value]), '{}'];
  expect(jsonbArrayLiteral(texts)).toBe(pgLiteral(texts));
});

test('one event, and none', () => {
  expect(jsonbArrayLiteral(['{"a":1}'])).toBe('{"{\\"a\\":1}"}');
  expect(jsonbArrayLiteral([])).toBe(pgLiteral([]));
});
