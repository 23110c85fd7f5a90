import { DDSketch } from '@datadog/sketches-js';

/**
 * The percentile sketch of a drift rollup row (DDSketch, @datadog/sketches-js): mergeable across days and
 * groups, stored as its protobuf bytes. Its guarantee: a quantile it returns is within RELATIVE_ACCURACY of
 * the magnitude of a sample value at that rank — 1 % of the value, whatever the distribution or the count.
 */
export const RELATIVE_ACCURACY = 0.01;
/**
 * Magnitudes below this count as zero (absolute error at most this much). Without it one value near
 * float8's smallest (1e-300) would stretch the sketch's dense bins over 600 decades (~70 000 bins).
 */
export const ZERO_BELOW = 1e-9;

export type DriftSketch = DDSketch;

export function newSketch(): DriftSketch {
  return new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
}

export function sketchOf(values: Iterable<number>): DriftSketch {
  const sketch = newSketch();
  for (const v of values) sketch.accept(Math.abs(v) < ZERO_BELOW ? 0 : v);
  return sketch;
}

export const sketchToBytes = (sketch: DriftSketch): Buffer => Buffer.from(sketch.toProto());

export const sketchFromBytes = (bytes: Uint8Array): DriftSketch => DDSketch.fromProto(bytes);

/**
 * `into.merge(from)`, including negative values: the library's merge (2.1.1) adds `from`'s negative
 * count to the total but not its negative bins (unless `into` is empty, where it copies everything), so
 * a merged sketch of V2-cheaper records answered wrong quantiles. The negative bins are merged here.
 */
export function mergeSketch(into: DriftSketch, from: DriftSketch): void {
  if (from.count === 0) return;
  const copied = into.count === 0;
  into.merge(from);
  if (!copied) into.negativeStore.merge(from.negativeStore);
}

/** The q-quantile (0..1) kept inside the exact [min, max], which the sketch alone may pass by 1 %. */
export function sketchQuantile(sketch: DriftSketch, q: number, min: number, max: number): number | null {
  if (sketch.count === 0) return null;
  const v = sketch.getValueAtQuantile(q);
  // ±Infinity (a value past the mapping's range, beyond 1.7e308) lands on the exact bound.
  return Number.isNaN(v) ? null : Math.min(max, Math.max(min, v));
}
