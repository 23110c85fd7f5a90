import type pg from 'pg';
import { type Projection, neverPark } from '../../src/projections/projection';

/**
 * A projection for runtime tests: keeps per-stream counts, and counts how many times each event was
 * applied, so "no event applied twice" is observable.
 */
export const countingProjection: Projection = {
  name: 'test_counting',
  handles: ['Counted'],
  tables: ['test_applied', 'test_counts'],
  mayPark: neverPark,
  async apply(tx, events) {
    for (const e of events) {
      await tx.query(
        `insert into test_applied (event_id, times) values ($1, 1)
           on conflict (event_id) do update set times = test_applied.times + 1`,
        [e.eventId],
      );
      await tx.query(
        `insert into test_counts (stream_name, events, last_version) values ($1, 1, $2)
           on conflict (stream_name) do update set events = test_counts.events + 1, last_version = $2`,
        [e.streamName, e.streamVersion],
      );
    }
  },
};

export async function createCountingTables(db: pg.Pool): Promise<void> {
  await db.query(`
    create table test_applied (event_id uuid primary key, times int not null);
    create table test_counts (stream_name text primary key, events int not null, last_version bigint not null);
  `);
}

export async function countingSnapshot(db: pg.Pool) {
  const { rows } = await db.query(
    'select stream_name, events, last_version from test_counts order by stream_name',
  );
  return rows;
}
