import {
  type BreakerCommand,
  type BreakerEvent,
  createBreakerDecider,
  defaultBreakerPolicy,
  isOpenAt,
  stateAt,
  summarizeDecision,
} from '../../../src/domain/breaker';
import { T0, at, decider, disable } from './breakerFixtures';
import { givenWhenThen, historyOf } from './givenWhenThen';

const { given } = givenWhenThen(decider);

const recover = (now: string): BreakerCommand => ({ type: 'RecoverExpiredBreaker', now });
const recovered = (now: string, expired_at: string, previous_reason = 'Maintenance'): BreakerEvent => ({
  type: 'BreakerAutoRecovered',
  data: {
    incident_id: 'inc-00000001',
    resolved_by: 'system-auto-recover',
    resolution_notes: 'Auto-recovered after TTL expired',
    expired_at,
    previous_reason,
    failures_before: 0,
    actor: 'system-auto-recover',
    at: now,
  },
});

const disabled = historyOf(decider, [disable()]); // disabled_until = T0 + 24 h

describe('TTL recovery', () => {
  it('before the TTL passes, RecoverExpiredBreaker does nothing', () => {
    given(disabled)
      .when(recover(at(23.9)))
      .then([]);
  });

  it('once the TTL has passed: one recovery resolving the incident as system-auto-recover', () => {
    const when = given(disabled).when(recover(at(25)));
    when.then([recovered(at(25), at(24))]);
    expect(when.stateAfter()).toMatchObject({
      open: false,
      disabled_by: null,
      disabled_reason: null,
      disabled_until: null,
      incident_id: null,
      consecutive_failures: 0,
      opened_at: null,
      version: 2,
    });
    expect(summarizeDecision(when.events())).toEqual({ changed: true, tripped: false, incident_id: null });
  });

  it('disabled_until == now counts as passed (≤ now)', () => {
    given(disabled)
      .when(recover(at(24)))
      .then([recovered(at(24), at(24))]);
  });

  it('a second RecoverExpiredBreaker → nothing (recovery recorded exactly once)', () => {
    const history = [...disabled, recovered(at(25), at(24))];
    given(history)
      .when(recover(at(25)))
      .then([]);
    given(history)
      .when(recover(at(100)))
      .then([]);
  });

  it('on a closed breaker → nothing', () => {
    given([])
      .when(recover(at(1)))
      .then([]);
  });

  it('ttl_hours 0 never auto-recovers', () => {
    given(historyOf(decider, [disable({ ttl_hours: 0 })]))
      .when(recover(at(10_000)))
      .then([]);
  });

  it('drift trips recover too (policy TTL)', () => {
    const drift: BreakerCommand = {
      type: 'ReportDrift',
      drift_score: 0.5,
      actor: 'sandbox',
      incident_id: 'inc-00000001',
      now: T0,
    };
    const history = historyOf(decider, [drift, drift, drift]);
    given(history)
      .when(recover(at(24)))
      .then([recovered(at(24), at(24), 'Drift exceeded threshold: 0.5000 > 0.2')]);
  });
});

describe('commands on an open breaker whose TTL has passed', () => {
  it('drift: the recovery first, then the drift decided against the closed state', () => {
    given(disabled)
      .when({
        type: 'ReportDrift',
        drift_score: 0.5,
        actor: 'sandbox',
        incident_id: 'inc-00000002',
        now: at(30),
      })
      .then([
        recovered(at(30), at(24)),
        {
          type: 'DriftObserved',
          data: expect.objectContaining({ breaker_open: false, counted: true, failures_after: 1 }),
        },
      ]);
  });

  it('disable: the recovery first, then a new incident (not an amendment)', () => {
    const when = given(disabled).when(disable({ incident_id: 'inc-00000002', now: at(30) }));
    when.then([
      recovered(at(30), at(24)),
      {
        type: 'BreakerTripped',
        data: expect.objectContaining({ incident_id: 'inc-00000002', disabled_until: at(54) }),
      },
    ]);
    expect(summarizeDecision(when.events())).toEqual({
      changed: true,
      tripped: false,
      incident_id: 'inc-00000002',
    });
  });

  it('enable: the recovery only (the enable then finds the breaker closed)', () => {
    given(disabled)
      .when({ type: 'EnableBreaker', actor: 'bob', reason: 'done', now: at(30) })
      .then([recovered(at(30), at(24))]);
  });

  it('schema errors: the recovery first, then a P3 trip on the closed state', () => {
    given(disabled)
      .when({
        type: 'ReportSchemaErrors',
        error_count: 6,
        actor: 'sandbox',
        incident_id: 'inc-00000002',
        now: at(30),
      })
      .then([
        recovered(at(30), at(24)),
        expect.objectContaining({
          type: 'SchemaErrorsReported',
          data: expect.objectContaining({ breaker_open: false }),
        }),
        expect.objectContaining({
          type: 'BreakerTripped',
          data: expect.objectContaining({ severity: 'P3' }),
        }),
      ]);
  });
});

describe('a disabled_until already in the past', () => {
  it('is accepted; the recovery is recorded in the same decision', () => {
    const when = given([]).when(disable({ disabled_until: at(-1) }));
    when.then([
      { type: 'BreakerTripped', data: expect.objectContaining({ disabled_until: at(-1) }) },
      recovered(T0, at(-1)),
    ]);
    expect(when.stateAfter().open).toBe(false);
    expect(summarizeDecision(when.events())).toEqual({
      changed: true,
      tripped: false,
      incident_id: 'inc-00000001',
    });
  });

  it('amending an open disable into the past recovers in the same decision', () => {
    given(disabled)
      .when(disable({ disabled_until: at(0.5), now: at(1) }))
      .then([
        { type: 'BreakerDisableAmended', data: expect.objectContaining({ disabled_until: at(0.5) }) },
        recovered(at(1), at(0.5)),
      ]);
  });
});

describe('autoRecover = false', () => {
  const policy = { ...defaultBreakerPolicy, autoRecover: false };
  const manualOnly = createBreakerDecider(policy);
  const history = historyOf(manualOnly, [disable()]);

  it('an expired TTL records nothing', () => {
    givenWhenThen(manualOnly)
      .given(history)
      .when(recover(at(48)))
      .then([]);
  });

  it('commands are decided against the still-open breaker (drift does not re-trip)', () => {
    givenWhenThen(manualOnly)
      .given(history)
      .when({
        type: 'ReportDrift',
        drift_score: 0.9,
        actor: 'sandbox',
        incident_id: 'inc-00000002',
        now: at(48),
      })
      .then([
        { type: 'DriftObserved', data: expect.objectContaining({ breaker_open: true, counted: false }) },
      ]);
  });

  it('readers keep reporting it open', () => {
    const state = givenWhenThen(manualOnly).given(history).state;
    expect(isOpenAt(state, at(48), policy)).toBe(true);
    expect(stateAt(state, at(48), policy)).toMatchObject({ open: true, recovery_pending: false });
  });

  it('an enable still closes it', () => {
    givenWhenThen(manualOnly)
      .given(history)
      .when({ type: 'EnableBreaker', actor: 'bob', now: at(48) })
      .then([expect.objectContaining({ type: 'BreakerEnabled' })]);
  });
});
