import type pg from 'pg';
import type {
  Checkpoint,
  EventPosition,
  EventStore,
  ReadRangeOptions,
  StoredEvent,
} from '../../infra/eventStore/eventStore';
import { inTransaction } from '../../infra/postgres/pool';
import type { EventRange, Projection, RangeStatement } from '../projection';
import {
  LeadershipLostError,
  ProjectionApplyError,
  StaleCheckpointError,
  advanceCheckpoint,
  applyAndAdvance,
  compareCheckpoints,
  positionOf,
} from './checkpoints';
import {
  type ApplyOptions,
  type ApplyTarget,
  type BatchOutcome,
  applyBatchIn,
  isEventFailure,
} from './projectionApplier';

/** Reads the whole events of a range (payloads included): the store's readRange. */
export type LoadRange = (range: ReadRangeOptions) => Promise<StoredEvent[]>;

/** What a lane or a rebuild needs to apply a projection's ranges in SQL: the store's position reads. */
export interface RangeReader {
  readPositions: NonNullable<EventStore['readPositions']>;
  readRange: NonNullable<EventStore['readRange']>;
}

/**
 * The store's position reads when this projection applies ranges in SQL and the store can read positions
 * (PostgreSQL); null: the lane reads whole events and calls `apply`.
 */
export function rangeReaderFor(store: EventStore, projection: Projection): RangeReader | null {
  if (!projection.rangeStatement && !projection.prepareRange) return null;
  if ((projection.rangeTypes?.length ?? 0) === 0) return null;
  if (!store.readPositions || !store.readRange) return null;
  return { readPositions: store.readPositions.bind(store), readRange: store.readRange.bind(store) };
}

/** The one statement that writes a range: given by the projection, or prepared by it from what it reads. */
function rangeStatementOf(
  projection: Projection,
  db: pg.ClientBase | pg.Pool,
  range: EventRange,
): Promise<RangeStatement> | RangeStatement {
  if (projection.rangeStatement) return projection.rangeStatement(range);
  return projection.prepareRange!(db, range);
}

/** A run of events to apply together: a range in SQL, or whole events through `apply`. */
interface Segment {
  inRange: boolean;
  /** The position before the run's first event (the range's `after`). */
  after: Checkpoint;
  events: EventPosition[];
}

/** Consecutive events split where they change between range types and the others, in commit order. */
function segmentsOf(projection: Projection, expected: Checkpoint, events: readonly EventPosition[]) {
  const rangeTypes = projection.rangeTypes ?? [];
  const segments: Segment[] = [];
  let after = expected;
  for (const e of events) {
    const inRange = rangeTypes.includes(e.type);
    const last = segments[segments.length - 1];
    if (last && last.inRange === inRange) last.events.push(e);
    else segments.push({ inRange, after, events: [e] });
    after = positionOf(e);
  }
  return segments;
}

const relevantOf = (projection: Projection, expected: Checkpoint, positions: readonly EventPosition[]) =>
  positions.filter((e) => projection.handles.includes(e.type) && compareCheckpoints(e, expected) > 0);

/**
 * One batch read as positions, atomically with its checkpoint. A batch of range types only (the usual
 * provenance batch) is ONE statement — its rows and the fenced checkpoint move (applyAndAdvance) — so the
 * transaction lasts as long as the statement runs, not four round trips through a busy event loop (an
 * open transaction holds back the read horizon of every event-store reader, the breaker's lanes too).
 * Anything else (another type inside, isolation, a rebuild's search_path) takes a transaction.
 */
export async function applyPositions(
  pool: pg.Pool,
  target: ApplyTarget,
  expected: Checkpoint,
  positions: readonly EventPosition[],
  batchEnd: Checkpoint,
  load: LoadRange,
  options: ApplyOptions = {},
): Promise<BatchOutcome> {
  const { projection } = target;
  const relevant = relevantOf(projection, expected, positions);
  const rangeTypes = projection.rangeTypes ?? [];
  const alone =
    !options.isolate &&
    !target.searchPath &&
    relevant.length > 0 &&
    relevant.every((e) => rangeTypes.includes(e.type));
  if (!alone) {
    return inTransaction(pool, (tx) =>
      applyPositionsIn(tx, target, expected, positions, batchEnd, load, options),
    );
  }
  const range = { after: expected, through: positionOf(relevant.at(-1)!), types: rangeTypes };
  try {
    await applyAndAdvance(
      pool,
      await rangeStatementOf(projection, pool, range),
      target.checkpointName,
      expected,
      batchEnd,
      options.fence,
    );
  } catch (err) {
    if (err instanceof LeadershipLostError || err instanceof StaleCheckpointError) throw err;
    if (!isEventFailure(err)) throw err;
    throw new ProjectionApplyError(projection.name, relevant[0]!, relevant.length, err);
  }
  return { checkpoint: batchEnd, applied: relevant.length, parked: 0, stoppedBy: null };
}

/**
 * applyBatchIn for a batch read as positions: the projection's range types are applied as ranges in SQL
 * (rangeStatement), its other events — loaded whole, usually none — through `apply`, each in commit order
 * with the others (a retention event between records splits the range there); then the checkpoint moves
 * to `batchEnd` by the same compare-and-set, fenced. With `isolate`, the batch is loaded whole and goes
 * the way of any other (bisection under savepoints through `apply`, parking): a failing record is found
 * and parked exactly as before.
 */
export async function applyPositionsIn(
  tx: pg.ClientBase,
  target: ApplyTarget,
  expected: Checkpoint,
  positions: readonly EventPosition[],
  batchEnd: Checkpoint,
  load: LoadRange,
  options: ApplyOptions = {},
): Promise<BatchOutcome> {
  const { projection, checkpointName } = target;
  const relevant = relevantOf(projection, expected, positions);
  const last = relevant[relevant.length - 1];
  if (options.isolate) {
    const events = last ? await load({ after: expected, through: last, types: projection.handles }) : [];
    return applyBatchIn(tx, target, expected, events, batchEnd, options);
  }
  if (target.searchPath) await tx.query(`set local search_path to ${target.searchPath}`);
  const segments = segmentsOf(projection, expected, relevant);
  const others = segments.filter((s) => !s.inRange);
  const whole =
    others.length > 0
      ? await load({
          after: others[0]!.after,
          through: positionOf(others[others.length - 1]!.events.at(-1)!),
          types: projection.handles.filter((t) => !(projection.rangeTypes ?? []).includes(t)),
        })
      : [];
  const byId = new Map(whole.map((e) => [e.eventId, e]));
  for (const segment of segments) {
    const first = segment.events[0]!;
    const through = positionOf(segment.events.at(-1)!);
    try {
      if (segment.inRange) {
        const range = { after: segment.after, through, types: projection.rangeTypes! };
        const { text, values } = await rangeStatementOf(projection, tx, range);
        await tx.query(text, values);
      } else {
        const events = segment.events.map((p) => byId.get(p.eventId));
        if (events.some((e) => e === undefined)) throw new Error('an event read as a position is missing');
        await projection.apply(tx, events as StoredEvent[]);
      }
    } catch (err) {
      if (!isEventFailure(err)) throw err;
      throw new ProjectionApplyError(projection.name, first, relevant.length, err);
    }
  }
  await advanceCheckpoint(tx, checkpointName, expected, batchEnd, null, options.fence);
  return { checkpoint: batchEnd, applied: relevant.length, parked: 0, stoppedBy: null };
}
