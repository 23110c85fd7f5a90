/**
 * The port for stream snapshots: a decider's state folded up to a stream version. Snapshots are an
 * optimisation only: a missing, stale or unreadable one costs a longer replay, never a wrong state, because
 * events after the snapshot are always read and the append's expected version still guards every write.
 */
export interface StreamSnapshot<State> {
  version: number;
  state: State;
}

export interface SnapshotStore {
  /** The latest snapshot of `stream` written with `schema`, or null. */
  load<State>(stream: string, schema: string): Promise<StreamSnapshot<State> | null>;
  /** Keeps the snapshot unless one at the same or a later version is already stored. */
  save<State>(stream: string, schema: string, snapshot: StreamSnapshot<State>): Promise<void>;
}
