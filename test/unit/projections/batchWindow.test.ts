import fc from 'fast-check';
import { nextBatchWindowMs } from '../../../src/projections/runtime/batchWindow';

const window = { minMs: 20, maxMs: 250 };
const partial = { size: 3, full: false };

describe('a lane’s batch window', () => {
  test('a load that goes on doubles it, read after read, up to the ceiling', () => {
    const seen: number[] = [];
    let ms = window.minMs;
    for (let i = 0; i < 6; i++) seen.push((ms = nextBatchWindowMs(ms, partial, window)));
    expect(seen).toEqual([40, 80, 160, 250, 250, 250]);
  });

  test('a read that finds nothing (caught up) brings it back to the floor at once', () => {
    expect(nextBatchWindowMs(250, { size: 0, full: false }, window)).toBe(20);
  });

  test('a full page leaves it as it is', () => {
    expect(nextBatchWindowMs(160, { size: 500, full: true }, window)).toBe(160);
    expect(nextBatchWindowMs(20, { size: 500, full: true }, window)).toBe(20);
  });

  test('a fixed window (ceiling = floor) never moves, a zero floor still grows when it may', () => {
    const fixed = { minMs: 20, maxMs: 20 };
    expect(nextBatchWindowMs(20, partial, fixed)).toBe(20);
    expect(nextBatchWindowMs(20, { size: 0, full: false }, fixed)).toBe(20);
    expect(nextBatchWindowMs(0, partial, { minMs: 0, maxMs: 0 })).toBe(0);
    expect(nextBatchWindowMs(0, partial, { minMs: 0, maxMs: 100 })).toBe(2);
  });

  test('whatever the reads, it stays within [floor, ceiling]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(fc.record({ size: fc.nat(600), full: fc.boolean() }), { maxLength: 50 }),
        (minMs, extra, reads) => {
          const w = { minMs, maxMs: minMs + extra };
          let ms = minMs;
          for (const read of reads) {
            ms = nextBatchWindowMs(ms, read, w);
            expect(ms).toBeGreaterThanOrEqual(w.minMs);
            expect(ms).toBeLessThanOrEqual(w.maxMs);
            if (read.size === 0) expect(ms).toBe(w.minMs);
          }
        },
      ),
    );
  });
});
