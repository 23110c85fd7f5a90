import { createHash, randomUUID } from 'node:crypto';
import { Observable, type Subscription } from 'rxjs';
import pg from 'pg';
import {
  type AppendInTransactionResult,
  type AppendOptions,
  type AppendResult,
  type Checkpoint,
  type EventBatch,
  type EventStore,
  type ExpectedVersion,
  type JsonObject,
  type NewEvent,
  type ReadAllOptions,
  type ReadAllResult,
  type ReadNewerOptions,
  type ReadNewerResult,
  type ReadPositionsResult,
  type ReadRangeOptions,
  type ReadStreamOptions,
  type StoredEvent,
  type StreamAppend,
  type SubscribeOptions,
  IdempotencyConflictError,
  START,
  WrongExpectedVersionError,
} from './eventStore';
import { isPgError } from '../postgres/pool';
import { appendParameters, jsonbArrayLiteral } from './appendParameters';
import { type CoalescingNotifier, wakeupPayload } from '../postgres/notifications';

const { escapeLiteral } = pg;

export const EVENTS_CHANNEL = 'es_events';
// Only the columns the result uses: a 5 000-event append returns 5 000 rows, and parsing a timestamp per
// row the caller never reads was a visible share of a bulk write's event-loop time.
// The events travel as arrays (migration 061): each value is parsed once, into its column's type.
const APPEND_SQL =
  'select stream_version, global_position, transaction_id, already_stored ' +
  'from es_append($1, $2, $3, $4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[])';

/**
 * The common append as ONE plain INSERT sent by the client (a named statement: parsed and planned once per
 * connection), instead of a call into es_append: the version look-up is a sub-select of the INSERT, the
 * expectation its WHERE, and there is no PL/pgSQL call, no result built in a tuplestore and no second
 * statement executor (bench eventstore). It is all or nothing, so it only ever does the common case:
 *  - an expectation that fails inserts nothing (no row back);
 *  - an event id already stored fails it with unique_violation on es_events_event_id_key (no ON CONFLICT
 *    here: a batch partly stored must store nothing, and this statement commits on its own);
 * and then es_append (migration 061) runs instead, whose rules decide as they always have: the stored
 * result of an idempotent re-append (already_stored), CS002, CS001 with the actual version. A lost race on
 * es_events_stream_version_key is unique_violation here as there (the concurrency control, retryOrThrow).
 * The version is the stream's last row, one backward step on es_events_stream_version_key (the planner
 * takes it for `order by … desc limit 1` even on an empty, never-analysed table: appendPlans tests).
 * One event (most appends) takes scalars: no array to build here or to take apart there.
 */
// OFFSET 0 keeps `c` a sub-query of its own: pulled up, its sub-select became one InitPlan per mention of
// c.v (five, each set up by every execution, two run for 'exact': EXPLAIN of the generic plan).
const FAST_CURRENT =
  '(select coalesce((select x.stream_version from es_events x where x.stream_name = $1::text ' +
  'order by x.stream_version desc limit 1), 0) as v offset 0) c';
const FAST_EXPECTATION =
  "case $2::text when 'any' then true when 'no_stream' then c.v = 0 when 'stream_exists' then c.v > 0 " +
  'else c.v = $3::bigint end';
const FAST_INSERT =
  'insert into es_events (event_id, stream_name, stream_version, event_type, data, metadata) ';
const FAST_RETURNING = ' returning stream_version, global_position, transaction_id';
const FAST_APPEND_ONE_SQL =
  FAST_INSERT +
  "select $4::uuid, $1::text, c.v + 1, $5::text, $6::jsonb, coalesce($7::jsonb, '{}') " +
  `from ${FAST_CURRENT} where ${FAST_EXPECTATION}` +
  FAST_RETURNING;
const FAST_APPEND_MANY_SQL =
  FAST_INSERT +
  "select u.id, $1::text, c.v + u.ord, u.type, u.data, coalesce(u.metadata, '{}') " +
  `from ${FAST_CURRENT}, unnest($4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[]) ` +
  `with ordinality as u(id, type, data, metadata, ord) where ${FAST_EXPECTATION} order by u.ord` +
  FAST_RETURNING;

