import type { DomainEvent } from '../decider';

/**
 * An operator's decision on a dead letter (an event a projection parked), recorded in the event log so the
 * audit trail outlives any rebuild or read-model loss. No projection reads these events; the decision
 * itself is applied to projection_dead_letters in the same transaction as the append.
 */
export const DEAD_LETTER_STREAM = 'projection_dead_letters';

interface DeadLetterRef {
  readonly projection: string;
  readonly event_id: string;
  readonly actor: string;
  readonly at: string;
}

/** The parked event was applied again now: `applied`, or `failed` (it stays parked with the new error). */
export type DeadLetterRetried = DomainEvent<
  'DeadLetterRetried',
  | (DeadLetterRef & { readonly outcome: 'applied' })
  | (DeadLetterRef & { readonly outcome: 'failed'; readonly error: string })
>;

/** Resolved without applying: the read model will not hold this event (unless a later rebuild can apply it). */
export type DeadLetterSkipped = DomainEvent<
  'DeadLetterSkipped',
  DeadLetterRef & { readonly reason: string | null }
>;

export type DeadLetterDecision = DeadLetterRetried | DeadLetterSkipped;
