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
 * Sends NOTIFY after commits, coalesced: at most one notification per channel in flight. Writers never
 * NOTIFY inside their own transaction, because NOTIFY serialises committing transactions on a global lock.
 */
export class CoalescingNotifier {
  private readonly pending = new Set<string>();

  constructor(private readonly pool: pg.Pool) {}

  notify(channel: string): void {
    if (this.pending.has(channel)) return;
    this.pending.add(channel);
    setImmediate(() => {
      this.pending.delete(channel);
      this.pool.query('select pg_notify($1, $2)', [channel, '']).catch(() => {
        /* best effort: readers poll anyway */
      });
    });
  }
}
