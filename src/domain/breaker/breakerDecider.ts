import type { Decider } from '../decider';
import type { BreakerCommand } from './breakerCommands';
import { decideValid } from './breakerDecide';
import type { BreakerEvent } from './breakerEvents';
import { evolveBreaker } from './breakerEvolve';
import { type BreakerPolicy, validateBreakerPolicy } from './breakerPolicy';
import { type BreakerState, initialBreakerState } from './breakerState';
import { validateCommand } from './breakerValidation';

export type BreakerDecider = Decider<BreakerCommand, BreakerEvent, BreakerState>;

/**
 * The breaker aggregate. `decide` throws a BreakerInputError for an invalid command (before deciding
 * anything); `evolve` ignores the policy, so one history always folds to one state.
 */
export function createBreakerDecider(policy: BreakerPolicy): BreakerDecider {
  const checked: BreakerPolicy = Object.freeze({ ...validateBreakerPolicy(policy) });
  return {
    decide: (command, state) => decideValid(checked, validateCommand(command), state),
    evolve: evolveBreaker,
    initialState: initialBreakerState,
  };
}
