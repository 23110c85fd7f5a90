import fc from 'fast-check';
import { collectUnstorable, findUnstorable, isStorable } from '../../../src/domain/storableValues';

/**
 * findUnstorable first runs isStorable (no paths) and walks with paths only when it fails: the two must
 * agree on every value, or a bad value would slip through (or a good one be refused).
 */
const awkwardText = fc.oneof(
  fc.string(),
  fc.constantFrom('\u0000', 'a\ud800', '\udc00b', '😀', '\ude00\ud83d', '__proto__'),
);
const leaf = fc.oneof(
  awkwardText,
  fc.double(), // NaN and ±Infinity included
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(new Date(0)),
  fc.constant(() => 1),
  fc.bigInt(),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 4 }),
  object: fc.dictionary(awkwardText, tie('node'), { maxKeys: 4 }),
})).node;

const nested = (depth: number, inArray: boolean): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = inArray ? [v] : { a: v };
  return v;
};

describe('isStorable agrees with the walk that names paths', () => {
  it('on generated JSON-ish values (bad text, non-finite numbers, undefined, non-JSON objects)', () => {
    fc.assert(
      fc.property(value, fc.integer({ min: 1, max: 6 }), (v, maxDepth) => {
        const storable = collectUnstorable(v, maxDepth).length === 0;
        expect(isStorable(v, maxDepth)).toBe(storable);
        expect(findUnstorable(v, maxDepth)).toEqual(collectUnstorable(v, maxDepth));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['object', false],
    ['array', true],
  ])('at the depth limit, in an %s', (_kind, inArray) => {
    for (const depth of [30, 31, 32, 33]) {
      const v = nested(depth, inArray);
      expect(isStorable(v)).toBe(collectUnstorable(v).length === 0);
    }
  });

  it('on objects without a prototype and with __proto__ as an own key', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(isStorable(bare)).toBe(true);
    expect(isStorable(JSON.parse('{"__proto__": {"x": 1}}'))).toBe(true);
    expect(isStorable(JSON.parse('{"__proto__": {"x": "\\u0000"}}'))).toBe(false);
  });
});
