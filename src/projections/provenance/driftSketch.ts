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
 * What is stored is the sketch's bins in a canonical compact form (`encode`): a version byte, the zero
 * count, then (key int32, count float64) pairs of the positive and of the negative store, ascending by key,
 * zero bins left out. Not the library's `toProto`: that writes each store's internal array, whose length
 * and offset depend on how it grew (equal contents, different bytes — a rebuild would not reproduce them),
 * padded with empty bins, and protobuf decoding cost ~0.1 ms a sketch where this costs microseconds (a
 * 90-day window merges a hundred of them and more).
 *
 * The library's `merge` (2.1.1) merges the positive store only — the negative values of the merged
 * sketch are lost — so `mergeInto` adds both stores itself.
 */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
/** Below this magnitude a value is counted as zero (bounds the number of bins near 0). */
export const SKETCH_ZERO_MAGNITUDE = 1e-9;

export type Sketch = DDSketch;

export const newSketch = (): Sketch => new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });

export function addValues(sketch: Sketch, values: readonly number[]): void {
  for (const v of values) sketch.accept(Math.abs(v) < SKETCH_ZERO_MAGNITUDE ? 0 : v);
}

type Store = Sketch['store'];

function binsOf(store: Store): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  store.bins.forEach((count, i) => {
    if (count > 0) out.push([i + store.offset, count]);
  });
  return out;
}

function addStore(into: Store, from: Store): void {
  for (const [key, count] of binsOf(from)) into.add(key, count);
}

/** Adds `from` into `into` (both stores and the zero count). */
export function mergeInto(into: Sketch, from: Sketch): void {
  addStore(into.store, from.store);
  addStore(into.negativeStore, from.negativeStore);
  into.zeroCount += from.zeroCount;
  into.count += from.store.count + from.negativeStore.count + from.zeroCount;
}

const VERSION = 1;
/** version (u8), 3 bytes of padding, positive bins (u32), negative bins (u32), 4 bytes, zero count (f64) */
const HEADER = 24;

/**
 * Canonical bytes: the same bins give the same bytes, however the sketch was built. Layout after the
 * header: the counts (f64, positive bins then negative ones, ascending by key), then their keys (i32).
 */
export function encode(sketch: Sketch): Buffer {
  const bins = [...binsOf(sketch.store), ...binsOf(sketch.negativeStore)];
  const out = Buffer.alloc(HEADER + 12 * bins.length);
  out.writeUInt8(VERSION, 0);
  out.writeUInt32LE(binsOf(sketch.store).length, 4);
  out.writeUInt32LE(bins.length - binsOf(sketch.store).length, 8);
  out.writeDoubleLE(sketch.zeroCount, 16);
  bins.forEach(([key, count], i) => {
    out.writeDoubleLE(count, HEADER + 8 * i);
    out.writeInt32LE(key, HEADER + 8 * bins.length + 4 * i);
  });
  return out;
}

/** Bin counts by key over a growing range (merging hundreds of sketches without a store call per bin). */
class Accumulator {
  private lo = 0;
  private acc = new Float64Array(0);

  add(keys: Int32Array, counts: Float64Array): void {
    if (keys.length === 0) return;
    const min = keys[0]!;
    const max = keys[keys.length - 1]!;
    if (this.acc.length === 0 || min < this.lo || max >= this.lo + this.acc.length) {
      const lo = this.acc.length === 0 ? min : Math.min(min, this.lo);
      const hi = this.acc.length === 0 ? max : Math.max(max, this.lo + this.acc.length - 1);
      const grown = new Float64Array(hi - lo + 1);
      if (this.acc.length > 0) grown.set(this.acc, this.lo - lo);
      this.lo = lo;
      this.acc = grown;
    }
    for (let i = 0; i < keys.length; i++) this.acc[keys[i]! - this.lo]! += counts[i]!;
  }

  into(store: Store): void {
    for (let i = 0; i < this.acc.length; i++) if (this.acc[i]! > 0) store.add(i + this.lo, this.acc[i]!);
  }
}

/** Merges encoded sketches (and raw values) into one sketch. */
export class SketchMerger {
  private readonly positive = new Accumulator();
  private readonly negative = new Accumulator();
  private zero = 0;
  private readonly values: number[] = [];

  addEncoded(bytes: Buffer): void {
    if (bytes.readUInt8(0) !== VERSION)
      throw new Error(`drift sketch: unknown encoding ${bytes.readUInt8(0)}`);
    const positive = bytes.readUInt32LE(4);
    const n = positive + bytes.readUInt32LE(8);
    this.zero += bytes.readDoubleLE(16);
    // An aligned copy: typed arrays over it read the counts and keys without a call per value.
    const copy = new Uint8Array(bytes.length - HEADER);
    copy.set(bytes.subarray(HEADER));
    const counts = new Float64Array(copy.buffer, 0, n);
    const keys = new Int32Array(copy.buffer, 8 * n, n);
    this.positive.add(keys.subarray(0, positive), counts.subarray(0, positive));
    this.negative.add(keys.subarray(positive), counts.subarray(positive));
  }

  addValues(values: readonly number[]): void {
    for (const v of values) this.values.push(v);
  }

  sketch(): Sketch {
    const sketch = newSketch();
    this.positive.into(sketch.store);
    this.negative.into(sketch.negativeStore);
    sketch.zeroCount = this.zero;
    sketch.count = sketch.store.count + sketch.negativeStore.count + this.zero;
    addValues(sketch, this.values);
    return sketch;
  }
}

export function decode(bytes: Buffer): Sketch {
  const merger = new SketchMerger();
  merger.addEncoded(bytes);
  return merger.sketch();
}

/** The sketch's q-quantile clamped to the exact [min, max]; null for an empty sketch. */
export function quantile(sketch: Sketch, q: number, min: number, max: number): number | null {
  const total = sketch.store.count + sketch.negativeStore.count + sketch.zeroCount;
  if (total === 0) return null;
  const v = sketch.getValueAtQuantile(q);
  if (Number.isNaN(v)) return null;
  return Math.min(max, Math.max(min, v));
}
