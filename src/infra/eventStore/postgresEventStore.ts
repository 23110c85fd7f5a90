import { randomUUID } from 'node:crypto';
import { Observable, type Subscription } from 'rxjs';
import type pg from 'pg';
import {
  type AppendResult,
  type Checkpoint,
  type EventBatch,
  type EventStore,
  type ExpectedVersion,
  type JsonObject,
  type NewEvent,
  type ReadAllOptions,
  type ReadAllResult,
  type ReadStreamOptions,
  type StoredEvent,
  type SubscribeOptions,
  IdempotencyConflictError,
  WrongExpectedVersionError,
} from './eventStore';
import { isPgError } from '../postgres/pool';
import type { CoalescingNotifier } from '../postgres/notifications';

export const EVENTS_CHANNEL = 'es_events';
const APPEND_SQL = 'select * from es_append($1, $2, $3, $4::jsonb)';
/** Bounded: each retry follows a commit by a competing writer, so the stream did make progress. */
const MAX_RACE_RETRIES = 50;

interface EventRow {
  event_id: string;
  stream_name: string;
  stream_version: string;
  event_type: string;
  data: JsonObject;
  metadata: JsonObject;
  global_position: string;
  transaction_id: string;
  recorded_at: Date;
}

const EVENT_COLUMNS =
  'event_id, stream_name, stream_version, event_type, data, metadata, global_position, transaction_id, recorded_at';

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    streamName: row.stream_name,
    streamVersion: Number(row.stream_version),
    type: row.event_type,
    data: row.data,
    metadata: row.metadata,
    globalPosition: Number(row.global_position),
    transactionId: row.transaction_id,
    recordedAt: row.recorded_at,
  };
}

export interface AppendObserver {
  (durationSeconds: number, eventCount: number): void;
}

export interface PostgresEventStoreOptions {
  notifier?: CoalescingNotifier;
  /** Emits whenever new events may be readable (LISTEN/NOTIFY). */
  wakeups?: Observable<unknown>;
  onAppend?: AppendObserver;
}

