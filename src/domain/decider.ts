/**
 * The decider pattern (as in Emmett): an aggregate is a pure `decide` and a pure `evolve` over an
 * `initialState`. No I/O, no clock, no randomness: time and ids arrive inside the command.
 */
export interface DomainEvent<Type extends string = string, Data extends object = object> {
  readonly type: Type;
  readonly data: Data;
}

export interface Decider<Command, Event extends DomainEvent, State> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** Folds a history of events into a state: the only way state is ever built. */
export function foldEvents<Event extends DomainEvent, State>(
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
  events: readonly Event[],
): State {
  return events.reduce((state, event) => decider.evolve(state, event), decider.initialState());
}

/**
 * The type names of an event union as a list that cannot drift from it: called as
 * `eventTypeList<MyEvent['type']>({ A: true, B: true })`, the compiler rejects a missing member and an
 * unknown one, so a new event cannot be left out of what a projection or a feed reads.
 */
export const eventTypeList = <Type extends string>(types: { readonly [K in Type]: true }): readonly Type[] =>
  Object.freeze(Object.keys(types) as Type[]);

/** Base class of every typed domain error; HTTP maps `code` to a problem type. */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
