import type pg from 'pg';
import type {
  AppendInTransactionResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  StoredEvent,
  StreamAppend,
} from '../../infra/eventStore/eventStore';
import { appendToStreams } from '../../infra/eventStore/appendToStreams';
import { inTransaction } from '../../infra/postgres/pool';
import type { Projection } from '../projection';

/**
 * One writer per read-model row (an inline projection, as Emmett's `projections.inline` or Marten's Inline
 * lifecycle): a command appends its events in its own transaction and applies the projection to exactly
 * the events it stored, in that transaction, so the read model and the log commit together or not at all.
 * The projector applies the same events again later (idempotently) and a rebuild replays them, so the rows
 * are the projection's alone, whichever ran first.
 *
 * The projection's tables are locked (ROW EXCLUSIVE: no conflict with other writers) before the append,
 * so a rebuild's swap, which takes them EXCLUSIVE and then waits until every committed event is readable,
 * never waits on a transaction that holds appended events and is itself waiting for the tables.
 *
 * `apply` defaults to the projection's own; a caller that needs a count passes the projection's handler
 * for its event type (still the projection's code, on the stored events).
 */
export async function appendInline<T = void>(
  tx: pg.ClientBase,
  store: EventStore,
  projection: Projection,
  stream: string,
  events: readonly NewEvent[],
  options: {
    expected?: ExpectedVersion;
    apply?: (tx: pg.ClientBase, stored: readonly StoredEvent[]) => Promise<T>;
    /** The transaction already holds the locks (it was opened by appendInlineAlone). */
    tablesLocked?: boolean;
  } = {},
): Promise<{ appended: AppendInTransactionResult; applied: T }> {
  const { apply, tablesLocked, ...appendOptions } = options;
  if (!tablesLocked) await tx.query(lockTables(projection));
  const appended = await store.append(stream, events, { ...appendOptions, tx });
  const handled = appended.events.filter((e) => projection.handles.includes(e.type));
  // Without `apply`, T is its default (void): the projection's own apply returns nothing.
  const applied = apply ? await apply(tx, handled) : ((await projection.apply(tx, handled)) as T);
  return { appended, applied };
}

const lockTables = (projection: Projection) =>
  `lock table ${projection.tables.join(', ')} in row exclusive mode`;

/**
 * appendInline in a transaction of its own whose BEGIN takes the projection's locks in the same round trip:
 * for a hot path that has nothing else to do in the transaction (an alert's delivery outcome).
 */
export function appendInlineAlone(
  pool: pg.Pool,
  store: EventStore,
  projection: Projection,
  stream: string,
  events: readonly NewEvent[],
  options: { expected?: ExpectedVersion } = {},
): Promise<{ appended: AppendInTransactionResult; applied: void }> {
  return inTransaction(
    pool,
    (tx) => appendInline(tx, store, projection, stream, events, { ...options, tablesLocked: true }),
    { begin: `begin; ${lockTables(projection)}` },
  );
}

/**
 * appendInline for events of many streams (expectation 'any'), in a transaction of its own opened with the
 * projection's locks: a batch of alert delivery outcomes, one stream per alert, is one BEGIN, one append
 * (EventStore.appendToStreams), the projection's apply over every stored event, and one COMMIT — every row
 * of the batch and its event commit together.
 */
export function appendInlineToStreamsAlone(
  pool: pg.Pool,
  store: EventStore,
  projection: Projection,
  appends: readonly StreamAppend[],
): Promise<StoredEvent[]> {
  return inTransaction(
    pool,
    async (tx) => {
      const stored = await appendToStreams(store, appends, tx);
      await projection.apply(
        tx,
        stored.filter((e) => projection.handles.includes(e.type)),
      );
      return stored;
    },
    { begin: `begin; ${lockTables(projection)}` },
  );
}
