import { LeaderElector } from '../../../src/infra/postgres/leaderElector';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';
import { settlesWithin } from '../../support/eventually';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => db.drop());

test('stop() while the lock is being taken ends promptly and never starts the work', async () => {
  for (let i = 0; i < 10; i++) {
    let started = false;
    const elector = new LeaderElector(db.url, 4242, 'test', { retryMs: 10 });
    elector.start(async ({ signal }) => {
      started = true;
      await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    });
    // Same tick: the elector is still connecting / taking the lock.
    expect(await settlesWithin(elector.stop(), 3000)).toBe('done');
    expect(started).toBe(false);
    expect(elector.isLeader).toBe(false);
  }
});

test('one leader at a time; stop releases the lock for the standby', async () => {
  const a = new LeaderElector(db.url, 4243, 'a', { retryMs: 20 });
  const b = new LeaderElector(db.url, 4243, 'b', { retryMs: 20 });
  const work = async ({ signal }: { signal: AbortSignal }) => {
    await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
  };
  a.start(work);
  for (let i = 0; i < 200 && !a.isLeader; i++) await new Promise((r) => setTimeout(r, 10));
  expect(a.isLeader).toBe(true);
  b.start(work);
  await new Promise((r) => setTimeout(r, 200));
  expect(b.isLeader).toBe(false);
  await a.stop();
  for (let i = 0; i < 200 && !b.isLeader; i++) await new Promise((r) => setTimeout(r, 10));
  expect(b.isLeader).toBe(true);
  await b.stop();
});
