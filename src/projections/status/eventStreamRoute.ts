import type { Express, Request, Response } from 'express';
import { breakerEventTypes, breakerIdOfStream, isBreakerStream } from '../../domain/breaker';
import { declarationEventTypes } from '../../domain/breakerDeclaration/declarationEvents';
import { alertAdminEventTypes, alertDeliveryEventTypes } from '../../domain/alerts/alertDeliveryEvents';
import type { EventFeed } from '../../infra/eventStore/eventFeed';
import { type Checkpoint, type EventStore, START, type StoredEvent } from '../../infra/eventStore/eventStore';
import {
  type Principal,
  hasScope,
  principalOf,
  readableTenant,
  requireScope,
  tenantVisible,
} from '../../infra/http/auth';
import { problems } from '../../infra/http/problem';
import type { Logger } from '../../infra/logging/logger';
import { SseConnection } from './sseConnection';

/** What the stream carries: every change the status page shows (never the provenance flood). */
export const streamedEventTypes: readonly string[] = [
  ...breakerEventTypes,
  ...declarationEventTypes,
  ...alertDeliveryEventTypes,
  ...alertAdminEventTypes,
];

/** One event as the stream sends it (`data:` of an SSE event whose `id:` is `position`). */
export interface StreamedChange {
  position: number;
  type: string;
  stream: string;
  stream_version: number;
  recorded_at: string;
  /** The breaker it concerns (breaker and declaration events), else null. */
  breaker: string | null;
  tenant_id: string | null;
  data: Record<string, unknown>;
}

export function toStreamedChange(event: StoredEvent): StreamedChange {
  const ref = breakerIdOfStream(event.streamName);
  const declared = typeof event.data.name === 'string' && event.type.startsWith('Breaker') && !ref;
  return {
    position: event.globalPosition,
    type: event.type,
    stream: event.streamName,
    stream_version: event.streamVersion,
    recorded_at: event.recordedAt.toISOString(),
    breaker: ref?.name ?? (declared ? (event.data.name as string) : null),
    tenant_id: ref?.tenantId ?? null,
    data: event.data,
  };
}

/**
 * What a principal may see, as the read routes show it: a global key without X-Tenant-ID sees every
 * breaker; a tenant (or a global key acting for one) its own breakers and the global ones; everyone the
 * declarations. Alert deliveries (their payloads) only admins, as GET /costsim/alerts.
 */
export function visibleTo(p: Principal, change: StreamedChange): boolean {
  if (isBreakerStream(change.stream)) {
    return tenantVisible(readableTenant(p), change.tenant_id);
  }
  if ((declarationEventTypes as readonly string[]).includes(change.type)) return true;
  return hasScope(p, 'admin') && p.keyTenant === null;
}

/**
 * Each live event is one object handed to every connection by the shared feed: it is turned into JSON
 * once, not once per client (a hundred status pages cost one stringify per change).
 */
const serializedEvents = new WeakMap<StoredEvent, { change: StreamedChange; json: string }>();
function serialized(event: StoredEvent): { change: StreamedChange; json: string } {
  let found = serializedEvents.get(event);
  if (!found) {
    const change = toStreamedChange(event);
    found = { change, json: JSON.stringify(change) };
    serializedEvents.set(event, found);
  }
  return found;
}

const EVENT_ID = /^\d{1,15}$/;

export interface EventStreamDeps {
  feed: EventFeed;
  store: EventStore;
  heartbeatMs: number;
  maxBufferedBytes: number;
  logger: Logger;
  /** Open connections, for shutdown: each is ended so the server can close. */
  connections: Set<SseConnection>;
  /** A client was let go for reading too slowly (a metric). */
  onSlowClient?: () => void;
}

/**
 * GET /costsim/events/stream (docs/status-page.md): Server-Sent Events. Each event's `id:` is its global
 * position; a client that reconnects with `Last-Event-ID` gets every event after it, each once (replayed
 * from the store, then live from the shared feed). `event: ready` (no id) says the stream is live; a
 * comment every heartbeat keeps proxies from closing an idle stream. A connection whose unsent bytes pass
 * `maxBufferedBytes` is closed: the slow client resumes from its Last-Event-ID, nobody else waits.
 */
export function mountEventStreamRoute(app: Express, deps: EventStreamDeps): void {
  app.get('/costsim/events/stream', requireScope('read'), async (req: Request, res: Response) => {
    const principal = principalOf(req);
    const given = req.get('last-event-id')?.trim();
    let after: Checkpoint;
    if (given !== undefined && given !== '') {
      if (!EVENT_ID.test(given)) {
        throw problems.validation([
          {
            path: 'header.Last-Event-ID',
            message: 'must be the id of an event this stream sent (an integer)',
          },
        ]);
      }
      // 0 names the position before the first event: the whole history.
      const found = given === '0' ? START : await deps.store.checkpointOf(Number(given));
      if (!found) {
        throw problems.validation([
          { path: 'header.Last-Event-ID', message: 'names no event of this store: reconnect without it' },
        ]);
      }
      after = found;
    } else {
      after = deps.feed.position ?? (await deps.store.head());
    }

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    req.socket.setNoDelay(true);

    const connection = new SseConnection(res, {
      heartbeatMs: deps.heartbeatMs,
      maxBufferedBytes: deps.maxBufferedBytes,
      onSlow: (unsent) => {
        deps.onSlowClient?.();
        deps.logger.warn(
          { request_id: req.requestId, key_id: principal.keyId, unsent_bytes: unsent },
          'event stream: client too slow, disconnected (it resumes with Last-Event-ID)',
        );
      },
    });
    deps.connections.add(connection);
    connection.send('retry: 1000\n');
    connection.event('ready', JSON.stringify({ after: after.globalPosition }));
    const subscription = deps.feed
      .from(after, () => connection.drained())
      .subscribe({
        next: (event) => {
          const { change, json } = serialized(event);
          if (visibleTo(principal, change)) connection.event(change.type, json, change.position);
        },
        error: (err: unknown) => {
          deps.logger.warn({ err, request_id: req.requestId }, 'event stream: replay failed');
          connection.close();
        },
        complete: () => connection.close(),
      });
    connection.onClose(() => {
      subscription.unsubscribe();
      deps.connections.delete(connection);
    });
  });
}
