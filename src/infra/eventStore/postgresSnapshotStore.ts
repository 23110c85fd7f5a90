import type pg from 'pg';
import type { SnapshotStore, StreamSnapshot } from './snapshotStore';

/** Snapshots in `es_snapshots` (migration 004), one row per stream and state schema. */
export class PostgresSnapshotStore implements SnapshotStore {
  constructor(private readonly pool: pg.Pool) {}

  async load<State>(stream: string, schema: string): Promise<StreamSnapshot<State> | null> {
    const { rows } = await this.pool.query<{ stream_version: string; state: State }>(
      `select stream_version, state from es_snapshots where stream_name = $1 and schema = $2`,
      [stream, schema],
    );
    const row = rows[0];
    return row ? { version: Number(row.stream_version), state: row.state } : null;
  }

  async save<State>(stream: string, schema: string, snapshot: StreamSnapshot<State>): Promise<void> {
    // Two replicas may snapshot the same stream: the later version wins, an older one never overwrites it.
    await this.pool.query(
      `insert into es_snapshots (stream_name, schema, stream_version, state) values ($1, $2, $3, $4::jsonb)
       on conflict (stream_name, schema) do update
         set stream_version = excluded.stream_version, state = excluded.state, taken_at = now()
       where es_snapshots.stream_version < excluded.stream_version`,
      [stream, schema, snapshot.version, JSON.stringify(snapshot.state)],
    );
  }
}