export class PostgresEventStore implements EventStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresEventStoreOptions = {},
  ) {}

  async append(
    stream: string,
    events: readonly NewEvent[],
    { expected = 'any' }: { expected?: ExpectedVersion } = {},
  ): Promise<AppendResult> {
    if (!stream) throw new TypeError('stream name is required');
    if (typeof expected === 'number' && (!Number.isInteger(expected) || expected < 0)) {
      throw new TypeError(`expected version must be an integer >= 0, got ${expected}`);
    }
    if (events.length === 0) return this.checkOnly(stream, expected);

    const payload = JSON.stringify(
      events.map((e) => ({
        id: e.id ?? randomUUID(),
        type: e.type,
        data: e.data,
        metadata: e.metadata ?? {},
      })),
    );
    const kind = typeof expected === 'number' ? 'exact' : expected;
    const version = typeof expected === 'number' ? expected : null;
    const started = process.hrtime.bigint();
    for (let attempt = 0; ; attempt++) {
      try {
        // Named statement: parsed and planned once per connection.
        const { rows } = await this.pool.query<{
          stream_version: string;
          global_position: string;
          transaction_id: string;
          already_stored: boolean;
        }>({ name: 'es_append', text: APPEND_SQL, values: [stream, kind, version, payload] });
        const alreadyStored = rows[0]?.already_stored ?? false;
        const positions = rows.map((r) => ({
          streamVersion: Number(r.stream_version),
          globalPosition: Number(r.global_position),
          transactionId: r.transaction_id,
        }));
        if (!alreadyStored) this.options.notifier?.notify(EVENTS_CHANNEL);
        this.options.onAppend?.(Number(process.hrtime.bigint() - started) / 1e9, events.length);
        return {
          nextExpectedVersion: alreadyStored
            ? await this.streamVersion(stream)
            : positions[positions.length - 1]!.streamVersion,
          positions,
          alreadyStored,
        };
      } catch (err) {
        if (isPgError(err, 'CS001')) {
          throw new WrongExpectedVersionError(stream, expected, Number(err.detail ?? 0));
        }
        if (isPgError(err, 'CS002')) throw new IdempotencyConflictError(stream);
        if (isPgError(err, '23505') && attempt < MAX_RACE_RETRIES) {
          // Lost a race on the unique indexes. Same event id: the retry takes the idempotent path. Same
          // stream version: 'any' just tries again; a definite expectation has been violated.
          if (err.constraint === 'es_events_event_id_key') continue;
          if (err.constraint === 'es_events_stream_version_key') {
            if (expected === 'any') continue;
            throw new WrongExpectedVersionError(stream, expected, await this.streamVersion(stream));
          }
        }
        throw err;
      }
    }
  }

  private async checkOnly(stream: string, expected: ExpectedVersion): Promise<AppendResult> {
    const actual = await this.streamVersion(stream);
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && actual === 0) ||
      (expected === 'stream_exists' && actual > 0) ||
      expected === actual;
    if (!ok) throw new WrongExpectedVersionError(stream, expected, actual);
    return { nextExpectedVersion: actual, positions: [], alreadyStored: false };
  }

  async streamVersion(stream: string): Promise<number> {
    const { rows } = await this.pool.query<{ version: string }>(
      'select coalesce(max(stream_version), 0) as version from es_events where stream_name = $1',
      [stream],
    );
    return Number(rows[0]?.version ?? 0);
  }

  async readStream(
    stream: string,
    { from = 1, until, limit }: ReadStreamOptions = {},
  ): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `select ${EVENT_COLUMNS} from es_events
        where stream_name = $1 and stream_version >= $2 and ($3::timestamptz is null or date_trunc('milliseconds', recorded_at) <= $3)
        order by stream_version
        limit $4`,
      [stream, from, until ?? null, limit ?? null],
    );
    return rows.map(toStoredEvent);
  }

  async readAll({ after, limit, types, maxBytes }: ReadAllOptions): Promise<ReadAllResult> {
    // Only transactions older than every running one (snapshot xmin) are read: their set of rows is final,
    // so nothing can later appear behind the checkpoint.
    const page = `select ${EVENT_COLUMNS} from es_events
        where (transaction_id, global_position) > ($1::xid8, $2::bigint)
          and transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        order by transaction_id, global_position
        limit $3`;
    // Bounded by bytes: a running sum of the stored sizes (pg_column_size reads the TOAST pointer, not
    // the value), cut where it passes maxBytes; rows past the cut are never detoasted.
    const { rows } = await this.pool.query<EventRow>(
      maxBytes === undefined
        ? page
        : `select ${EVENT_COLUMNS} from (
             select *, sum(pg_column_size(data)) over w - pg_column_size(data) as bytes_before
               from (${page}) p window w as (order by transaction_id, global_position)) sized
            where bytes_before < $4
            order by transaction_id, global_position`,
      maxBytes === undefined
        ? [after.transactionId, after.globalPosition, limit]
        : [after.transactionId, after.globalPosition, limit, maxBytes],
    );
    const last = rows[rows.length - 1];
    const checkpoint: Checkpoint = last
      ? { transactionId: last.transaction_id, globalPosition: Number(last.global_position) }
      : after;
    const all = rows.map(toStoredEvent);
    return { events: types ? all.filter((e) => types.includes(e.type)) : all, checkpoint };
  }

  subscribe({
    after,
    limit = 500,
    types,
    ack = 'auto',
    pollIntervalMs = 250,
  }: SubscribeOptions): Observable<EventBatch> {
    return new Observable<EventBatch>((subscriber) => {
      let stopped = false;
      let woken = false;
      let wake: (() => void) | null = null;
      let onStop: () => void = () => {};
      const stoppedSignal = new Promise<void>((resolve) => (onStop = resolve));
      const wakeups: Subscription | undefined = this.options.wakeups?.subscribe(() => {
        woken = true;
        wake?.();
      });
      // Waits for a wake-up, the poll interval, or unsubscription, whichever comes first.
      const pause = () =>
        new Promise<void>((resolve) => {
          if (woken || stopped) return resolve();
          const timer = setTimeout(done, pollIntervalMs);
          function done() {
            clearTimeout(timer);
            wake = null;
            resolve();
          }
          wake = done;
        });

      void (async () => {
        let cursor = after;
        while (!stopped) {
          try {
            woken = false;
            const { events, checkpoint } = await this.readAll({
              after: cursor,
              limit,
              ...(types ? { types } : {}),
            });
            const advanced = checkpoint !== cursor;
            cursor = checkpoint;
            if (events.length === 0) {
              // Filtered-out events still advance the cursor; only an empty read means "caught up".
              if (!advanced) await pause();
              continue;
            }
            let acked: () => void = () => {};
            const ackedSignal = new Promise<void>((resolve) => (acked = resolve));
            subscriber.next({ events, checkpoint, ack: () => acked() });
            if (ack === 'manual') await Promise.race([ackedSignal, stoppedSignal]);
          } catch (err) {
            if (!stopped) subscriber.error(err);
            return;
          }
        }
      })();

      return () => {
        stopped = true;
        onStop();
        wakeups?.unsubscribe();
        wake?.();
      };
    });
  }
}
