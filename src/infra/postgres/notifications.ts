import { Subject, type Observable, filter, map, share } from 'rxjs';
import type pg from 'pg';
import { connectDedicated } from './pool';

/**
 * LISTEN on a dedicated connection, reconnecting with back-off. Wake-ups only make readers and caches
 * earlier: every consumer also polls, so a lost notification (or a dead listener) never loses data.
 */
export class PgNotificationListener {
  private client: pg.Client | null = null;
  private readonly channels = new Set<string>();
  private readonly messages = new Subject<{ channel: string; payload: string }>();
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  constructor(private readonly connectionString: string) {}

  async start(channels: readonly string[]): Promise<void> {
    channels.forEach((c) => this.channels.add(c));
    await this.connect();
  }

  on(channel: string): Observable<string> {
    return this.messages.pipe(
      filter((m) => m.channel === channel),
      map((m) => m.payload),
      share(),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
    this.messages.complete();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      const client = await connectDedicated(this.connectionString, 'costsim-guard-listener');
      client.on('notification', (n) => this.messages.next({ channel: n.channel, payload: n.payload ?? '' }));
      client.on('error', () => this.scheduleReconnect(client));
      client.on('end', () => this.scheduleReconnect(client));
      for (const channel of this.channels) await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
      this.client = client;
      // Anything committed while we were disconnected: wake everyone once.
      for (const channel of this.channels) this.messages.next({ channel, payload: 'reconnected' });
    } catch {
      this.scheduleReconnect(null);
    }
  }

  private scheduleReconnect(dead: pg.Client | null): void {
    if (this.stopped || this.reconnectTimer) return;
    if (dead && dead !== this.client) return;
    this.client = null;
    dead?.end().catch(() => {});
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, 1000);
    this.reconnectTimer.unref();
  }
}

/**
 * At most one NOTIFY per channel and notifier this often. Nothing reads faster than that under load: a
 * projection lane takes its next batch at least PROJECTOR_BATCH_WINDOW_MS (20 ms) after the last, the V2
 * gate reads at most every 15 ms. At 5 ms, each NOTIFY of a busy replica (two notifiers: the main pool's and the
 * breaker commands') woke every idle lane into a read and a checkpoint write, ~0.4 database round trips per
 * simulate request (bench simulate). The first NOTIFY after a quiet spell still goes out at once.
 */
export const NOTIFY_MIN_INTERVAL_MS = 20;

/**
 * A NOTIFY payload names the event types committed since the previous one, comma-separated, so a reader
 * can tell whether a wake-up concerns it (a projection lane of other types goes on waiting instead of
 * reading). Beyond this many characters (PostgreSQL allows 8000) the payload is empty: a wake-up for all.
 */
const MAX_TYPES_PAYLOAD = 4000;

/** The NOTIFY payload naming these event types ('' = a wake-up for every reader). */
export function wakeupPayload(types: Iterable<string>): string {
  const named = [...types].join(',');
  return named.length <= MAX_TYPES_PAYLOAD ? named : '';
}

/**
 * The event types a wake-up names, or null when it names none (an empty payload, a reconnection, or a
 * wake-up from elsewhere): then it concerns every reader.
 */
export function typesOfWakeup(payload: unknown): readonly string[] | null {
  if (typeof payload !== 'string' || payload === '' || payload === 'reconnected') return null;
  return payload.split(',');
}

interface ChannelState {
  busy: boolean;
  dirty: boolean;
  lastSentAt: number;
  /** Types committed since the last NOTIFY; null = some commit named none (wake every reader). */
  types: Set<string> | null;
}

/**
 * Sends NOTIFY after commits, throttled per channel: at most one in flight, at most one per `minIntervalMs`,
 * and always one more after the last call (trailing edge), so no commit goes un-signalled. A notification
 * is only a wake-up (consumers poll too), so sending one per burst instead of one per commit loses nothing;
 * a NOTIFY per append was a third of a hot stream's database round trips. Writers never NOTIFY inside
 * their own transaction, because NOTIFY serialises committing transactions on a global lock.
 */
export class CoalescingNotifier {
  private readonly channels = new Map<string, ChannelState>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly minIntervalMs = NOTIFY_MIN_INTERVAL_MS,
  ) {}

  /** `types`: the event types just committed, named in the payload; none given = a wake-up for all. */
  notify(channel: string, types?: Iterable<string>): void {
    let state = this.channels.get(channel);
    if (!state) {
      state = { busy: false, dirty: false, lastSentAt: 0, types: new Set() };
      this.channels.set(channel, state);
    }
    if (!state.dirty) state.types = new Set();
    state.dirty = true;
    if (types && state.types) for (const t of types) state.types.add(t);
    else state.types = null;
    if (!state.busy) this.schedule(channel, state);
  }

  private schedule(channel: string, state: ChannelState): void {
    state.busy = true;
    const send = () => {
      state.dirty = false;
      const payload = state.types ? wakeupPayload(state.types) : '';
      this.pool
        .query('select pg_notify($1, $2)', [channel, payload])
        .catch(() => {
          /* best effort: readers poll anyway */
        })
        .finally(() => {
          state.lastSentAt = performance.now();
          state.busy = false;
          if (state.dirty) this.schedule(channel, state);
        });
    };
    const wait = state.lastSentAt + this.minIntervalMs - performance.now();
    // setImmediate even when no wait is due: commits finishing in the same turn share one NOTIFY.
    if (wait > 0) setTimeout(send, wait);
    else setImmediate(send);
  }
}
