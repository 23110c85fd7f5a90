import {
  type BreakerCommand,
  type BreakerPolicy,
  createBreakerDecider,
  defaultBreakerPolicy,
  summarizeDecision,
} from '../../../src/domain/breaker';
import { T0, decider } from './breakerFixtures';
import { givenWhenThen, historyOf } from './givenWhenThen';

const at = (minutes: number): string => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
const { given } = givenWhenThen(decider);

let clock = 0;
const drift = (drift_score: number, over: Partial<Extract<BreakerCommand, { type: 'ReportDrift' }>> = {}) =>
  ({
    type: 'ReportDrift',
    drift_score,
    actor: 'sandbox',
    incident_id: 'inc-00000001',
    now: at(clock++),
    ...over,
  }) satisfies BreakerCommand;
beforeEach(() => {
  clock = 0;
});

describe('drift while closed', () => {
  it('a fresh breaker is closed with counter 0', () => {
    expect(decider.initialState()).toMatchObject({ open: false, consecutive_failures: 0, version: 0 });
  });

  it('0.1 is within threshold: recorded, counter stays 0, no trip', () => {
    given([])
      .when(drift(0.1, { now: T0, sample_count: 7, details: { run: 'r1' } }))
      .then([
        {
          type: 'DriftObserved',
          data: {
            drift_score: 0.1,
            threshold: 0.2,
            failure_threshold: 3,
            sample_count: 7,
            details: { run: 'r1' },
            exceeded: false,
            counted: true,
            failures_before: 0,
            failures_after: 0,
            breaker_open: false,
            actor: 'sandbox',
            at: T0,
          },
        },
      ]);
  });

  it('a score equal to the threshold is not a failure (strictly greater)', () => {
    given(historyOf(decider, [drift(0.25)]))
      .when(drift(0.2))
      .then([
        {
          type: 'DriftObserved',
          data: expect.objectContaining({ exceeded: false, failures_before: 1, failures_after: 0 }),
        },
      ]);
  });

  it('0.25 once → counter 1, last_failure_at set, no incident', () => {
    const when = given([]).when(drift(0.25, { now: T0 }));
    when.then([
      {
        type: 'DriftObserved',
        data: expect.objectContaining({
          exceeded: true,
          counted: true,
          failures_before: 0,
          failures_after: 1,
        }),
      },
    ]);
    expect(when.stateAfter()).toMatchObject({
      open: false,
      consecutive_failures: 1,
      last_failure_at: T0,
      incident_id: null,
    });
    expect(summarizeDecision(when.events())).toEqual({ changed: false, tripped: false, incident_id: null });
  });

  it('sample_count defaults to 1 and details to {}', () => {
    given([])
      .when(drift(0.1))
      .then([{ type: 'DriftObserved', data: expect.objectContaining({ sample_count: 1, details: {} }) }]);
  });

  it('the third consecutive 0.25 trips: P1, exact reason, disabled_by circuit_breaker, counter reset', () => {
    const history = historyOf(decider, [drift(0.25), drift(0.3)]);
    const when = given(history).when(
      drift(0.25, { now: at(10), sample_count: 42, details: { verdict: 'major_drift' } }),
    );
    when.then([
      {
        type: 'DriftObserved',
        data: expect.objectContaining({ drift_score: 0.25, failures_before: 2, failures_after: 3 }),
      },
      {
        type: 'BreakerTripped',
        data: {
          incident_id: 'inc-00000001',
          severity: 'P1',
          trigger: 'drift',
          reason: 'Drift exceeded threshold: 0.2500 > 0.2',
          disabled_by: 'circuit_breaker',
          disabled_until: new Date(Date.parse(at(10)) + 24 * 3_600_000).toISOString(),
          ttl_hours: 24,
          drift_score: 0.25,
          sample_count: 42,
          threshold: 0.2,
          failure_threshold: 3,
          error_count: null,
          failures_before: 3,
          failures_after: 0,
          details: { verdict: 'major_drift' },
          actor: 'sandbox',
          at: at(10),
        },
      },
    ]);
    expect(when.stateAfter()).toMatchObject({
      open: true,
      disabled_by: 'circuit_breaker',
      disabled_reason: 'Drift exceeded threshold: 0.2500 > 0.2',
      incident_id: 'inc-00000001',
      consecutive_failures: 0,
      last_failure_at: at(10),
      opened_at: at(10),
      version: 4,
    });
    expect(summarizeDecision(when.events())).toEqual({
      changed: true,
      tripped: true,
      incident_id: 'inc-00000001',
    });
  });

  it('two bad then one good → counter back to 0, no trip', () => {
    const when = given(historyOf(decider, [drift(0.25), drift(0.25)])).when(drift(0.05));
    when.then([
      {
        type: 'DriftObserved',
        data: expect.objectContaining({ exceeded: false, failures_before: 2, failures_after: 0 }),
      },
    ]);
    expect(when.stateAfter()).toMatchObject({ open: false, consecutive_failures: 0 });
  });

  it('two bad, one good, two bad → still closed (failures must be consecutive)', () => {
    const history = historyOf(decider, [drift(0.25), drift(0.25), drift(0.05), drift(0.25)]);
    given(history)
      .when(drift(0.25))
      .then([{ type: 'DriftObserved', data: expect.objectContaining({ failures_after: 2 }) }]);
  });

  it('honours a custom failure threshold and drift threshold', () => {
    const strict = createBreakerDecider({
      ...defaultBreakerPolicy,
      failureThreshold: 1,
      driftThreshold: 0.1,
    });
    givenWhenThen(strict)
      .given([])
      .when(drift(0.12345))
      .then([
        expect.objectContaining({ type: 'DriftObserved' }),
        {
          type: 'BreakerTripped',
          data: expect.objectContaining({ reason: 'Drift exceeded threshold: 0.1235 > 0.1', severity: 'P1' }),
        },
      ]);
  });
});