/** In the caller's transaction: the stored events are returned (recorded_at too), and a failure is a row. */
const APPEND_IN_TX_SQL =
  'select stream_version, global_position, transaction_id, recorded_at, already_stored, error_state, ' +
  'error_message, error_detail, error_constraint ' +
  'from es_append_in_tx($1, $2, $3, $4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[], $8, $9)';

/** Many streams in the caller's transaction (migration 065): one row per event, or one naming the error. */
const APPEND_STREAMS_IN_TX_SQL =
  'select stream_version, global_position, transaction_id, recorded_at, error_state, error_message, ' +
  'error_detail, error_constraint from es_append_streams_in_tx($1::jsonb, $2, $3)';

/** A stream's events at an exact version plus companion events in new streams, one statement (085). */
const APPEND_WITH_SQL = 'select es_append_with($1, $2, $3::jsonb, $4::jsonb) as stored';

interface AppendInTransactionRow {
  stream_version: string | null;
  global_position: string | null;
  transaction_id: string | null;
  recorded_at: Date | null;
  already_stored: boolean | null;
  error_state: string | null;
  error_message: string | null;
  error_detail: string | null;
  error_constraint: string | null;
}

/** es_append's error as the row reports it, shaped as pg's DatabaseError (code, detail, constraint). */
function appendFailure(row: AppendInTransactionRow): Error {
  return Object.assign(new Error(row.error_message ?? `es_append failed (${row.error_state})`), {
    code: row.error_state,
    ...(row.error_detail !== null ? { detail: row.error_detail } : {}),
    ...(row.error_constraint !== null ? { constraint: row.error_constraint } : {}),
  });
}

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

interface PositionRow {
  event_id: string;
  stream_name: string;
  stream_version: string;
  event_type: string;
  global_position: string;
  transaction_id: string;
  bytes: string;
}

/**
 * A read the projector repeats on every batch, as a named statement: parsed and planned once per
 * connection rather than on every execution. In a live feed the typed read's planning cost twice its
 * execution (bench simulate, pg_stat_statements.track_planning: 1.2 s of planning against 0.5 s of execution
 * for 8 000 requests' events, the reads of lanes with a dozen types). The name is the text's hash, so a
 * name never meets another text (node-postgres refuses that); the text is built once per columns and types,
 * not on every read. Bounded: past MAX_NAMED_READS distinct texts (types chosen by some caller rather than
 * by a projection), a text goes unnamed, planned each time as before, and no connection holds more than
 * that many of these statements.
 */
const MAX_NAMED_READS = 256;
const typedReads = new Map<string, { name: string; text: string }>();
function typedReadStatement(columns: string, types: readonly string[], values: unknown[]): pg.QueryConfig {
  // NUL cannot be part of a PostgreSQL text, so the key is unambiguous.
  const key = `${columns}\u0000${types.join('\u0000')}`;
  const known = typedReads.get(key);
  if (known) return { ...known, values };
  const text = typedReadSql(columns, types);
  if (typedReads.size >= MAX_NAMED_READS) return { text, values };
  const statement = { name: `es_read_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`, text };
  typedReads.set(key, statement);
  return { ...statement, values };
}

/**
 * The per-type scans of a typed read: one branch per type, each an ordered range scan of
 * es_events_type_commit_order from the checkpoint. Each type is a literal of the statement's text (what a
 * reader wants is fixed — a projection's types — so its text is too), so that every plan of it knows the
 * types, the generic plan a named statement may keep after its fifth execution included. With the type
 * as a parameter, a generic plan estimated it from the column's distinct count: on a log of mostly one
 * type it took every type to match every row and walked es_events_commit_order with a filter, and a type
 * that has no events read the whole rest of the log (typedReadIndex tests, generic plans forced: 20 000
 * index entries for a read of a type with none) — as the planner did, custom plans too, when the types
 * reached it as one array unnested into a lateral join (EXPLAIN ANALYZE: 30 ms for a 500-record provenance
 * batch 60 000 events from the head, nearly all of it ProvenanceRetentionApplied's scan).
 */
