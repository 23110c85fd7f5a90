import { randomUUID } from 'node:crypto';
import type { Decider, DomainEvent } from '../domain/decider';
import type { SnapshotStore } from '../infra/eventStore/snapshotStore';
import {
  type EventStore,
  type JsonObject,
  type NewEvent,
  type StreamAppend,
  IdempotencyConflictError,
  WrongExpectedVersionError,
} from '../infra/eventStore/eventStore';
import { isConnectionError } from '../infra/postgres/pool';
import { decodeEvent } from '../projections/projection';

export class PreconditionFailedError extends Error {
  constructor(
    readonly expected: number | readonly number[],
    readonly actual: number,
  ) {
    const given = typeof expected === 'number' ? [expected] : expected;
    super(
      given.length === 0
        ? `If-Match names no strong version; the current version is ${actual}`
        : `If-Match version ${given.join(', ')} does not match the current version ${actual}`,
    );
    this.name = 'PreconditionFailedError';
  }
}

/** Too many commands are waiting on one stream: refused at once, nothing written (load shedding). */
export class StreamOverloadedError extends Error {
  constructor(
    readonly stream: string,
    readonly waiting: number,
  ) {
    super(`${waiting} commands are already waiting on ${stream}; try again shortly`);
    this.name = 'StreamOverloadedError';
  }
}

export class ConcurrencyConflictError extends Error {
  constructor(readonly stream: string) {
    super(`Stream ${stream} kept changing under this command; try again`);
    this.name = 'ConcurrencyConflictError';
  }
}

/**
 * The store refused this command's events (a value it cannot hold, which validation should have made
 * impossible). Only this command failed: the others of its batch were written without it. The store's
 * own message stays in `cause`, for the log, never for the client.
 */
export class CommandNotStoredError extends Error {
  constructor(override readonly cause: unknown) {
    super('The events of this command could not be stored');
    this.name = 'CommandNotStoredError';
  }
}

