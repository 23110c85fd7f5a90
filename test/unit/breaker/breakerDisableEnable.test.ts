import {
  type BreakerCommand,
  createBreakerDecider,
  defaultBreakerPolicy,
  summarizeDecision,
} from '../../../src/domain/breaker';
import { T0, at, decider, disable } from './breakerFixtures';
import { givenWhenThen, historyOf } from './givenWhenThen';

const { given } = givenWhenThen(decider);

const enable = (over: Partial<Extract<BreakerCommand, { type: 'EnableBreaker' }>> = {}): BreakerCommand => ({
  type: 'EnableBreaker',
  actor: 'bob',
  now: at(1),
  ...over,
});
const disabledHistory = historyOf(decider, [disable()]);

describe('disable', () => {
  it('trips a closed breaker: P2 manual incident, disabled_by the actor, policy TTL (24 h)', () => {
    given([])
      .when(disable())
      .then([
        {
          type: 'BreakerTripped',
          data: {
            incident_id: 'inc-00000001',
            severity: 'P2',
            trigger: 'manual',
            reason: 'Maintenance',
            disabled_by: 'alice',
            disabled_until: at(24),
            ttl_hours: 24,
            drift_score: 0,
            sample_count: 0,
            threshold: null,
            failure_threshold: null,
            error_count: null,
            failures_before: 0,
            failures_after: 0,
            details: { manual_disable: true },
            actor: 'alice',
            at: T0,
          },
        },
      ]);
  });

  it('opens the breaker in the resulting state', () => {
    const state = given([]).when(disable()).stateAfter();
    expect(state).toMatchObject({
      open: true,
      disabled_by: 'alice',
      disabled_reason: 'Maintenance',
      disabled_until: at(24),
      incident_id: 'inc-00000001',
      consecutive_failures: 0,
      opened_at: T0,
      updated_at: T0,
      version: 1,
    });
  });

  it('resets a running drift counter (a trip resets the counter)', () => {
    const drift = (now: string): BreakerCommand => ({
      type: 'ReportDrift',
      drift_score: 0.3,
      actor: 'sandbox',
      incident_id: 'inc-0000000x',
      now,
    });
    const history = historyOf(decider, [drift(at(-2)), drift(at(-1))]);
    given(history)
      .when(disable())
      .then([
        {
          type: 'BreakerTripped',
          data: expect.objectContaining({ failures_before: 2, failures_after: 0 }),
        },
      ]);
    expect(given(history).when(disable()).stateAfter().consecutive_failures).toBe(0);
  });

  it('ttl_hours sets disabled_until = now + ttl (fractions allowed)', () => {
    given([])
      .when(disable({ ttl_hours: 1.5 }))
      .then([
        {
          type: 'BreakerTripped',
          data: expect.objectContaining({ disabled_until: at(1.5), ttl_hours: 1.5 }),
        },
      ]);
  });

  it('ttl_hours 0 means until enabled: disabled_until null', () => {
    given([])
      .when(disable({ ttl_hours: 0 }))
      .then([
        { type: 'BreakerTripped', data: expect.objectContaining({ disabled_until: null, ttl_hours: 0 }) },
      ]);
  });

  it('an explicit disabled_until is used as given (normalized to UTC ISO)', () => {
    given([])
      .when(disable({ disabled_until: '2025-03-02T08:00:00+02:00' }))
      .then([
        {
          type: 'BreakerTripped',
          data: expect.objectContaining({ disabled_until: '2025-03-02T06:00:00.000Z', ttl_hours: null }),
        },
      ]);
  });

  it('a policy TTL of 0 makes trips permanent', () => {
    const permanent = createBreakerDecider({ ...defaultBreakerPolicy, disableTtlHours: 0 });
    givenWhenThen(permanent)
      .given([])
      .when(disable())
      .then([
        { type: 'BreakerTripped', data: expect.objectContaining({ disabled_until: null, ttl_hours: 0 }) },
      ]);
  });

  it('accepts Date instants', () => {
    given([])
      .when(disable({ now: new Date(T0), disabled_until: new Date(at(2)) }))
      .then([{ type: 'BreakerTripped', data: expect.objectContaining({ at: T0, disabled_until: at(2) }) }]);
  });
});

