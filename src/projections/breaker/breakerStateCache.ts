import type pg from 'pg';
import type { Observable, Subscription } from 'rxjs';
import {
  type BreakerEvent,
  type BreakerSnapshot,
  type BreakerState,
  type RecoveryPolicy,
  breakerEventTypes,
  breakerId,
  breakerIdOfStream,
  breakerStream,
  decodeStoredBreakerState,
  evolveBreaker,
  initialBreakerState,
  isOpenAt,
} from '../../domain/breaker';
import type { EventStore, StoredEvent } from '../../infra/eventStore/eventStore';
import { PostgresEventStore } from '../../infra/eventStore/postgresEventStore';
import { SerialPasses } from '../../infra/serialPasses';
import { decodeEvent } from '../projection';

export const DEFAULT_BREAKER = 'costsim_v2';

/** The breaker projections whose recorded failure makes the gate distrust itself (docs/gate.md). */
export const WATCHED_PROJECTIONS: readonly string[] = ['cb_state', 'cb_incidents'];

/** Events per read; a longer backlog is read in several reads before the gate is trusted again. */
const READ_LIMIT = 1000;
/** Wake-ups come with every append anywhere; reads start at most this often (latency ≤ this). */
const MIN_READ_GAP_MS = 15;
/** How often trust is re-evaluated (staleness grows without any read): transitions are logged. */
const WATCHDOG_MS = 100;

export interface GateStatus {
  /** false = failing closed: V2 is off for every tenant on this replica. */
  trusted: boolean;
  /** Why not, in words fit for an unauthenticated reader (no database text, no tenant ids). */
  reasons: string[];
  /** For the log only: what exactly failed (database errors, streams, event ids). */
  detail: Record<string, unknown>;
}

export interface BreakerStateCacheOptions {
  /** A read at least this often, with or without wake-ups. Must be well below maxStalenessMs. */
  pollMs: number;
  /** The gate fails closed when its last successful read began longer ago than this (the 1 s contract). */
  maxStalenessMs?: number;
  /** Emits whenever new events may be readable (LISTEN/NOTIFY on appends); only makes reads earlier. */
  wakeups?: Observable<unknown>;
  /** Where breaker events are read from; default: a PostgresEventStore on `pool`. */
  store?: EventStore;
  onError?: (err: unknown) => void;
  /** Told each time the gate starts or stops failing closed (after the first load). */
  onTrustChange?: (status: GateStatus) => void;
  watchedProjections?: readonly string[];
}

interface Poisoned {
  eventId: string;
  streamVersion: number;
  error: string;
}

/**
 * The V2 gate of this replica (docs/gate.md): every breaker's state, folded in memory from the breaker's
 * own events with the domain's `evolveBreaker`, so `isV2Disabled(tenant)` answers without I/O.
 *
 *  - A command this replica runs updates it before the command is answered (`learn`, from the command
 *    runner), so the replica that pulled the switch never runs V2 after acknowledging it.
 *  - Other replicas' commands arrive through `readNewer` on the event store: every breaker event this gate
 *    does not hold yet, as soon as its transaction commits, by breaker types only (an index serves it, so
 *    a flood of provenance events costs nothing), and not held back by long transactions elsewhere the way
 *    commit-ordered readers are. Each stream's events are applied in version order; a gap is filled from
 *    the stream itself.
 *  - At start it loads cb_state together with the checkpoint that table reflects (one snapshot), then
 *    reads every breaker event past that checkpoint; a cb_state that is behind, or being rebuilt, only
 *    means more events to read.
 *
 * It fails closed — V2 off for everyone — whenever it cannot trust what it holds: before the first load,
 * when reads have been failing for longer than `maxStalenessMs`, when an event cannot be folded, or when a
 * breaker projection is recorded as failing (projection_checkpoints.failure_message).
 */