function typedBranches(columns: string, types: readonly string[]): string {
  const select = `select ${columns}, pg_column_size(e.data) as stored_bytes from es_events e`;
  // No types: one branch that finds nothing (a UNION of none is not SQL).
  if (types.length === 0) return `${select} where false`;
  return types
    .map(
      (type) => `(${select}, h
       where e.event_type = ${escapeLiteral(type)}
         and (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
         and e.transaction_id < h.horizon
       order by e.transaction_id, e.global_position
       limit $3)`,
    )
    .join('\n       union all\n       ');
}

/** The typed read's statement for these types (its text the same for the same columns and types). */
function typedReadSql(columns: string, types: readonly string[]): string {
  return `with h as materialized (select pg_snapshot_xmin(pg_current_snapshot()) as horizon),
       examined as (
         select e.transaction_id, e.global_position from es_events e, h
          where (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
            and e.transaction_id < h.horizon
          order by e.transaction_id desc, e.global_position desc
          limit 1),
       wanted as (
         select w.* from (${typedBranches(columns, types)}) w
         order by w.transaction_id, w.global_position
         limit $3),
       sized as (
         select w.*, sum(w.stored_bytes) over o - w.stored_bytes as bytes_before,
                count(*) over () as wanted_count
           from wanted w window o as (order by w.transaction_id, w.global_position))
       select x.transaction_id::text as examined_tx, x.global_position as examined_position, s.*
         from examined x left join sized s on $4::bigint is null or s.bytes_before < $4::bigint
        order by s.transaction_id, s.global_position`;
}

/** A wanted event without its payload (readPositions): its size, not its data, leaves the server. */
const POSITION_COLUMNS =
  'e.event_id, e.stream_name, e.stream_version, e.event_type, e.global_position, e.transaction_id, pg_column_size(e.data) as bytes';

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

/** The distinct types of an append (usually one or two): what its NOTIFY names. */
function eventTypes(events: readonly NewEvent[]): string[] {
  const types: string[] = [];
  for (const e of events) if (!types.includes(e.type)) types.push(e.type);
  return types;
}

/** null (no event has metadata: es_append stores '{}' for each) or the events' metadata as one literal. */
const metadataArray = (metadata: string[] | null) => metadata && jsonbArrayLiteral(metadata);