describe('disable while open', () => {
  it('same reason, no TTL → no events (changed: false)', () => {
    const when = given(disabledHistory).when(disable({ now: at(1), incident_id: 'inc-00000002' }));
    when.then([]);
    expect(summarizeDecision(when.events())).toEqual({ changed: false, tripped: false, incident_id: null });
  });

  it('same reason and same ttl_hours → no events (the window is not extended)', () => {
    const history = historyOf(decider, [disable({ ttl_hours: 4 })]);
    given(history)
      .when(disable({ ttl_hours: 4, now: at(1) }))
      .then([]);
  });

  it('same reason and same disabled_until → no events', () => {
    const history = historyOf(decider, [disable({ disabled_until: at(5) })]);
    given(history)
      .when(disable({ disabled_until: '2025-03-01T19:00:00+02:00', now: at(1) }))
      .then([]);
  });

  it('a different reason amends the current disable, same incident, TTL kept', () => {
    const when = given(disabledHistory).when(
      disable({ reason: 'Still investigating', actor: 'carol', incident_id: 'inc-00000002', now: at(1) }),
    );
    when.then([
      {
        type: 'BreakerDisableAmended',
        data: {
          incident_id: 'inc-00000001',
          reason: 'Still investigating',
          previous_reason: 'Maintenance',
          disabled_until: at(24),
          previous_disabled_until: at(24),
          ttl_hours: 24,
          previous_ttl_hours: 24,
          actor: 'carol',
          at: at(1),
        },
      },
    ]);
    expect(summarizeDecision(when.events())).toEqual({
      changed: true,
      tripped: false,
      incident_id: 'inc-00000001',
    });
    expect(when.stateAfter()).toMatchObject({
      open: true,
      disabled_reason: 'Still investigating',
      disabled_by: 'alice',
      incident_id: 'inc-00000001',
      opened_at: T0,
      updated_at: at(1),
      version: 2,
    });
  });

  it('a different TTL amends the window, counted from now', () => {
    given(disabledHistory)
      .when(disable({ ttl_hours: 2, now: at(1) }))
      .then([
        {
          type: 'BreakerDisableAmended',
          data: expect.objectContaining({
            incident_id: 'inc-00000001',
            reason: 'Maintenance',
            disabled_until: at(3),
            ttl_hours: 2,
            previous_ttl_hours: 24,
          }),
        },
      ]);
  });

  it('ttl_hours 0 while open amends to "until enabled"', () => {
    const state = given(disabledHistory)
      .when(disable({ ttl_hours: 0, now: at(1) }))
      .stateAfter();
    expect(state).toMatchObject({ open: true, disabled_until: null, ttl_hours: 0 });
  });

  it('amends a drift trip without taking over disabled_by', () => {
    const drift = (now: string): BreakerCommand => ({
      type: 'ReportDrift',
      drift_score: 0.5,
      actor: 'sandbox',
      incident_id: 'inc-000drift',
      now,
    });
    const history = historyOf(decider, [drift(T0), drift(T0), drift(T0)]);
    const state = given(history)
      .when(disable({ reason: 'Looking into it', now: at(1) }))
      .stateAfter();
    expect(state).toMatchObject({
      disabled_by: 'circuit_breaker',
      disabled_reason: 'Looking into it',
      incident_id: 'inc-000drift',
    });
  });
});

describe('enable', () => {
  it('on a closed breaker → no events (changed: false)', () => {
    const when = given([]).when(enable());
    when.then([]);
    expect(summarizeDecision(when.events()).changed).toBe(false);
  });

  it('resolves the incident with the actor and reason ("Fixed the issue" by "test-suite")', () => {
    given(disabledHistory)
      .when(enable({ actor: 'test-suite', reason: 'Fixed the issue' }))
      .then([
        {
          type: 'BreakerEnabled',
          data: {
            incident_id: 'inc-00000001',
            resolved_by: 'test-suite',
            resolution_notes: 'Fixed the issue',
            reason: 'Fixed the issue',
            previous_reason: 'Maintenance',
            failures_before: 0,
            actor: 'test-suite',
            at: at(1),
          },
        },
      ]);
  });

  it('without a reason (or a blank one) the notes are "Manual reset"', () => {
    for (const reason of [undefined, null, '', '   ']) {
      given(disabledHistory)
        .when(enable({ reason }))
        .then([
          {
            type: 'BreakerEnabled',
            data: expect.objectContaining({ resolution_notes: 'Manual reset', reason: null }),
          },
        ]);
    }
  });

  it('closes the breaker: no reason, no incident, counter 0, summary changed', () => {
    const when = given(disabledHistory).when(enable());
    expect(when.stateAfter()).toMatchObject({
      open: false,
      disabled_by: null,
      disabled_reason: null,
      disabled_until: null,
      incident_id: null,
      consecutive_failures: 0,
      opened_at: null,
      updated_at: at(1),
      version: 2,
    });
    expect(summarizeDecision(when.events())).toEqual({ changed: true, tripped: false, incident_id: null });
  });

  it('a second enable → no events', () => {
    const history = historyOf(decider, [disable(), enable()]);
    given(history)
      .when(enable({ now: at(2) }))
      .then([]);
  });

  it('after enable, a new disable opens a new incident', () => {
    const history = historyOf(decider, [disable(), enable()]);
    given(history)
      .when(disable({ incident_id: 'inc-00000002', now: at(2) }))
      .then([
        {
          type: 'BreakerTripped',
          data: expect.objectContaining({ incident_id: 'inc-00000002', severity: 'P2' }),
        },
      ]);
  });
});
