import type pg from 'pg';
import type { Observable } from 'rxjs';

/** The port every event store implements (PostgreSQL by default; EventStoreDB optional). */

export type ExpectedVersion = 'any' | 'no_stream' | 'stream_exists' | number;

export type JsonObject = { [key: string]: unknown };

export interface NewEvent {
  /** Idempotency key: re-appending an event whose id is stored is a no-op returning the stored result. */
  id?: string;
  type: string;
  data: object;
  metadata?: JsonObject;
}

export interface StoredEvent {
  eventId: string;
  streamName: string;
  /** 1-based position of the event in its stream. */
  streamVersion: number;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  /** Insert-order position; readers order by (transactionId, globalPosition), never by this alone. */
  globalPosition: number;
  transactionId: string;
  recordedAt: Date;
}

/** A position in `$all` commit order. Compare only inside the store (transaction ids are xid8). */
export interface Checkpoint {
  transactionId: string;
  globalPosition: number;
}

export const START: Checkpoint = Object.freeze({ transactionId: '0', globalPosition: 0 });

export interface AppendResult {
  /** The stream's version after the append: pass it as `expected` for the next append. */
  nextExpectedVersion: number;
  positions: Array<{ streamVersion: number; globalPosition: number; transactionId: string }>;
  /** True when every event id was already stored and nothing was written. */
  alreadyStored: boolean;
}

export interface ReadStreamOptions {
  /** First stream version to return (inclusive, 1-based). */
  from?: number;
  /** Only events recorded at or before this instant (time travel). */
  until?: Date;
  limit?: number;
}

export interface ReadAllOptions {
  after: Checkpoint;
  /** At most this many events are returned (of the wanted types, when `types` is given). */
  limit: number;
  /**
   * Only these event types, filtered by the store (an index serves it), so a reader of rare types does
   * not read through floods of others. The checkpoint still advances past events of other types.
   */
  types?: readonly string[];
  /**
   * Stop adding events once their payloads (`data` as stored, possibly compressed) reach this many bytes;
   * the first event is always returned, however large, so a read always makes progress.
   */
  maxBytes?: number;
}

export interface ReadAllResult {
  events: StoredEvent[];
  /**
   * Where the next read starts: past the last event examined, of any type (so a filtered reader's lag is
   * right). Equals `after` (the same object) when nothing new was examined.
   */
  checkpoint: Checkpoint;
}

/**
 * An event's place in `$all` commit order and its stored size, without its payload: what a lane reads for
 * a projection that applies a range of events in SQL, straight from the stored rows (Projection.rangeStatement).
 */
export interface EventPosition extends Checkpoint {
  eventId: string;
  streamName: string;
  streamVersion: number;
  type: string;
  /** Stored size of `data` (pg_column_size: possibly compressed), what `maxBytes` counts. */
  bytes: number;
}

export interface ReadPositionsResult {
  events: EventPosition[];
  /** As ReadAllResult.checkpoint. */
  checkpoint: Checkpoint;
  /** `limit` or `maxBytes` cut the page: more events of these types are readable now. */
  full: boolean;
}

export interface ReadRangeOptions {
  after: Checkpoint;
  /** Inclusive; must not be past a checkpoint a read returned (everything up to it is final). */
  through: Checkpoint;
  types: readonly string[];
}

export interface ReadNewerOptions {
  types: readonly string[];
  /** Stream versions the reader already holds: only later events of those streams are returned. */
  known: ReadonlyMap<string, number>;
  /**
   * From the previous answer (opaque: which transactions that answer could not see yet); null = from the
   * start. A checkpoint's `transactionId` is a valid horizon too: every event past that checkpoint is
   * returned (a reader can start from a projection's checkpoint).
   */
  horizon: string | null;
  limit: number;
}

export interface ReadNewerResult {
  /** By stream, then stream version: each stream's events contiguous from its known version on. */
  events: StoredEvent[];
  /** Pass to the next call. Unchanged when `complete` is false. */
  horizon: string;
  /** False when `limit` cut the answer short: call again at once for the rest. */
  complete: boolean;
}

export interface EventBatch {
  events: StoredEvent[];
  checkpoint: Checkpoint;
  /**
   * With `ack: 'manual'` the subscription reads the next batch only after this is called, so an async
   * consumer sets the read pace. With `ack: 'auto'` (default) the next read starts once `next` returns.
   */
  ack(): void;
}

