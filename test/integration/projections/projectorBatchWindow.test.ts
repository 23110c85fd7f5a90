import { withBatchCountingProjector } from '../../support/batchCountingProjector';
import { countingSnapshot } from '../../support/countingProjection';
import { eventually } from '../../support/eventually';

const projected = withBatchCountingProjector({ pollMs: 5, batchWindowMs: 250 });

test('a steady trickle of commits is projected in few batches, and every event exactly once', async () => {
  const { db, store, batches } = projected;
  // 60 single-event appends, one every ~10 ms: polled every 5 ms, they would make ~60 batches.
  const started = Date.now();
  for (let i = 1; i <= 60; i++) {
    await store.append('window-trickle', [{ type: 'Counted', data: { i } }], { expected: i - 1 });
    await new Promise((r) => setTimeout(r, 10));
  }
  await eventually(async () =>
    expect(await countingSnapshot(db.pool)).toEqual([
      { stream_name: 'window-trickle', events: 60, last_version: '60' },
    ]),
  );
  const elapsedMs = Date.now() - started;
  // With batches at least 250 ms apart, there can be at most one batch per window plus the first.
  expect(batches.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / 250) + 1);
  expect(batches.reduce((a, b) => a + b, 0)).toBe(60);
  const { rows } = await db.pool.query<{ n: string }>(
    'select count(*) as n from test_applied where times <> 1',
  );
  expect(Number(rows[0]!.n)).toBe(0);
});
