import fc from 'fast-check';
import { scaledHalfEvenExact, scaledHalfEvenFast } from '../../../src/domain/simulation/exactDouble';
import { roundHalfEven } from '../../../src/domain/simulation/roundHalfEven';

/**
 * The floating-point fast path of half-even rounding gives the exact (BigInt) answer whenever it gives
 * one, and steps aside next to ties. Doubles of every size, and doubles a few ulps from a decimal tie
 * (`k + 0.5` scaled down), which is where floating point could go wrong.
 */
const nextUp = (x: number, ulps: number) => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigInt64(0, view.getBigInt64(0) + BigInt(ulps));
  return view.getFloat64(0);
};
const digits = fc.integer({ min: 0, max: 22 });
const anyDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const nearTie = fc
  .tuple(fc.integer({ min: 0, max: 10 ** 9 }), digits, fc.integer({ min: -4, max: 4 }))
  .map(([k, d, ulps]) => ({ x: nextUp((k + 0.5) / 10 ** d, ulps), d }));

test('whenever the fast path answers, it is the exact answer', () => {
  let answered = 0;
  fc.assert(
    fc.property(fc.oneof(fc.record({ x: anyDouble, d: digits }), nearTie), ({ x, d }) => {
      const fast = scaledHalfEvenFast(x, d);
      if (fast === null) return;
      answered++;
      expect(BigInt(fast)).toBe(scaledHalfEvenExact(x, d));
    }),
    { numRuns: 20000 },
  );
  expect(answered).toBeGreaterThan(1000);
});

test('round(x, d) is the double nearest the exact rounded decimal, by either path', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.record({ x: fc.double({ min: -1e6, max: 1e6, noNaN: true }), d: fc.integer({ min: 0, max: 8 }) }),
        nearTie,
      ),
      ({ x, d }) => {
        const q = scaledHalfEvenExact(x, d);
        const exact = q === 0n ? 0 : Number(`${q}e${-d}`) * (x < 0 ? -1 : 1);
        expect(Object.is(roundHalfEven(x, d), exact)).toBe(true);
      },
    ),
    { numRuns: 20000 },
  );
});

test('ties and values a few ulps from them are left to the exact path', () => {
  expect(scaledHalfEvenFast(0.5, 0)).toBeNull();
  expect(scaledHalfEvenFast(0.125, 2)).toBeNull();
  expect(scaledHalfEvenFast(2.675, 2)).toBeNull();
  expect(scaledHalfEvenFast(2 ** 53, 0)).toBeNull();
  expect(scaledHalfEvenFast(1.23456, 2)).toBe(123);
});