export interface SubscribeOptions {
  after: Checkpoint;
  limit?: number;
  /** Only these event types (filtered by the store). */
  types?: readonly string[];
  /**
   * With `types`: also emit a batch without events whenever the checkpoint moved past events of other
   * types only, so a consumer that stores its checkpoint keeps its lag right.
   */
  reportProgress?: boolean;
  ack?: 'auto' | 'manual';
  /** Polling fallback when no wake-up arrives; LISTEN/NOTIFY only makes delivery earlier. */
  pollIntervalMs?: number;
}

export interface AppendOptions {
  expected?: ExpectedVersion;
  /**
   * The caller's transaction: the events commit (or roll back) with the caller's other writes, e.g. an
   * inline projection applying them to its read model (one writer per row). Wake-ups go out on commit.
   */
  tx?: pg.ClientBase;
}

/** Events for one stream: a part of appendToStreams (expectation 'any') or appendWith's companions. */
export interface StreamAppend {
  stream: string;
  events: readonly NewEvent[];
}

/** An append in the caller's transaction also returns the events as stored, for an inline projection. */
export interface AppendInTransactionResult extends AppendResult {
  events: StoredEvent[];
}

export interface EventStore {
  append(
    stream: string,
    events: readonly NewEvent[],
    options: AppendOptions & { tx: pg.ClientBase },
  ): Promise<AppendInTransactionResult>;
  append(stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /**
   * Events for many streams (expectation 'any' each) in the caller's transaction: what a batch of outcomes,
   * one stream per item, records in one round trip. Returns the stored events in the order given; events
   * already stored come back as stored (idempotent, as append). Optional: without it, callers append stream
   * by stream (appendToStreams in src/infra/eventStore/appendToStreams.ts).
   */
  appendToStreams?(appends: readonly StreamAppend[], options: { tx: pg.ClientBase }): Promise<StoredEvent[]>;
  /**
   * `events` for `stream` at exactly version `expected` (WrongExpectedVersionError otherwise, also when
   * `events` is empty) and the companion events, each companion stream new, in ONE statement: stored all
   * together or not at all. What a group commit of commands on one stream writes beside them (the
   * sandbox's provenance records with its drift observations). The event ids must be new: there is no
   * idempotent re-append. Optional: without it, callers append each part on its own.
   */
  appendWith?(
    stream: string,
    events: readonly NewEvent[],
    expected: number,
    companions: readonly StreamAppend[],
  ): Promise<void>;
  readStream(stream: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  streamVersion(stream: string): Promise<number>;
  readAll(options: ReadAllOptions): Promise<ReadAllResult>;
  /**
   * readAll of `types` without payloads: the same events, checkpoint and cuts, and each one's stored size.
   * Only a store whose events a projection can read in SQL (PostgreSQL) has it, with readRange; a lane
   * applies ranges (Projection.rangeStatement) only then.
   */
  readPositions?(options: ReadAllOptions & { types: readonly string[] }): Promise<ReadPositionsResult>;
  /** Every event of `types` in (after, through], in commit order, with payloads. */
  readRange?(options: ReadRangeOptions): Promise<StoredEvent[]>;
  /**
   * Every committed event of `types` that the reader does not hold yet, as soon as it is visible — also
   * one that commits after events with a higher position, which readAll only yields once every older
   * transaction has ended (so a long transaction anywhere delays readAll, never this). Not in commit
   * order across streams: for readers that fold per stream and are idempotent by stream version (the V2
   * gate). Within a stream, versions are appended in order, so a stream's events come without gaps.
   */
  readNewer(options: ReadNewerOptions): Promise<ReadNewerResult>;
  subscribe(options: SubscribeOptions): Observable<EventBatch>;
  /**
   * Where a reader that wants only what happens from now on starts: the last event whose transaction is
   * final (below every running one), START on an empty store. readAll after it misses nothing later.
   */
  head(): Promise<Checkpoint>;
  /**
   * The checkpoint of the event at `globalPosition` (null: no such event): how a client that names the last
   * event it saw by its position (SSE Last-Event-ID) resumes readAll exactly after it.
   */
  checkpointOf(globalPosition: number): Promise<Checkpoint | null>;
}

export class WrongExpectedVersionError extends Error {
  readonly code = 'wrong_expected_version';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(`Wrong expected version for stream ${stream}: expected ${String(expected)}, actual ${actual}`);
    this.name = 'WrongExpectedVersionError';
  }
}

export class IdempotencyConflictError extends Error {
  readonly code = 'idempotency_conflict';
  constructor(readonly stream: string) {
    super(`Some event ids of this append to ${stream} are already stored, but not as this exact append`);
    this.name = 'IdempotencyConflictError';
  }
}