export class BreakerStateCache {
  private readonly states = new Map<string, BreakerState>();
  private readonly poisoned = new Map<string, Poisoned>();
  private readonly store: EventStore;
  private readonly maxStalenessMs: number;
  private horizon: string | null = null;
  private startedFromReadModel = false;
  private lastReadStartedAt = Number.NEGATIVE_INFINITY;
  private lastHealthAt = Number.NEGATIVE_INFINITY;
  private lastReadError: unknown = null;
  private failingProjections: string[] = [];
  private readonly reads = new SerialPasses(() => this.readOnce(), {
    onError: (err) => {
      this.lastReadError = err;
      this.options.onError?.(err); // keep the states; trust runs out after maxStalenessMs
    },
    stopped: () => this.stopped,
  });
  private gapTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private subscription: Subscription | null = null;
  private lastReadAt = Number.NEGATIVE_INFINITY;
  private reportedTrust: boolean | null = null;
  private distrustSeen = false;
  private stopped = false;
  /** When the first complete read finished (null: not yet, the gate is closed). */
  loadedAt: Date | null = null;
  /** Events applied by the last read (observability and tests). */
  lastRefreshRows = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly policy: RecoveryPolicy,
    private readonly options: BreakerStateCacheOptions,
  ) {
    this.store = options.store ?? new PostgresEventStore(pool);
    this.maxStalenessMs = options.maxStalenessMs ?? 1000;
  }

  /** Loads (one attempt; on failure the gate stays closed and keeps trying), then follows. */
  async start(): Promise<void> {
    await this.reload();
    this.subscription = this.options.wakeups?.subscribe(() => this.wake()) ?? null;
    this.pollTimer = setInterval(() => void this.reload(), this.options.pollMs);
    this.pollTimer.unref();
    this.watchdog = setInterval(() => this.reportTrust(), WATCHDOG_MS);
    this.watchdog.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of [this.pollTimer, this.watchdog, this.gapTimer]) if (timer) clearInterval(timer);
    this.subscription?.unsubscribe();
  }

  /** A wake-up: read soon, but not more often than MIN_READ_GAP_MS however many appends there are. */
  private wake(): void {
    if (this.gapTimer || this.stopped) return;
    const wait = Math.max(0, this.lastReadAt + MIN_READ_GAP_MS - performance.now());
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      void this.reload();
    }, wait);
  }

  /** One read at a time; a read asked for during one runs right after it. Never rejects. */
  reload(): Promise<void> {
    return this.reads.run();
  }

  private async readOnce(): Promise<void> {
    const started = performance.now();
    this.lastReadAt = started;
    if (!this.startedFromReadModel) await this.startFromReadModel();
    let applied = 0;
    for (;;) {
      const page = await this.store.readNewer({
        types: breakerEventTypes,
        known: this.knownVersions(),
        horizon: this.horizon,
        limit: READ_LIMIT,
      });
      applied += await this.applyAll(page.events);
      if (page.complete) {
        this.horizon = page.horizon;
        break;
      }
    }
    if (started - this.lastHealthAt >= this.options.pollMs) {
      applied += await this.retryPoisoned();
      this.failingProjections = await this.projectionFailures();
      this.lastHealthAt = started;
    }
    this.lastRefreshRows = applied;
    this.lastReadStartedAt = started;
    this.lastReadError = null;
    this.loadedAt ??= new Date();
    this.reportTrust();
  }

  /**
   * cb_state and its checkpoint in one statement (one snapshot): the rows reflect exactly the events up to
   * that checkpoint, and every later event has a transaction id at or above the checkpoint's, so reading
   * from that horizon on with the rows' versions as known misses nothing and applies nothing twice.
   */
  private async startFromReadModel(): Promise<void> {
    const { rows } = await this.pool.query<{
      checkpoint: string;
      name: string | null;
      tenant_id: string | null;
      state: BreakerState | null;
    }>(
      `select c.transaction_id::text as checkpoint, s.name, s.tenant_id, s.state
         from projection_checkpoints c left join cb_state s on true
        where c.name = 'cb_state'`,
    );
    for (const r of rows) {
      if (r.name === null || r.state === null) continue;
      const stream = breakerStream(breakerId(r.name, r.tenant_id));
      // Never older than what a command of this replica has already taught the gate.
      if ((this.states.get(stream)?.version ?? -1) < r.state.version) {
        this.states.set(stream, decodeStoredBreakerState(r.state));
      }
    }
    // No checkpoint row: the projection never ran, so read every breaker event from the start.
    this.horizon = rows[0]?.checkpoint ?? null;
    this.startedFromReadModel = true;
  }

  private knownVersions(): Map<string, number> {
    const known = new Map<string, number>();
    for (const [stream, state] of this.states) known.set(stream, state.version);
    // A poisoned stream is not read again by the feed (it would return the same events forever);
    // retryPoisoned re-reads it from the stream itself.
    for (const stream of this.poisoned.keys()) known.set(stream, Number.MAX_SAFE_INTEGER);
    return known;
  }

  /** Applies events in stream-version order; returns how many were applied. */
  private async applyAll(events: readonly StoredEvent[]): Promise<number> {
    let applied = 0;
    for (const event of events) {
      const stream = event.streamName;
      if (this.poisoned.has(stream) || breakerIdOfStream(stream) === null) continue;
      const current = this.states.get(stream) ?? initialBreakerState();
      if (event.streamVersion <= current.version) continue; // already known (e.g. learned from a command)
      if (event.streamVersion === current.version + 1) {
        if (this.fold(stream, current, event)) applied++;
      } else {
        applied += await this.catchUp(stream); // a gap: take the stream itself
      }
    }
    return applied;
  }

  private async catchUp(stream: string): Promise<number> {
    const current = this.states.get(stream) ?? initialBreakerState();
    let applied = 0;
    let state = current;
    for (const event of await this.store.readStream(stream, { from: current.version + 1 })) {
      if (!this.fold(stream, state, event)) break;
      state = this.states.get(stream)!;
      applied++;
    }
    return applied;
  }

  private fold(stream: string, current: BreakerState, event: StoredEvent): boolean {
    try {
      const next = evolveBreaker(current, decodeEvent<BreakerEvent>(event));
      this.states.set(stream, next);
      return true;
    } catch (err) {
      this.poisoned.set(stream, {
        eventId: event.eventId,
        streamVersion: event.streamVersion,
        error: err instanceof Error ? err.message : String(err),
      });
      this.reportTrust();
      return false;
    }
  }

  /** A fold that failed is tried again now and then (from the stream): trust returns if it now folds. */
  private async retryPoisoned(): Promise<number> {
    let applied = 0;
    for (const stream of [...this.poisoned.keys()]) {
      this.poisoned.delete(stream);
      applied += await this.catchUp(stream);
    }
    return applied;
  }

  private async projectionFailures(): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>(
      `select name from projection_checkpoints
        where name = any($1::text[]) and failure_message is not null order by name`,
      [this.options.watchedProjections ?? WATCHED_PROJECTIONS],
    );
    return rows.map((r) => r.name);
  }

  /**
   * A state this replica has just proved current (its own command's append, or a catch-up read by its
   * command runner). Applied at once, so the gate has it before the command is answered.
   */
  learn(stream: string, state: BreakerState, version: number): void {
    if (breakerIdOfStream(stream) === null || this.poisoned.has(stream)) return;
    const current = this.states.get(stream);
    if (current && current.version >= version) return;
    this.states.set(stream, state);
  }

  /** Whether this gate may be trusted now, and if not why (fails closed). */
  status(): GateStatus {
    const reasons: string[] = [];
    const detail: Record<string, unknown> = {};
    if (this.loadedAt === null) reasons.push('the V2 gate has not loaded the breaker states yet');
    const staleMs = performance.now() - this.lastReadStartedAt;
    if (this.loadedAt !== null && staleMs > this.maxStalenessMs) {
      reasons.push(
        `breaker events have not been read for ${(staleMs / 1000).toFixed(1)} s (limit ${this.maxStalenessMs / 1000} s)`,
      );
    }
    if (this.lastReadError !== null) {
      detail.read_error =
        this.lastReadError instanceof Error ? this.lastReadError.message : String(this.lastReadError);
    }
    if (this.poisoned.size > 0) {
      reasons.push(`events of ${this.poisoned.size} breaker(s) could not be applied`);
      detail.unfoldable = Object.fromEntries(this.poisoned);
    }
    for (const name of this.failingProjections) reasons.push(`breaker projection ${name} is failing`);
    return { trusted: reasons.length === 0, reasons, detail };
  }

  /** The hot-path form of status().trusted: a few comparisons. */
  private trusted(): boolean {
    return (
      this.loadedAt !== null &&
      this.poisoned.size === 0 &&
      this.failingProjections.length === 0 &&
      performance.now() - this.lastReadStartedAt <= this.maxStalenessMs
    );
  }

  get failingClosed(): boolean {
    return !this.trusted();
  }

  /**
   * Tells onTrustChange about transitions (after the first load). A distrust that the very next check
   * no longer sees is not reported: after an event-loop stall the staleness limit is passed until the
   * next read lands, and V2 is off meanwhile (isV2Disabled checks trust itself), but that blip is not
   * worth two log lines.
   */
  private reportTrust(): void {
    if (this.loadedAt === null) return;
    const trusted = this.trusted();
    if (!trusted && !this.distrustSeen && this.poisoned.size === 0) {
      this.distrustSeen = true;
      return;
    }
    this.distrustSeen = !trusted;
    if (trusted === this.reportedTrust || (trusted && this.reportedTrust === null)) {
      this.reportedTrust ??= trusted;
      return;
    }
    this.reportedTrust = trusted;
    this.options.onTrustChange?.(this.status());
  }

  /** The state held for one breaker (undefined = no event seen: closed, version 0). */
  snapshot(name: string, tenantId: string | null): BreakerSnapshot | undefined {
    return this.states.get(breakerStream(breakerId(name, tenantId)));
  }

  /** The whole aggregate state held for one breaker (the recovery gate reads `half_open` from it). */
  state(name: string, tenantId: string | null): BreakerState | undefined {
    return this.states.get(breakerStream(breakerId(name, tenantId)));
  }

  /** The breaker's own state, TTL-aware (as every reader must be); says nothing about trust. */
  isOpen(name: string, tenantId: string | null, now = new Date()): boolean {
    const state = this.states.get(breakerStream(breakerId(name, tenantId)));
    return state !== undefined && isOpenAt(state, now, this.policy);
  }

  /**
   * May V2 run for this tenant? Only if the gate is trusted and neither the global nor the tenant's
   * breaker is open (docs/domain.md §3). In memory: no I/O, a few map lookups.
   */
  isV2Disabled(tenantId: string | null = null, now = new Date()): boolean {
    return (
      !this.trusted() ||
      this.isOpen(DEFAULT_BREAKER, null, now) ||
      (tenantId !== null && this.isOpen(DEFAULT_BREAKER, tenantId, now))
    );
  }

  all(): Array<{ name: string; tenant_id: string | null; state: BreakerSnapshot }> {
    return [...this.states.entries()].flatMap(([stream, state]) => {
      const id = breakerIdOfStream(stream);
      return id ? [{ name: id.name, tenant_id: id.tenantId, state }] : [];
    });
  }

  /** Seconds since the last successful read began (what the staleness limit is compared with). */
  get stalenessSeconds(): number {
    return Math.max(0, (performance.now() - this.lastReadStartedAt) / 1000);
  }
}
