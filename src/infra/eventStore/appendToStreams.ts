import type pg from 'pg';
import type { EventStore, StoredEvent, StreamAppend } from './eventStore';

/**
 * Events for many streams in the caller's transaction: the store's own one-round-trip appendToStreams when
 * it has one, else one append per stream (same result, a round trip each).
 */
export async function appendToStreams(
  store: EventStore,
  appends: readonly StreamAppend[],
  tx: pg.ClientBase,
): Promise<StoredEvent[]> {
  if (store.appendToStreams) return store.appendToStreams(appends, { tx });
  const stored: StoredEvent[] = [];
  for (const { stream, events } of appends) {
    if (events.length > 0) stored.push(...(await store.append(stream, events, { tx })).events);
  }
  return stored;
}
