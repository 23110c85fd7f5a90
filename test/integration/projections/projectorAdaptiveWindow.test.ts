import { withBatchCountingProjector } from '../../support/batchCountingProjector';
import { countingSnapshot } from '../../support/countingProjection';
import { eventually } from '../../support/eventually';

// A 5 ms floor alone would take each of the appends below (10 ms apart) in a batch of its own.
const projected = withBatchCountingProjector({ pollMs: 5, batchWindowMs: 5, batchWindowMaxMs: 300 });

test('a load that goes on widens the window: far fewer batches than commits, every event exactly once', async () => {
  const { db, store, batches } = projected;
  const appends = 80;
  for (let i = 1; i <= appends; i++) {
    await store.append('window-sustained', [{ type: 'Counted', data: { i } }], { expected: i - 1 });
    await new Promise((r) => setTimeout(r, 10));
  }
  await eventually(async () =>
    expect(await countingSnapshot(db.pool)).toEqual([
      { stream_name: 'window-sustained', events: appends, last_version: String(appends) },
    ]),
  );
  expect(batches.reduce((a, b) => a + b, 0)).toBe(appends);
  // Doubling from 5 ms reaches 300 ms in seven batches; a stall of the machine that lets a read find
  // nothing starts it over, hence the margin — a window stuck at the floor makes ~80.
  expect(batches.length).toBeLessThanOrEqual(appends / 2);
  expect(Math.max(...batches)).toBeGreaterThan(5);
  const { rows } = await db.pool.query<{ n: string }>(
    'select count(*) as n from test_applied where times <> 1',
  );
  expect(Number(rows[0]!.n)).toBe(0);

  // Caught up, then a lone event: projected in a batch of its own, like any command after a quiet spell.
  const before = batches.length;
  await store.append('window-sustained', [{ type: 'Counted', data: { i: 0 } }], { expected: appends });
  await eventually(async () => expect((await countingSnapshot(db.pool))[0]!.events).toBe(appends + 1));
  expect(batches.slice(before)).toEqual([1]);
});
