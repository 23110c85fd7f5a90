import type pg from 'pg';
import type { DomainEvent } from '../domain/decider';
import type { Checkpoint, StoredEvent } from '../infra/eventStore/eventStore';

/**
 * A range of stored events for a set-based apply: every event of `types` in (after, through] of the
 * store's commit order, all of them final (a lane's read returned `through`).
 */
export interface RangeStatement {
  text: string;
  values: unknown[];
}

export interface EventRange {
  after: Checkpoint;
  through: Checkpoint;
  types: readonly string[];
}

/**
 * The events of a range among the stored rows `e` (es_events, unqualified): the condition to put after
 * `where`, with its parameters as $1…$5 (the statement's own parameters come after them).
 */
export function eventRangeCondition(range: EventRange): RangeStatement {
  return {
    text: `e.event_type = any($5::text[])
          and (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
          and (e.transaction_id, e.global_position) <= ($3::xid8, $4::bigint)`,
    values: [
      range.after.transactionId,
      range.after.globalPosition,
      range.through.transactionId,
      range.through.globalPosition,
      range.types,
    ],
  };
}

/**
 * A projection turns events into read-table rows (docs/projections.md). Each one runs in its own lane:
 * its own checkpoint, its own transaction per batch, its own lag and failure state.
 *
 * `apply` gets one batch of the events it handles, in commit order, inside the runtime's transaction
 * (together with its checkpoint), so it must only write through `tx`, must be deterministic (a rebuild
 * has to produce exactly the same rows) and must name its tables unqualified: a rebuild runs the same
 * `apply` with `search_path` pointing at a schema of its own holding empty copies of `tables`, then swaps
 * those copies in. The runtime may split a batch (it isolates an event that fails), so applying the
 * events of a batch in two consecutive calls must give the same rows as one call.
 */
export interface Projection {
  readonly name: string;
  /** Event types this projection reads; its lane reads only these (its checkpoint still moves past others). */
  readonly handles: readonly string[];
  /** Every table it writes, unqualified. A rebuild builds copies of all of them and swaps them in together. */
  readonly tables: readonly string[];
  /**
   * Whether an event it still cannot apply after its retries may be parked as a dead letter so the
   * projection moves on. Projections of untrusted data (provenance) park; the breaker's own events are
   * never parked: their projection retries them for ever and its checkpoint row shows the failure (the V2
   * gate fails closed on it).
   */
  mayPark(event: StoredEvent): boolean;
  /**
   * Set when commands or workers also apply its events to its tables right after appending them (before
   * the projector does). A rebuild's swap then waits until every such event is readable, so the swapped-in
   * tables hold all of them.
   */
  readonly writtenOutsideProjector?: boolean;
  /** NOTIFY channel its readers reload on; a rebuild notifies it when its tables are swapped in. */
  readonly changeChannel?: string;
  apply(tx: pg.ClientBase, events: readonly StoredEvent[]): Promise<void>;
  /**
   * Optional set-based apply (PostgreSQL store only): ONE data-modifying statement (insert, update or
   * delete; parameters $1…; valid as a WITH query) writing the same rows as `apply` would for the events of
   * `range`, straight from the stored event rows (`… from es_events`, unqualified: a rebuild's search_path
   * resolves it as the store does), so payloads never travel to the runtime and back. The runtime runs it
   * with the checkpoint's move as one statement (one round trip per batch), or in the batch's transaction.
   * Used for events of `rangeTypes`; every other event it handles still goes through `apply`, in order
   * between ranges. When a range fails on its events, the runtime falls back to `apply` on them (to
   * isolate and park the failing one), so both must give the same rows.
   */
  rangeStatement?(range: EventRange): RangeStatement;
  /**
   * The same, for a projection that must read before it writes (the drift rollup merges stored sketches
   * with the range's values in JavaScript): it reads with `db` — in the one-statement path outside any
   * transaction, so no transaction id is held while JavaScript runs (an open writing transaction holds
   * back the read horizon of every event-store reader, the V2 gate's too) — and returns the ONE statement
   * that writes, which the runtime runs with the checkpoint's move. What it read stays valid until then:
   * the lane is the only writer of its tables, and the fenced checkpoint move fails if anyone else (another
   * projector, a rebuild's swap) moved on meanwhile. Used when `rangeStatement` is not given.
   */
  prepareRange?(db: pg.ClientBase | pg.Pool, range: EventRange): Promise<RangeStatement>;
  /** The types `rangeStatement` or `prepareRange` handles (a subset of `handles`); required with them. */
  readonly rangeTypes?: readonly string[];
  /**
   * In a rebuild's swap transaction, before the copies replace the live tables: carries over state that is
   * not derived from events (the alert worker's leases on rows it is sending). Schemas are quoted identifiers.
   */
  carryOver?(tx: pg.ClientBase, schemas: { live: string; rebuilt: string }): Promise<void>;
}

/** For projections of the breaker's own events: nothing is ever parked. */
export const neverPark = (): boolean => false;

/** For projections of untrusted data: any event that keeps failing is parked. */
export const parkAny = (): boolean => true;

/** A stored event read as a member of the event union `E`, with where it is stored. */
export type Decoded<E extends DomainEvent> = StoredEvent & { readonly event: E };

/**
 * The one place a stored event becomes a domain event (projections, the gate, history, command replays).
 * Its type was chosen by the reader (a lane reads only the types its projection handles, a stream holds
 * only its aggregate's events) and its data was written by this code's deciders from validated commands;
 * an event `evolve` cannot fold still fails there, loudly (UnknownBreakerEventError).
 */
export function decodeEvent<E extends DomainEvent>(stored: Pick<StoredEvent, 'type' | 'data'>): E {
  return { type: stored.type, data: stored.data } as unknown as E;
}

/** A projection written against its own event union: `apply` gets the events decoded once, by the wrapper. */
export interface ProjectionOf<E extends DomainEvent> extends Omit<Projection, 'handles' | 'apply'> {
  readonly handles: readonly E['type'][];
  apply(tx: pg.ClientBase, events: readonly Decoded<E>[]): Promise<void>;
}

/** The runtime's untyped Projection for a typed one (the runtime reads events of any type from the lane). */
export function defineProjection<E extends DomainEvent>(spec: ProjectionOf<E>): Projection {
  return {
    ...spec,
    apply: (tx, events) =>
      spec.apply(
        tx,
        events.map((stored) => ({ ...stored, event: decodeEvent<E>(stored) })),
      ),
  };
}
