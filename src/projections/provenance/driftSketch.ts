import { DDSketch } from '@datadog/sketches-js';

/**
 * The percentile sketch of the drift rollup: DataDog's DDSketch (@datadog/sketches-js), with a relative
 * accuracy of 1 %.
 *
 * Why DDSketch rather than a t-digest: its bins are a pure function of the values (key = ⌈log_γ |v|⌉), and
 * merging adds bin counts, so a bucket's sketch is the same whatever the batches its records came in, their
 * order, or a rebuild — the projection's rule (docs/projections.md). A t-digest's centroids depend on the
 * order of insertion and merges. DDSketch also has a guarantee that does not depend on the distribution.
 *
 * The guarantee, as documented (docs/api.md): a sketched percentile p is within 1 % (relative) of a value
 * of the window of rank ⌊q·(n−1)⌋ or ⌈q·(n−1)⌉, i.e. of one of the two values percentile_cont interpolates
 * between; values of magnitude below 1e-9 are counted as 0 (absolute error ≤ 1e-9). It is then clamped to
 * the exact [min, max] of the window.
 *
 * Two things the library does not do for us, done here:
 * - `merge` of version 2.1.1 merges the positive store only (negative values of the merged sketch are
 *   lost), so negative stores are merged by `mergeInto` explicitly;
 * - `toProto` writes the store's internal array, whose length and offset depend on how it grew: `encode`
 *   rebuilds the sketch bin by bin in ascending key order first, so equal contents give equal bytes.
 */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
/** Below this magnitude a value is counted as zero (bounds the number of bins near 0). */
export const SKETCH_ZERO_MAGNITUDE = 1e-9;

export type Sketch = DDSketch;

export const newSketch = (): Sketch => new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });

export function addValues(sketch: Sketch, values: readonly number[]): void {
  for (const v of values) sketch.accept(Math.abs(v) < SKETCH_ZERO_MAGNITUDE ? 0 : v);
}

/** Adds `from` into `into` (both stores and the zero count). */
export function mergeInto(into: Sketch, from: Sketch): void {
  if (from.count === 0) return;
  if (into.count === 0) {
    into.merge(from); // an empty sketch copies both stores
    return;
  }
  into.merge(from); // positive store, zero count, count
  into.negativeStore.merge(from.negativeStore);
}

type Store = Sketch['store'];

function binsOf(store: Store): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  store.bins.forEach((count, i) => {
    if (count > 0) out.push([i + store.offset, count]);
  });
  return out;
}

/** Canonical bytes: the same bins give the same bytes, however the sketch was built. */
export function encode(sketch: Sketch): Buffer {
  const canonical = newSketch();
  for (const [key, count] of binsOf(sketch.store)) canonical.store.add(key, count);
  for (const [key, count] of binsOf(sketch.negativeStore)) canonical.negativeStore.add(key, count);
  canonical.zeroCount = sketch.zeroCount;
  return Buffer.from(canonical.toProto());
}

export function decode(bytes: Uint8Array): Sketch {
  const decoded = DDSketch.fromProto(bytes);
  const sketch = newSketch();
  mergeInto(sketch, decoded as Sketch);
  return sketch;
}

/** The sketch's q-quantile clamped to the exact [min, max]; null for an empty sketch. */
export function quantile(sketch: Sketch, q: number, min: number, max: number): number | null {
  const total = sketch.store.count + sketch.negativeStore.count + sketch.zeroCount;
  if (total === 0) return null;
  const v = sketch.getValueAtQuantile(q);
  if (Number.isNaN(v)) return null;
  return Math.min(max, Math.max(min, v));
}
