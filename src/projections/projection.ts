import type pg from 'pg';
import type { StoredEvent } from '../infra/eventStore/eventStore';

/**
 * A projection turns events into read-table rows. It is applied one batch at a time inside the runtime's
 * transaction (together with its checkpoint), so it must only write through `tx` and must be deterministic:
 * a rebuild from the first event has to produce exactly the same rows.
 */
export interface Projection {
  readonly name: string;
  /** Event types this projection reads; others are skipped (the checkpoint still moves past them). */
  readonly handles: readonly string[];
  apply(tx: pg.ClientBase, events: readonly StoredEvent[]): Promise<void>;
  /** Deletes every row this projection owns (rebuild starts from here). */
  reset(tx: pg.ClientBase): Promise<void>;
}
