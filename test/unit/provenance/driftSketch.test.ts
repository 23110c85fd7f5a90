import {
  mergeSketch,
  newSketch,
  sketchFromBytes,
  sketchOf,
  sketchQuantile,
  sketchToBytes,
} from '../../../src/projections/provenance/driftSketch';

/** The value at rank q·(n − 1), as the sketch defines a quantile. */
const atRank = (sorted: number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;

test('merged across serialised rows, negative values included, every quantile within 1 % of its rank value', () => {
  // Deltas of both signs and magnitudes 1e-3..1e6, in 30 "days".
  const values = Array.from({ length: 30_000 }, (_, i) => {
    const magnitude = 10 ** (((i * 7) % 10) - 3) * (1 + (i % 97) / 97);
    return i % 3 === 0 ? -magnitude : magnitude;
  });
  const merged = newSketch();
  for (let d = 0; d < 30; d++) {
    const row = sketchToBytes(sketchOf(values.slice(d * 1000, (d + 1) * 1000)));
    mergeSketch(merged, sketchFromBytes(row));
  }
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) {
    const want = atRank(sorted, q);
    const got = sketchQuantile(merged, q, sorted[0]!, sorted[sorted.length - 1]!)!;
    expect(Math.abs(got - want)).toBeLessThanOrEqual(0.01 * Math.abs(want) + 1e-12);
  }
});

test("the library's merge alone loses the negative bins of a non-empty sketch (why mergeSketch exists)", () => {
  const a = sketchOf([1, 2, 3]);
  const b = sketchOf([-5, -6, -7]);
  const plain = sketchFromBytes(sketchToBytes(a));
  plain.merge(b);
  expect(plain.negativeStore.count).toBe(0);
  const fixed = sketchFromBytes(sketchToBytes(a));
  mergeSketch(fixed, b);
  expect(fixed.negativeStore.count).toBe(3);
  expect(sketchQuantile(fixed, 0, -7, 3)).toBeCloseTo(-7, 0);
});

test('magnitudes below 1e-9 count as zero; an empty sketch has no quantile', () => {
  const s = sketchOf([1e-300, -1e-12, 0, 5]);
  expect(s.zeroCount).toBe(3);
  expect(sketchToBytes(s).length).toBeLessThanOrEqual(sketchToBytes(sketchOf([0, 5])).length);
  expect(sketchQuantile(newSketch(), 0.5, 0, 0)).toBeNull();
});