describe('drift while open', () => {
  const tripped = () => historyOf(decider, [drift(0.9), drift(0.9), drift(0.9)]);

  it('is recorded but never re-trips; counter stays 0', () => {
    const when = given(tripped()).when(drift(0.9, { incident_id: 'inc-00000002' }));
    when.then([
      {
        type: 'DriftObserved',
        data: expect.objectContaining({
          drift_score: 0.9,
          exceeded: true,
          counted: false,
          failures_before: 0,
          failures_after: 0,
          breaker_open: true,
        }),
      },
    ]);
    expect(when.stateAfter()).toMatchObject({
      open: true,
      consecutive_failures: 0,
      incident_id: 'inc-00000001',
    });
    expect(summarizeDecision(when.events())).toEqual({ changed: false, tripped: false, incident_id: null });
  });

  it('many reports while open still never re-trip', () => {
    const history = [...tripped()];
    let state = decider.initialState();
    for (const event of history) state = decider.evolve(state, event);
    for (let i = 0; i < 5; i += 1) {
      const events = decider.decide(drift(1, { incident_id: 'inc-00000009' }), state);
      expect(events.map((e) => e.type)).toEqual(['DriftObserved']);
      for (const event of events) state = decider.evolve(state, event);
    }
    expect(state).toMatchObject({ open: true, consecutive_failures: 0, incident_id: 'inc-00000001' });
  });

  it('does not move last_failure_at (counting is suspended while open)', () => {
    const history = tripped();
    const before = given(history).state.last_failure_at;
    expect(
      given(history)
        .when(drift(0.9, { now: at(100) }))
        .stateAfter().last_failure_at,
    ).toBe(before);
  });
});

describe('autoDisable = false', () => {
  const policy: BreakerPolicy = { ...defaultBreakerPolicy, autoDisable: false };
  const noAuto = createBreakerDecider(policy);

  it('reaching the failure threshold records a suppressed P2 trip instead, and resets the counter', () => {
    const history = historyOf(noAuto, [drift(0.25), drift(0.25)]);
    const when = givenWhenThen(noAuto)
      .given(history)
      .when(drift(0.3, { now: at(5), sample_count: 3 }));
    when.then([
      { type: 'DriftObserved', data: expect.objectContaining({ failures_before: 2, failures_after: 3 }) },
      {
        type: 'DriftTripSuppressed',
        data: {
          severity: 'P2',
          reason: 'Drift exceeded threshold: 0.3000 > 0.2 (auto-disable is off; V2 stays enabled)',
          drift_score: 0.3,
          threshold: 0.2,
          failure_threshold: 3,
          sample_count: 3,
          details: {},
          failures_before: 3,
          failures_after: 0,
          actor: 'sandbox',
          at: at(5),
        },
      },
    ]);
    expect(when.stateAfter()).toMatchObject({ open: false, consecutive_failures: 0, incident_id: null });
    expect(summarizeDecision(when.events())).toEqual({ changed: false, tripped: false, incident_id: null });
  });

  it('still counts below the threshold', () => {
    givenWhenThen(noAuto)
      .given(historyOf(noAuto, [drift(0.25)]))
      .when(drift(0.25))
      .then([{ type: 'DriftObserved', data: expect.objectContaining({ failures_after: 2 }) }]);
  });

  it('does not stop manual disables', () => {
    givenWhenThen(noAuto)
      .given([])
      .when({ type: 'DisableBreaker', reason: 'x', actor: 'a', incident_id: 'inc-00000001', now: T0 })
      .then([{ type: 'BreakerTripped', data: expect.objectContaining({ severity: 'P2' }) }]);
  });
});
