import { type Decider, type DomainEvent, foldEvents } from '../../../src/domain/decider';

/**
 * given(history) / when(command) / then(expected events | error) over any decider. `then` compares with
 * `toEqual`, so expected events may use asymmetric matchers (expect.objectContaining, …).
 */
export function givenWhenThen<Command, Event extends DomainEvent, State>(
  decider: Decider<Command, Event, State>,
) {
  return {
    given(history: readonly Event[]) {
      const state = foldEvents(decider, history);
      return {
        state,
        when(command: Command) {
          const decide = (): Event[] => decider.decide(command, state);
          return {
            /** The decided events, for assertions `then` cannot express. */
            events: decide,
            /** State after the history and the decided events. */
            stateAfter: (): State => foldEvents(decider, [...history, ...decide()]),
            then(expected: readonly unknown[]): void {
              expect(decide()).toEqual(expected);
            },
            thenThrows(errorType: abstract new (...args: never[]) => Error, code?: string): void {
              let thrown: unknown;
              try {
                decide();
              } catch (error) {
                thrown = error;
              }
              expect(thrown).toBeInstanceOf(errorType);
              if (code !== undefined) expect(thrown).toHaveProperty('code', code);
            },
          };
        },
      };
    },
  };
}

/** Events of running commands one after another from the initial state: a compact way to build a history. */
export function historyOf<Command, Event extends DomainEvent, State>(
  decider: Decider<Command, Event, State>,
  commands: readonly Command[],
): Event[] {
  const events: Event[] = [];
  let state = decider.initialState();
  for (const command of commands) {
    for (const event of decider.decide(command, state)) {
      events.push(event);
      state = decider.evolve(state, event);
    }
  }
  return events;
}