/** An append that failed for a reason that concerns the batch's events, not the connection or the version. */
class AppendRefusedError extends Error {
  constructor(override readonly cause: unknown) {
    super('append refused');
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
  /**
   * If-Match: the stream version(s) the caller accepts (a list matches if any does; [] matches nothing);
   * any other current version fails with PreconditionFailedError.
   */
  ifMatch?: number | readonly number[];
  metadata?: JsonObject;
}

interface Job<Command, Event, State> {
  build: (now: Date) => Command;
  options: RunOptions;
  resolve: (outcome: CommandOutcome<Event, State>) => void;
  reject: (err: unknown) => void;
  /** runWith's events for new streams of their own, stored in the batch's append; told their outcome once. */
  companions?: { appends: readonly StreamAppend[]; settle: (outcome: CompanionsOutcome) => void };
}

/** The companions' outcome: fulfilled once stored (with the command's events when both were), else why not. */
export type CompanionsOutcome = PromiseSettledResult<void>;

/** What runWith answers: the command's outcome and the companions', each on its own. */
export interface RunWithOutcome<Event, State> {
  command: PromiseSettledResult<CommandOutcome<Event, State>>;
  companions: CompanionsOutcome;
}

const COMPANIONS_STORED: CompanionsOutcome = { status: 'fulfilled', value: undefined };
const companionsNotStored = (err: unknown): CompanionsOutcome => ({
  status: 'rejected',
  reason: err ?? new Error('companions not stored'),
});

interface Loaded<State> {
  state: State;
  version: number;
  /** Version of the latest snapshot written or read for this stream (0 = none). */
  snapshotVersion: number;
}

export interface SnapshotOptions {
  store: SnapshotStore;
  /** Names the state's shape; change it when the shape or `evolve` changes, and old snapshots are ignored. */
  schema: string;
  /** Write a snapshot when the stream has grown this many events past the last one. */
  every: number;
  /** Snapshots are best effort: a failed read or write is reported here and otherwise ignored. */
  onError?: (err: unknown) => void;
}

/** Events read per query when catching a state up (a cold stream is read in pages, not all at once). */
const READ_PAGE = 5000;

/**
 * load → decide → append with the expected version, for any decider.
 *
 * Commands for one stream are queued in-process and decided in order against one loaded state; the events
 * of the whole queue go out in ONE append (group commit), so concurrent callers on a hot stream do not
 * conflict with one another. A cached state is used as is (one round trip per batch: the append); another
 * replica's write shows up as a version conflict, and the batch catches the state up from the stream and
 * is decided again (bounded). A long stream is never re-read from the start. An append the store refuses
 * (not a conflict, not a lost connection) is split down to single commands, so one bad command fails alone
 * (see runContained).
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
      /**
       * Commands allowed to wait on one stream (beyond the batch in flight). A queue is drained by one
       * append at a time, so past this the wait only grows: refusing keeps latency and memory bounded.
       */
      maxQueue?: number;
      snapshots?: SnapshotOptions;
      /**
       * Told every state this runner has proved current: after each append (before any command of the
       * batch is answered) and after each catch-up read. The V2 gate learns its own replica's changes here.
       * Must be fast and must not throw (a throw is ignored).
       */
      onCurrentState?: (stream: string, state: State, version: number) => void;
    } = {},
  ) {}

  run(
    stream: string,
    build: (now: Date) => Command,
    options: RunOptions = {},
  ): Promise<CommandOutcome<Event, State>> {
    return new Promise((resolve, reject) => void this.enqueue(stream, { build, options, resolve, reject }));
  }

  /** Queues a job; false (and the job rejected with StreamOverloadedError) when the queue is full. */
  private enqueue(stream: string, job: Job<Command, Event, State>): boolean {
    const queue = this.queues.get(stream);
    if (queue) {
      const limit = this.options.maxQueue ?? 10_000;
      if (queue.length >= limit) {
        job.reject(new StreamOverloadedError(stream, queue.length));
        return false;
      }
      queue.push(job);
      return true;
    }
    this.queues.set(stream, [job]);
    // Start on the next turn of the event loop, not now: requests read from other sockets in the same
    // I/O phase join this first batch instead of waiting behind a batch of one.
    setImmediate(() => void this.drain(stream));
    return true;
  }

  /**
   * run, and `companions` — events for new streams of their own (e.g. a provenance record) — stored in the
   * same append as the batch's events: one statement and one commit for both (EventStore.appendWith).
   * The companions are stored whatever the command decides (a domain error, an If-Match that fails, a
   * refused queue): the two outcomes are independent, as two writes would be, and neither waits for more
   * than the batch. When the batch's append is refused, the batch is split as for run; a single command
   * whose combined append is refused is then tried without its companions, and they are appended on their
   * own, so a bad companion never costs the command and a bad command never costs its companions.
   */
  runWith(
    stream: string,
    build: (now: Date) => Command,
    companions: readonly StreamAppend[],
    options: RunOptions = {},
  ): Promise<RunWithOutcome<Event, State>> {
    if (!this.store.appendWith) {
      // A store without the combined append: the two writes side by side.
      return Promise.all([
        this.run(stream, build, options).then(
          (value) => ({ status: 'fulfilled' as const, value }),
          (reason: unknown) => ({ status: 'rejected' as const, reason }),
        ),
        this.storeCompanionsAlone(companions),
      ]).then(([command, companionsOutcome]) => ({ command, companions: companionsOutcome }));
    }
    return new Promise((resolve) => {
      let command: PromiseSettledResult<CommandOutcome<Event, State>> | null = null;
      let companionsOutcome: CompanionsOutcome | null = null;
      const done = () => {
        if (command && companionsOutcome) resolve({ command, companions: companionsOutcome });
      };
      const settleCompanions = (outcome: CompanionsOutcome) => {
        companionsOutcome = outcome;
        done();
      };
      const job: Job<Command, Event, State> = {
        build,
        options,
        resolve: (value) => {
          command = { status: 'fulfilled', value };
          done();
        },
        reject: (reason) => {
          command = { status: 'rejected', reason };
          done();
        },
        companions: { appends: companions, settle: settleCompanions },
      };
      if (!this.enqueue(stream, job)) {
        // Refused at once (the queue is full): the companions are not held up by it.
        job.companions = undefined;
        void this.storeCompanionsAlone(companions).then(settleCompanions);
      }
    });
  }

  /** Companions on their own, answered with their outcome (never rejects). */
  private storeCompanionsAlone(companions: readonly StreamAppend[]): Promise<CompanionsOutcome> {
    return this.appendCompanions(companions).then(() => COMPANIONS_STORED, companionsNotStored);
  }

  /** Companions on their own: each new stream with expectation no_stream. */
  private async appendCompanions(companions: readonly StreamAppend[]): Promise<void> {
    for (const { stream, events } of companions) {
      if (events.length > 0) await this.store.append(stream, events, { expected: 'no_stream' });
    }
  }

  /** Commands waiting on `stream` (not counting the batch in flight); all streams when none is named. */
  waiting(stream?: string): number {
    if (stream !== undefined) return this.queues.get(stream)?.length ?? 0;
    let total = 0;
    for (const queue of this.queues.values()) total += queue.length;
    return total;
  }

  /**
   * Current state and version, caught up from the store: from the cached state if there is one, else from
   * the latest snapshot, else from the start of the stream.
   */
  async load(stream: string): Promise<Loaded<State>> {
    const cached = this.cache.get(stream);
    const start = cached ??
      (await this.readSnapshot(stream)) ?? {
        state: this.decider.initialState(),
        version: 0,
        snapshotVersion: 0,
      };
    let { state, version } = start;
    for (;;) {
      const page = await this.store.readStream(stream, { from: version + 1, limit: READ_PAGE });
      for (const e of page) state = this.decider.evolve(state, decodeEvent<Event>(e));
      if (page.length > 0) version = page[page.length - 1]!.streamVersion;
      if (page.length < READ_PAGE) break;
    }
    if (cached && version === cached.version) return cached;
    // Remembered even when nothing followed a snapshot: the next command must not read it again.
    const loaded = { state, version, snapshotVersion: start.snapshotVersion };
    this.remember(stream, loaded);
    this.tellCurrent(stream, loaded);
    this.snapshotIfDue(stream, loaded);
    return loaded;
  }

  private async readSnapshot(stream: string): Promise<Loaded<State> | undefined> {
    const snapshots = this.options.snapshots;
    if (!snapshots) return undefined;
    try {
      const found = await snapshots.store.load<State>(stream, snapshots.schema);
      if (!found || !Number.isInteger(found.version) || found.version < 1) return undefined;
      return { state: found.state, version: found.version, snapshotVersion: found.version };
    } catch (err) {
      snapshots.onError?.(err);
      return undefined; // replay from the start instead
    }
  }

  /** Fire and forget: a snapshot never delays or fails the command that made it due. */
  private snapshotIfDue(stream: string, loaded: Loaded<State>): void {
    const snapshots = this.options.snapshots;
    if (!snapshots || loaded.version - loaded.snapshotVersion < snapshots.every) return;
    loaded.snapshotVersion = loaded.version;
    snapshots.store
      .save(stream, snapshots.schema, { version: loaded.version, state: loaded.state })
      .catch((err: unknown) => snapshots.onError?.(err));
  }

  private remember(stream: string, loaded: Loaded<State>): void {
    this.cache.delete(stream); // re-insert: Map order doubles as LRU order
    this.cache.set(stream, loaded);
    if (this.cache.size > (this.options.cacheSize ?? 10_000)) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
  }

  private tellCurrent(stream: string, loaded: Loaded<State>): void {
    try {
      this.options.onCurrentState?.(stream, loaded.state, loaded.version);
    } catch {
      /* an observer never fails a command */
    }
  }

  private async drain(stream: string): Promise<void> {
    const queue = this.queues.get(stream)!;
    while (queue.length > 0) await this.runContained(stream, queue.splice(0, this.options.maxBatch ?? 200));
    this.queues.delete(stream);
  }

  /**
   * A bad command fails alone: when the store refuses a batch's append (not a conflict, not a lost
   * connection — then nothing or everything may be written, and the caller must be told so), the batch is
   * split in halves and each is decided and appended again, down to single commands, so every good command
   * lands and only the bad one gets the error. A refused append writes nothing, so nothing is written twice.
   */
  private async runContained(stream: string, batch: Array<Job<Command, Event, State>>): Promise<void> {
    try {
      await this.runBatch(stream, batch);
    } catch (err) {
      if (!(err instanceof AppendRefusedError)) {
        for (const job of batch) {
          job.reject(err);
          job.companions?.settle(companionsNotStored(err));
        }
        return;
      }
      if (batch.length === 1 && batch[0]!.companions) return this.runApart(stream, batch[0]!);
      if (batch.length === 1) return batch[0]!.reject(new CommandNotStoredError(err.cause));
      const half = Math.ceil(batch.length / 2);
      await this.runContained(stream, batch.slice(0, half));
      await this.runContained(stream, batch.slice(half));
    }
  }

  /**
   * A single command whose append with its companions was refused: the command alone (it fails alone if
   * it is the bad part), then the companions alone — each part's outcome its own.
   */
  private async runApart(stream: string, job: Job<Command, Event, State>): Promise<void> {
    const companions = job.companions!;
    await this.runContained(stream, [{ ...job, companions: undefined }]);
    companions.settle(await this.storeCompanionsAlone(companions.appends));
  }

  private async runBatch(stream: string, batch: Array<Job<Command, Event, State>>): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 20;
    const companions = batch.flatMap((job) => job.companions?.appends ?? []);
    const appendWith = companions.length > 0 ? this.store.appendWith?.bind(this.store) : undefined;
    for (let attempt = 1; ; attempt++) {
      // Optimistic: a cached state is used without a read. An append proves it (the expected version
      // rejects it if another writer has moved the stream on); a batch that appends nothing is proved by
      // reading the stream before anyone is answered, because a no-op or a rejection decided on a stale
      // state would be a wrong answer that no expected version catches.
      const cached = attempt === 1 ? this.cache.get(stream) : undefined;
      const loaded = cached ?? (await this.load(stream));
      const now = (this.options.clock ?? (() => new Date()))();
      const decided = this.decideAll(batch, loaded, now);
      if (decided.events.length === 0 && !appendWith) {
        if (cached && (await this.load(stream)).version !== cached.version) continue;
        decided.settle();
        // Jobs whose companions held no events (nothing to store is stored).
        for (const job of batch) job.companions?.settle(COMPANIONS_STORED);
        return;
      }
      try {
        if (appendWith) await appendWith(stream, decided.events, loaded.version, companions);
        else await this.store.append(stream, decided.events, { expected: loaded.version });
        const appended = {
          state: decided.state,
          version: decided.version,
          snapshotVersion: loaded.snapshotVersion,
        };
        this.remember(stream, appended);
        this.tellCurrent(stream, appended);
        this.snapshotIfDue(stream, appended);
        decided.settle();
        for (const job of batch) job.companions?.settle(COMPANIONS_STORED);
        return;
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError)) {
          throw isConnectionError(err) || err instanceof IdempotencyConflictError
            ? err
            : new AppendRefusedError(err);
        }
        if (attempt >= maxAttempts) throw new ConcurrencyConflictError(stream);
        // Another writer got there first: decide the whole batch again on the caught-up state.
        if (!cached) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
  }

  /**
   * Decides every job in order against one evolving state. Nothing is answered here: `settle` resolves
   * or rejects each job once the state they were decided on has been proved current.
   */
  private decideAll(batch: Array<Job<Command, Event, State>>, loaded: Loaded<State>, now: Date) {
    let state = loaded.state;
    let version = loaded.version;
    const events: NewEvent[] = [];
    const answers: Array<() => void> = [];
    for (const job of batch) {
      const ifMatch = job.options.ifMatch;
      if (
        ifMatch !== undefined &&
        !(typeof ifMatch === 'number' ? ifMatch === version : ifMatch.includes(version))
      ) {
        const error = new PreconditionFailedError(ifMatch, version);
        answers.push(() => job.reject(error));
        continue;
      }
      let decided: Event[];
      try {
        decided = this.decider.decide(job.build(now), state);
      } catch (err) {
        answers.push(() => job.reject(err)); // a domain error concerns this command only
        continue;
      }
      const before = state;
      for (const event of decided) state = this.decider.evolve(state, event);
      version += decided.length;
      for (const event of decided) {
        events.push({
          id: randomUUID(),
          type: event.type,
          data: event.data,
          metadata: job.options.metadata ?? {},
        });
      }
      const outcome = { events: decided, before, after: state, version };
      answers.push(() => job.resolve(outcome));
    }
    return { events, state, version, settle: () => answers.forEach((answer) => answer()) };
  }
}
