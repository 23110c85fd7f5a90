import { type BreakerState, decodeStoredBreakerState } from '../../../src/domain/breaker';
import { foldEvents } from '../../../src/domain/decider';
import { T0, at, decider } from './breakerFixtures';
import { historyOf } from './givenWhenThen';
import { storedBeforeLaterCounters } from '../../support/olderBreakerState';

/** cb_state rows written before a field existed lack it; decoding gives what a fold of the events gives. */
describe('stored breaker state', () => {
  it('an open breaker stored without the later counters reads as its fold', () => {
    const open = foldEvents(
      decider,
      historyOf(decider, [
        {
          type: 'DisableBreaker',
          reason: 'x',
          actor: 'a',
          ttl_hours: 2,
          incident_id: 'inc-00000001',
          now: T0,
        },
      ]),
    );
    expect(decodeStoredBreakerState(storedBeforeLaterCounters(open))).toEqual(open);
  });

  it('a closed breaker stored without them reads as its fold', () => {
    const closed = foldEvents(
      decider,
      historyOf(decider, [
        { type: 'ReportDrift', drift_score: 0.3, actor: 's', incident_id: 'inc-00000001', now: at(1) },
      ]),
    );
    expect(closed.open).toBe(false);
    expect(decodeStoredBreakerState(storedBeforeLaterCounters(closed))).toEqual(closed);
  });

  it('a current state is read as stored', () => {
    const state = foldEvents(decider, []);
    expect(decodeStoredBreakerState(JSON.parse(JSON.stringify(state)) as BreakerState)).toEqual(state);
  });
});
