import {
  SKETCH_RELATIVE_ACCURACY,
  SketchMerger,
  addValues,
  decode,
  encode,
  newSketch,
  quantile,
} from '../../../src/projections/provenance/driftSketch';

let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
// Deltas of both signs over six orders of magnitude, zeros and repeats.
const values = Array.from({ length: 5000 }, (_, i) =>
  i % 11 === 0 ? 0 : (random() < 0.4 ? -1 : 1) * 10 ** (random() * 6 - 2),
);
const sketchOf = (vs: readonly number[]) => {
  const s = newSketch();
  addValues(s, vs);
  return s;
};
const merged = (parts: readonly (readonly number[])[]) => {
  const m = new SketchMerger();
  for (const p of parts) m.addEncoded(encode(sketchOf(p)));
  return m.sketch();
};

test('merging encoded sketches equals the sketch of all the values, byte for byte, however split or ordered', () => {
  const whole = encode(sketchOf(values));
  expect(encode(merged([values.slice(0, 1234), values.slice(1234)]))).toEqual(whole);
  expect(encode(merged([values.slice(3000), values.slice(0, 10), values.slice(10, 3000)]))).toEqual(whole);
  expect(
    encode(
      merged(
        values
          .slice(0, 200)
          .map((v) => [v])
          .concat([values.slice(200)]),
      ),
    ),
  ).toEqual(whole);
  expect(encode(decode(whole))).toEqual(whole);
});

test('negative values survive a merge (the library merge drops the negative store)', () => {
  const m = merged([[-5, -7], [3], [-1]]);
  expect(quantile(m, 0, -7, 3)).toBeCloseTo(-7, 0);
  expect(m.negativeStore.count).toBe(3);
});

test('percentiles are within the documented relative error of a neighbouring value of the exact rank', () => {
  const sorted = [...values].sort((a, b) => a - b);
  const sketch = merged([values.slice(0, 2500), values.slice(2500)]);
  for (const q of [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) {
    const rank = q * (sorted.length - 1);
    const lo = sorted[Math.floor(rank)]!;
    const hi = sorted[Math.ceil(rank)]!;
    const p = quantile(sketch, q, sorted[0]!, sorted[sorted.length - 1]!)!;
    expect(p).toBeGreaterThanOrEqual(lo - SKETCH_RELATIVE_ACCURACY * Math.abs(lo));
    expect(p).toBeLessThanOrEqual(hi + SKETCH_RELATIVE_ACCURACY * Math.abs(hi));
  }
});

test('percentiles are clamped to the exact min and max; an empty sketch has none', () => {
  const s = sketchOf([100, 100, 100]);
  expect(quantile(s, 0.5, 100, 100)).toBe(100);
  expect(quantile(newSketch(), 0.5, 0, 0)).toBeNull();
  expect(quantile(new SketchMerger().sketch(), 0.99, 0, 0)).toBeNull();
});