/** One event as es_append_with's JSON element (`stream` only for a companion). */
function eventJson(e: NewEvent, stream: string | null): string {
  const id = JSON.stringify(e.id ?? randomUUID());
  const head = stream === null ? `{"id":${id}` : `{"id":${id},"stream":${JSON.stringify(stream)}`;
  const metadata = e.metadata === undefined ? '' : `,"metadata":${JSON.stringify(e.metadata)}`;
  return `${head},"type":${JSON.stringify(e.type)},"data":${JSON.stringify(e.data)}${metadata}}`;
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

  append(
    stream: string,
    events: readonly NewEvent[],
    options: AppendOptions & { tx: pg.ClientBase },
  ): Promise<AppendInTransactionResult>;
  append(stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  async append(
    stream: string,
    events: readonly NewEvent[],
    { expected = 'any', tx }: AppendOptions = {},
  ): Promise<AppendResult | AppendInTransactionResult> {
    if (!stream) throw new TypeError('stream name is required');
    if (typeof expected === 'number' && (!Number.isInteger(expected) || expected < 0)) {
      throw new TypeError(`expected version must be an integer >= 0, got ${expected}`);
    }
    if (tx) return this.appendInTransaction(tx, stream, events, expected);
    if (events.length === 0) return this.checkOnly(stream, expected);

    const { ids, types, data, metadata } = appendParameters(events);
    const kind = typeof expected === 'number' ? 'exact' : expected;
    const version = typeof expected === 'number' ? expected : null;
    const started = process.hrtime.bigint();
    const one = events.length === 1;
    // The plain INSERT first; es_append only when it could not do the append (FAST_APPEND_ONE_SQL).
    let viaFunction = false;
    for (let attempt = 0; ; attempt++) {
      try {
        let positions: AppendResult['positions'];
        let alreadyStored = false;
        if (!viaFunction) {
          // Rows as arrays: [stream_version, global_position, transaction_id].
          const { rows } = await this.pool.query<[string, string, string]>({
            name: one ? 'es_append_fast_one' : 'es_append_fast_many',
            text: one ? FAST_APPEND_ONE_SQL : FAST_APPEND_MANY_SQL,
            values: one
              ? [stream, kind, version, ids[0], types[0], data[0], metadata?.[0] ?? null]
              : [stream, kind, version, ids, types, jsonbArrayLiteral(data), metadataArray(metadata)],
            rowMode: 'array',
          });
          if (rows.length !== events.length) {
            // Nothing inserted: the expectation failed (or every id is stored and it would have failed
            // anyway): es_append says which, and how.
            viaFunction = true;
            continue;
          }
          positions = rows.map((r) => ({
            streamVersion: Number(r[0]),
            globalPosition: Number(r[1]),
            transactionId: r[2],
          }));
        } else {
          // Named statement: parsed and planned once per connection.
          const { rows } = await this.pool.query<{
            stream_version: string;
            global_position: string;
            transaction_id: string;
            already_stored: boolean;
          }>({
            name: 'es_append',
            text: APPEND_SQL,
            values: [stream, kind, version, ids, types, jsonbArrayLiteral(data), metadataArray(metadata)],
          });
          alreadyStored = rows[0]?.already_stored ?? false;
          positions = rows.map((r) => ({
            streamVersion: Number(r.stream_version),
            globalPosition: Number(r.global_position),
            transactionId: r.transaction_id,
          }));
        }
        if (!alreadyStored) this.options.notifier?.notify(EVENTS_CHANNEL, eventTypes(events));
        this.options.onAppend?.(Number(process.hrtime.bigint() - started) / 1e9, events.length);
        return {
          nextExpectedVersion: alreadyStored
            ? await this.streamVersion(stream)
            : positions[positions.length - 1]!.streamVersion,
          positions,
          alreadyStored,
        };
      } catch (err) {
        if (!viaFunction && isPgError(err, '23505') && err.constraint === 'es_events_event_id_key') {
          // An id already stored (a retried append, or one stored elsewhere): es_append's rules decide.
          viaFunction = true;
          continue;
        }
        await this.retryOrThrow(err, stream, ids, expected, attempt, this.pool);
        // A definite expectation retries only when the winner stored these very events: es_append returns
        // them (the INSERT would meet the same index again).
        if (expected !== 'any') viaFunction = true;
      }
    }
  }

  /**
   * The append as part of the caller's transaction. A lost race on the unique indexes would abort the whole
   * transaction, so the append runs in a subtransaction (es_append_in_tx's exception block) and a retry
   * rolls back that only. The wake-up is a transactional NOTIFY naming the types: readers are woken when
   * the events become visible, not before.
   */
  private async appendInTransaction(
    tx: pg.ClientBase,
    stream: string,
    events: readonly NewEvent[],
    expected: ExpectedVersion,
  ): Promise<AppendInTransactionResult> {
    if (events.length === 0) return { ...(await this.checkOnly(stream, expected, tx)), events: [] };
    const { ids, types, data, metadata, given } = appendParameters(events);
    const kind = typeof expected === 'number' ? 'exact' : expected;
    const version = typeof expected === 'number' ? expected : null;
    const started = process.hrtime.bigint();
    for (let attempt = 0; ; attempt++) {
      // One round trip: es_append_in_tx (migration 060) is the savepoint, the append and the wake-up.
      const { rows } = await tx.query<AppendInTransactionRow>({
        name: 'es_append_in_tx',
        text: APPEND_IN_TX_SQL,
        values: [
          stream,
          kind,
          version,
          ids,
          types,
          jsonbArrayLiteral(data),
          metadataArray(metadata),
          EVENTS_CHANNEL,
          wakeupPayload(eventTypes(events)),
        ],
      });
      const failure = rows[0]?.error_state ? appendFailure(rows[0]) : null;
      if (failure) {
        await this.retryOrThrow(failure, stream, ids, expected, attempt, tx);
        continue;
      }
      const alreadyStored = rows[0]?.already_stored ?? false;
      // The stored data is the JSON of what was given (jsonb): the same round trip a read would make.
      const stored: StoredEvent[] = rows.map((r, i) => ({
        eventId: given[i]!.id,
        streamName: stream,
        streamVersion: Number(r.stream_version),
        type: given[i]!.type,
        data: JSON.parse(data[i]!) as JsonObject,
        metadata: (metadata ? JSON.parse(metadata[i]!) : {}) as JsonObject,
        globalPosition: Number(r.global_position),
        transactionId: r.transaction_id!,
        recordedAt: r.recorded_at!,
      }));
      this.options.onAppend?.(Number(process.hrtime.bigint() - started) / 1e9, events.length);
      return {
        nextExpectedVersion: alreadyStored
          ? await this.streamVersion(stream, tx)
          : stored[stored.length - 1]!.streamVersion,
        positions: stored.map((e) => ({
          streamVersion: e.streamVersion,
          globalPosition: e.globalPosition,
          transactionId: e.transactionId,
        })),
        alreadyStored,
        events: stored,
      };
    }
  }

  async appendToStreams(
    appends: readonly StreamAppend[],
    { tx }: { tx: pg.ClientBase },
  ): Promise<StoredEvent[]> {
    const parts = appends.map(({ stream, events }) => {
      if (!stream) throw new TypeError('stream name is required');
      return events.map((e) => ({
        id: e.id ?? randomUUID(),
        stream,
        type: e.type,
        data: e.data,
        metadata: e.metadata ?? {},
      }));
    });
    const given = parts.flat();
    if (given.length === 0) return [];
    const started = process.hrtime.bigint();
    const json = JSON.stringify(given);
    const { rows } = await tx.query<Omit<AppendInTransactionRow, 'already_stored'>>({
      name: 'es_append_streams_in_tx',
      text: APPEND_STREAMS_IN_TX_SQL,
      values: [json, EVENTS_CHANNEL, wakeupPayload(eventTypes(given))],
    });
    if (rows[0]?.error_state) {
      // Something of it is stored already, or a concurrent append took a version: nothing of the call was
      // kept, and each stream goes the way of a single append (its idempotency, its race retries).
      const stored: StoredEvent[] = [];
      for (const part of parts) {
        if (part.length === 0) continue;
        const result = await this.appendInTransaction(tx, part[0]!.stream, part, 'any');
        stored.push(...result.events);
      }
      return stored;
    }
    this.options.onAppend?.(Number(process.hrtime.bigint() - started) / 1e9, given.length);
    // The stored data is the JSON of what was given (jsonb), as appendInTransaction returns it: the JSON
    // sent, parsed back once for the whole batch.
    const sent = JSON.parse(json) as Array<{ data: JsonObject; metadata: JsonObject }>;
    return rows.map((r, i) => ({
      eventId: given[i]!.id,
      streamName: given[i]!.stream,
      streamVersion: Number(r.stream_version),
      type: given[i]!.type,
      data: sent[i]!.data,
      metadata: sent[i]!.metadata,
      globalPosition: Number(r.global_position),
      transactionId: r.transaction_id!,
      recordedAt: r.recorded_at!,
    }));
  }

  async appendWith(
    stream: string,
    events: readonly NewEvent[],
    expected: number,
    companions: readonly StreamAppend[],
  ): Promise<void> {
    if (!stream) throw new TypeError('stream name is required');
    if (!Number.isInteger(expected) || expected < 0) {
      throw new TypeError(`expected version must be an integer >= 0, got ${expected}`);
    }
    const types = new Set<string>();
    let count = 0;
    // The JSON texts are built by hand around each event's JSON.stringify: one pass over the data, and no
    // intermediate array of wrapper objects per event.
    let main = '[';
    for (const e of events) {
      types.add(e.type);
      main += `${count++ > 0 ? ',' : ''}${eventJson(e, null)}`;
    }
    main += ']';
    let others = '[';
    let first = true;
    for (const { stream: other, events: otherEvents } of companions) {
      if (!other) throw new TypeError('stream name is required');
      for (const e of otherEvents) {
        types.add(e.type);
        count++;
        others += `${first ? '' : ','}${eventJson(e, other)}`;
        first = false;
      }
    }
    others += ']';
    if (count === 0) {
      await this.checkOnly(stream, expected);
      return;
    }
    const started = process.hrtime.bigint();
    try {
      await this.pool.query({
        name: 'es_append_with',
        text: APPEND_WITH_SQL,
        values: [stream, expected, main, others],
      });
    } catch (err) {
      if (isPgError(err, 'CS001')) {
        throw new WrongExpectedVersionError(stream, expected, Number(err.detail ?? 0));
      }
      // Another writer took this stream's next version between the version read and the insert: the same
      // conflict. The same index refusing a companion's version 1 is not a race (companion streams are
      // new): that stays the database's error, for the caller to isolate.
      if (
        isPgError(err, '23505') &&
        err.constraint === 'es_events_stream_version_key' &&
        (err.detail ?? '').startsWith(`Key (stream_name, stream_version)=(${stream}, `)
      ) {
        throw new WrongExpectedVersionError(stream, expected, await this.streamVersion(stream));
      }
      throw err;
    }
    this.options.notifier?.notify(EVENTS_CHANNEL, types);
    this.options.onAppend?.(Number(process.hrtime.bigint() - started) / 1e9, count);
  }

  /**
   * A failed es_append as the caller sees it: returns when the append should simply run again, throws the
   * domain's error (or the original one) otherwise.
   */
  private async retryOrThrow(
    err: unknown,
    stream: string,
    ids: readonly string[],
    expected: ExpectedVersion,
    attempt: number,
    db: pg.ClientBase | pg.Pool,
  ): Promise<void> {
    if (isPgError(err, 'CS001')) {
      throw new WrongExpectedVersionError(stream, expected, Number(err.detail ?? 0));
    }
    if (isPgError(err, 'CS002')) throw new IdempotencyConflictError(stream);
    if (isPgError(err, '23505') && attempt < MAX_RACE_RETRIES) {
      // Lost a race on the unique indexes. Same event id: the retry takes the idempotent path. Same
      // stream version: 'any' just tries again; a definite expectation has been violated.
      if (err.constraint === 'es_events_event_id_key') return;
      if (err.constraint === 'es_events_stream_version_key') {
        if (expected === 'any') return;
        // The winner may have been a concurrent append of these same events: both passed ON CONFLICT's
        // event-id pre-check before either had inserted, and the stream-version index then met the
        // winner's row first. Then the retry is the idempotent re-append, as it was before (061).
        if (await this.allStored(stream, ids, db)) return;
        throw new WrongExpectedVersionError(stream, expected, await this.streamVersion(stream, db));
      }
    }
    throw err;
  }

  /** Whether every one of `ids` is stored in `stream` (only asked after a lost race). */
  private async allStored(stream: string, ids: readonly string[], db: pg.ClientBase | pg.Pool) {
    const { rows } = await db.query<{ n: string }>(
      'select count(*) as n from es_events where event_id = any($1::uuid[]) and stream_name = $2',
      [ids, stream],
    );
    return Number(rows[0]?.n ?? 0) === ids.length;
  }

  private async checkOnly(
    stream: string,
    expected: ExpectedVersion,
    db: pg.ClientBase | pg.Pool = this.pool,
  ): Promise<AppendResult> {
    const actual = await this.streamVersion(stream, db);
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && actual === 0) ||
      (expected === 'stream_exists' && actual > 0) ||
      expected === actual;
    if (!ok) throw new WrongExpectedVersionError(stream, expected, actual);
    return { nextExpectedVersion: actual, positions: [], alreadyStored: false };
  }

  async streamVersion(stream: string, db: pg.ClientBase | pg.Pool = this.pool): Promise<number> {
    const { rows } = await db.query<{ version: string }>(
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
    if (types) return this.readAllOfTypes(after, limit, types, maxBytes);
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
    return { events: rows.map(toStoredEvent), checkpoint };
  }

  /**
   * readAll with the type filter in SQL, under the same horizon, in one statement (one snapshot):
   *  - `wanted`: per type, an ordered range scan of es_events_type_commit_order from the checkpoint, at most
   *    `limit` rows each, merged and cut to `limit` — the cost follows the rows returned, not the events
   *    of other types in between;
   *  - `examined`: the last event of ANY type below the horizon (one backward step on the commit-order
   *    index). Every event up to it is final and every wanted one up to it is in `wanted` (unless `limit`
   *    cut it), so the checkpoint moves there: a reader of rare types is not left behind events it does
   *    not want (its lag stays right), and never passes an event that may still commit below it.
   *  - `maxBytes`: `wanted` is cut where the running sum of stored sizes passes it (the first event always
   *    stays); rows past the cut are never sent or detoasted, and the checkpoint stops at the last event
   *    returned (`wanted_count` says a cut happened).
   */
  private async readAllOfTypes(
    after: Checkpoint,
    limit: number,
    types: readonly string[],
    maxBytes: number | undefined,
  ): Promise<ReadAllResult> {
    const { rows, checkpoint } = await this.readTyped<EventRow>(EVENT_COLUMNS, after, limit, types, maxBytes);
    return { events: rows.map(toStoredEvent), checkpoint };
  }

  async readPositions({
    after,
    limit,
    types,
    maxBytes,
  }: ReadAllOptions & { types: readonly string[] }): Promise<ReadPositionsResult> {
    const { rows, checkpoint, full } = await this.readTyped<PositionRow>(
      POSITION_COLUMNS,
      after,
      limit,
      types,
      maxBytes,
    );
    return {
      events: rows.map((r) => ({
        eventId: r.event_id,
        streamName: r.stream_name,
        streamVersion: Number(r.stream_version),
        type: r.event_type,
        transactionId: r.transaction_id,
        globalPosition: Number(r.global_position),
        bytes: Number(r.bytes),
      })),
      checkpoint,
      full,
    };
  }

  async readRange({ after, through, types }: ReadRangeOptions): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `select ${EVENT_COLUMNS} from es_events
        where event_type = any($5::text[])
          and (transaction_id, global_position) > ($1::xid8, $2::bigint)
          and (transaction_id, global_position) <= ($3::xid8, $4::bigint)
        order by transaction_id, global_position`,
      [after.transactionId, after.globalPosition, through.transactionId, through.globalPosition, types],
    );
    return rows.map(toStoredEvent);
  }

  /**
   * The typed read, with `columns` of each wanted event, under the same horizon, in one statement (one
   * snapshot):
   *  - `wanted`: per type, an ordered range scan of es_events_type_commit_order from the checkpoint, at most
   *    `limit` rows each, merged and cut to `limit` — the cost follows the rows returned, not the events
   *    of other types in between;
   *  - `examined`: the last event of ANY type below the horizon (one backward step on the commit-order
   *    index). Every event up to it is final and every wanted one up to it is in `wanted` (unless `limit`
   *    cut it), so the checkpoint moves there: a reader of rare types is not left behind events it does
   *    not want (its lag stays right), and never passes an event that may still commit below it.
   *  - `maxBytes`: `wanted` is cut where the running sum of stored sizes passes it (the first event always
   *    stays); rows past the cut are never sent or detoasted, and the checkpoint stops at the last event
   *    returned (`wanted_count` says a cut happened).
   */
  private async readTyped<R extends { transaction_id: string; global_position: string }>(
    columns: string,
    after: Checkpoint,
    limit: number,
    types: readonly string[],
    maxBytes: number | undefined,
  ): Promise<{ rows: R[]; checkpoint: Checkpoint; full: boolean }> {
    const distinctTypes = [...new Set(types)];
    const { rows } = await this.pool.query<
      Partial<R> & {
        event_id: string | null;
        examined_tx: string;
        examined_position: string;
        wanted_count: string | null;
      }
    >(
      typedReadStatement(columns, distinctTypes, [
        after.transactionId,
        after.globalPosition,
        limit,
        maxBytes ?? null,
      ]),
    );
    const found = rows.filter((r) => r.event_id != null) as unknown as R[];
    const examined = rows[0];
    const last = found[found.length - 1];
    const cut = found.length > 0 && Number(examined?.wanted_count ?? 0) > found.length;
    const full = found.length >= limit || cut;
    const checkpoint: Checkpoint =
      last && full
        ? { transactionId: last.transaction_id, globalPosition: Number(last.global_position) }
        : examined
          ? { transactionId: examined.examined_tx, globalPosition: Number(examined.examined_position) }
          : after;
    return { rows: found, checkpoint, full };
  }

  async readNewer(options: ReadNewerOptions): Promise<ReadNewerResult> {
    const { rows } = await this.pool.query<Partial<EventRow> & { next_horizon: string }>(
      readNewerStatement(options),
    );
    const { limit, horizon } = options;
    const events = rows.filter((r) => r.event_id != null).map((r) => toStoredEvent(r as EventRow));
    const complete = events.length < limit;
    return {
      events,
      horizon: complete ? rows[0]!.next_horizon : (horizon ?? '0'),
      complete,
    };
  }

  async head(): Promise<Checkpoint> {
    const { rows } = await this.pool.query<{ transaction_id: string; global_position: string }>(
      `select transaction_id::text, global_position from es_events
        where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        order by transaction_id desc, global_position desc limit 1`,
    );
    const row = rows[0];
    return row ? { transactionId: row.transaction_id, globalPosition: Number(row.global_position) } : START;
  }

  async checkpointOf(globalPosition: number): Promise<Checkpoint | null> {
    const { rows } = await this.pool.query<{ transaction_id: string }>(
      'select transaction_id::text from es_events where global_position = $1',
      [globalPosition],
    );
    return rows[0] ? { transactionId: rows[0].transaction_id, globalPosition } : null;
  }

  subscribe({
    after,
    limit = 500,
    types,
    reportProgress = false,
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
            // With a type filter the checkpoint also moves past events of other types: passed on (as an
            // empty batch) when asked, so the consumer can store it.
            if (events.length > 0 || (advanced && types && reportProgress)) {
              let acked: () => void = () => {};
              const ackedSignal = new Promise<void>((resolve) => (acked = resolve));
              subscriber.next({ events, checkpoint, ack: () => acked() });
              if (ack === 'manual') await Promise.race([ackedSignal, stoppedSignal]);
            }
            // Caught up: wait for a wake-up (one that came during the read or the batch counts) or the
            // poll. Filtered, a short read means caught up — never spin on a checkpoint that events of
            // other types keep moving; unfiltered, only a read that found nothing does.
            const caughtUp = types ? events.length < limit : !advanced;
            if (caughtUp) await pause();
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

/**
 * readNewer's one statement (exported so a test can EXPLAIN exactly what the gate runs).
 *
 * The horizon is the previous read's snapshot ("xmin:xmax:in-progress,…", pg_current_snapshot of the same
 * statement as its rows): that read saw every transaction below xmax except those in progress, so this one
 * needs only transactions from xmax on and the ones that were in progress — two index ranges, however
 * long some transaction anywhere in the cluster stays open. (From xmin on, as before, a read re-examined
 * every breaker event since the oldest writing transaction still running: one open for minutes under
 * sandbox traffic, which records a DriftObserved per simulate, made each read walk all of them.) A bare
 * transaction id (a projection checkpoint) means "from there on", with nothing in progress.
 *
 * Known versions travel as one jsonb object: a key lookup per candidate row, however many streams. For the
 * breaker types, es_events_breaker_feed serves both ranges (migrations/105_es_events_breaker_feed.ts says
 * why the plan needs an index of its own).
 */
export function readNewerStatement({ types, known, horizon, limit }: ReadNewerOptions): pg.QueryConfig {
  const { from, inProgress } = horizonRanges(horizon);
  const values: unknown[] = [types, JSON.stringify(Object.fromEntries(known)), limit];
  const branch = (range: string | null) => `(select ${EVENT_COLUMNS} from es_events
             where event_type = any($1::text[])${range === null ? '' : ` and ${range}`}
               and stream_version > coalesce(($2::jsonb ->> stream_name)::bigint, 0))`;
  const branches = [branch(from === null ? null : `transaction_id >= $${values.push(from)}::xid8`)];
  // Only ranges that can hold rows: given an empty list, the planner has chosen a sequential scan for it.
  if (inProgress.length > 0)
    branches.push(branch(`transaction_id = any($${values.push(inProgress)}::xid8[])`));
  return {
    text: `select pg_current_snapshot()::text as next_horizon, e.*
         from (select 1) h
         left join lateral (
           select * from (${branches.join(' union all ')}) c
            order by stream_name, stream_version
            limit $3) e on true`,
    values,
  };
}

/** A horizon as readNewer's two ranges: from `from` on (null: everything), and the ids in progress. */
function horizonRanges(horizon: string | null): { from: string | null; inProgress: string[] } {
  if (horizon === null) return { from: null, inProgress: [] };
  const [, xmax, xip] = horizon.split(':');
  // A bare transaction id (a checkpoint) has no ':' parts.
  if (xmax === undefined) return { from: horizon, inProgress: [] };
  return { from: xmax, inProgress: xip ? xip.split(',') : [] };
}
