import { randomUUID } from 'node:crypto';
import type { Decider, DomainEvent } from '../domain/decider';
import {
  type EventStore,
  type JsonObject,
  type NewEvent,
  WrongExpectedVersionError,
} from '../infra/eventStore/eventStore';

export class PreconditionFailedError extends Error {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`If-Match version ${expected} does not match the current version ${actual}`);
    this.name = 'PreconditionFailedError';
  }
}

export class ConcurrencyConflictError extends Error {
  constructor(readonly stream: string) {
    super(`Stream ${stream} kept changing under this command; try again`);
    this.name = 'ConcurrencyConflictError';
  }
}

export interface CommandOutcome<Event, State> {
  events: Event[];
  before: State;
  after: State;
  /** Stream version after this command's events. */
  version: number;
}

export interface RunOptions {
  /** If-Match: the stream version the caller last saw; anything else fails with PreconditionFailedError. */
  ifMatch?: number;
  metadata?: JsonObject;
}

interface Job<Command, Event, State> {
  build: (now: Date) => Command;
  options: RunOptions;
  resolve: (outcome: CommandOutcome<Event, State>) => void;
  reject: (err: unknown) => void;
}

interface Loaded<State> {
  state: State;
  version: number;
}

/**
 * load → decide → append with the expected version, for any decider.
 *
 * Commands for one stream are queued in-process and decided in order against one loaded state; the events
 * of the whole queue go out in ONE append (group commit), so concurrent callers on a hot stream do not
 * conflict with one another. Another replica's write shows up as a version conflict: the batch reloads
 * and is decided again (bounded). Loaded states are cached and caught up from the stream, so a long
 * stream is never re-read from the start.
 */
export class DeciderCommandRunner<Command, Event extends DomainEvent, State> {
  private readonly queues = new Map<string, Array<Job<Command, Event, State>>>();
  private readonly cache = new Map<string, Loaded<State>>();

  constructor(
    private readonly store: EventStore,
    private readonly decider: Decider<Command, Event, State>,
    private readonly options: {
      clock?: () => Date;
      maxBatch?: number;
      maxAttempts?: number;
      cacheSize?: number;
    } = {},
  ) {}

  run(
    stream: string,
    build: (now: Date) => Command,
    options: RunOptions = {},
  ): Promise<CommandOutcome<Event, State>> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(stream);
      const job = { build, options, resolve, reject };
      if (queue) return void queue.push(job);
      this.queues.set(stream, [job]);
      void this.drain(stream);
    });
  }

  /** Current state and version, caught up from the store. */
  async load(stream: string): Promise<Loaded<State>> {
    const cached = this.cache.get(stream) ?? { state: this.decider.initialState(), version: 0 };
    const newer = await this.store.readStream(stream, { from: cached.version + 1 });
    if (newer.length === 0) return cached;
    let state = cached.state;
    for (const e of newer)
      state = this.decider.evolve(state, { type: e.type, data: e.data } as unknown as Event);
    const loaded = { state, version: newer[newer.length - 1]!.streamVersion };
    this.remember(stream, loaded);
    return loaded;
  }

  private remember(stream: string, loaded: Loaded<State>): void {
    this.cache.delete(stream); // re-insert: Map order doubles as LRU order
    this.cache.set(stream, loaded);
    if (this.cache.size > (this.options.cacheSize ?? 10_000)) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
  }

  private async drain(stream: string): Promise<void> {
    const queue = this.queues.get(stream)!;
    while (queue.length > 0) {
      const batch = queue.splice(0, this.options.maxBatch ?? 200);
      await this.runBatch(stream, batch).catch((err: unknown) => batch.forEach((job) => job.reject(err)));
    }
    this.queues.delete(stream);
  }

  private async runBatch(stream: string, batch: Array<Job<Command, Event, State>>): Promise<void> {
    let pending = batch;
    const maxAttempts = this.options.maxAttempts ?? 20;
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.load(stream);
      const now = (this.options.clock ?? (() => new Date()))();
      let state = loaded.state;
      let version = loaded.version;
      const accepted: Array<{ job: Job<Command, Event, State>; outcome: CommandOutcome<Event, State> }> = [];
      const toAppend: NewEvent[] = [];
      for (const job of pending) {
        if (job.options.ifMatch !== undefined && job.options.ifMatch !== version) {
          job.reject(new PreconditionFailedError(job.options.ifMatch, version));
          continue;
        }
        let events: Event[];
        try {
          events = this.decider.decide(job.build(now), state);
        } catch (err) {
          job.reject(err); // a domain error concerns this command only
          continue;
        }
        const before = state;
        for (const event of events) state = this.decider.evolve(state, event);
        version += events.length;
        for (const event of events) {
          toAppend.push({
            id: randomUUID(),
            type: event.type,
            data: event.data,
            metadata: job.options.metadata ?? {},
          });
        }
        accepted.push({ job, outcome: { events, before, after: state, version } });
      }
      if (toAppend.length === 0) {
        accepted.forEach(({ job, outcome }) => job.resolve(outcome));
        return;
      }
      try {
        await this.store.append(stream, toAppend, { expected: loaded.version });
        this.remember(stream, { state, version });
        accepted.forEach(({ job, outcome }) => job.resolve(outcome));
        return;
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError)) throw err;
        if (attempt >= maxAttempts) throw new ConcurrencyConflictError(stream);
        // Another replica wrote first: decide the accepted commands again on the fresh state.
        pending = accepted.map((a) => a.job);
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
  }
}
