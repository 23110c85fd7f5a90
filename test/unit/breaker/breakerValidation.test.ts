import {
  type BreakerCommand,
  BreakerInputError,
  ConflictingTtlError,
  createBreakerDecider,
  defaultBreakerPolicy,
  InvalidActorError,
  InvalidBreakerPolicyError,
  InvalidCountError,
  InvalidDetailsError,
  InvalidDriftScoreError,
  InvalidIncidentIdError,
  InvalidReasonError,
  InvalidTimestampError,
  InvalidTtlError,
  UnknownBreakerCommandError,
} from '../../../src/domain/breaker';
import { T0, decider } from './breakerFixtures';
import { DomainError } from '../../../src/domain/decider';
import { givenWhenThen, historyOf } from './givenWhenThen';

const { given } = givenWhenThen(decider);

const drift = (over: Record<string, unknown>): BreakerCommand =>
  ({
    type: 'ReportDrift',
    drift_score: 0.1,
    actor: 'sandbox',
    incident_id: 'inc-00000001',
    now: T0,
    ...over,
  }) as BreakerCommand;
const disable = (over: Record<string, unknown>): BreakerCommand =>
  ({
    type: 'DisableBreaker',
    reason: 'Maintenance',
    actor: 'alice',
    incident_id: 'inc-00000001',
    now: T0,
    ...over,
  }) as BreakerCommand;
const schema = (over: Record<string, unknown>): BreakerCommand =>
  ({
    type: 'ReportSchemaErrors',
    error_count: 1,
    actor: 'sandbox',
    incident_id: 'inc-00000001',
    now: T0,
    ...over,
  }) as BreakerCommand;

describe('command validation (typed DomainErrors, never an event)', () => {
  it.each([-0.01, 1.01, Number.NaN, Number.POSITIVE_INFINITY, '0.5'])('drift_score %p', (drift_score) => {
    given([]).when(drift({ drift_score })).thenThrows(InvalidDriftScoreError, 'breaker.invalid_drift_score');
  });

  it('drift_score 0 and 1 are valid bounds', () => {
    expect(() => decider.decide(drift({ drift_score: 0 }), decider.initialState())).not.toThrow();
    expect(() => decider.decide(drift({ drift_score: 1 }), decider.initialState())).not.toThrow();
  });

  it.each([0, -1, 1.5, '3'])('sample_count %p', (sample_count) => {
    given([]).when(drift({ sample_count })).thenThrows(InvalidCountError, 'breaker.invalid_count');
  });

  it.each([0, -5, 2.5, Number.NaN])('error_count %p', (error_count) => {
    given([]).when(schema({ error_count })).thenThrows(InvalidCountError);
  });

  it('names the field at fault', () => {
    try {
      decider.decide(schema({ error_count: 0 }), decider.initialState());
      throw new Error('expected a throw');
    } catch (error) {
      expect(error).toBeInstanceOf(BreakerInputError);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ field: 'error_count', name: 'InvalidCountError' });
    }
  });

  it.each(['', '   ', undefined, 42])('disable reason %p', (reason) => {
    given([]).when(disable({ reason })).thenThrows(InvalidReasonError, 'breaker.invalid_reason');
  });

  it('enable reason must be a string when given', () => {
    given([])
      .when({ type: 'EnableBreaker', actor: 'bob', reason: 7, now: T0 } as unknown as BreakerCommand)
      .thenThrows(InvalidReasonError);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, 1e15])('ttl_hours %p', (ttl_hours) => {
    given([]).when(disable({ ttl_hours })).thenThrows(InvalidTtlError, 'breaker.invalid_ttl');
  });

  it('both ttl_hours and disabled_until → ConflictingTtlError', () => {
    given([])
      .when(disable({ ttl_hours: 1, disabled_until: '2025-03-02T00:00:00Z' }))
      .thenThrows(ConflictingTtlError, 'breaker.conflicting_ttl');
  });

  it('null ttl_hours / disabled_until count as absent', () => {
    expect(
      decider.decide(disable({ ttl_hours: null, disabled_until: null }), decider.initialState()),
    ).toHaveLength(1);
  });

  it.each(['not a date', '2025-03-01T12:00:00', '', new Date(Number.NaN)])('now %p', (now) => {
    given([]).when(drift({ now })).thenThrows(InvalidTimestampError, 'breaker.invalid_timestamp');
  });

  it('disabled_until without an offset is rejected (it would depend on the host time zone)', () => {
    given([])
      .when(disable({ disabled_until: '2025-03-02T00:00:00' }))
      .thenThrows(InvalidTimestampError);
  });

  it.each(['', 'short', 'way-too-long-id', 'has space 12', undefined])('incident_id %p', (incident_id) => {
    given([]).when(drift({ incident_id })).thenThrows(InvalidIncidentIdError, 'breaker.invalid_incident_id');
  });

  it.each(['', '  ', undefined])('actor %p', (actor) => {
    given([]).when(drift({ actor })).thenThrows(InvalidActorError, 'breaker.invalid_actor');
    given([]).when(disable({ actor })).thenThrows(InvalidActorError);
  });

  it.each([[[1, 2]], ['text'], [5]])('details %p', (details) => {
    given([]).when(drift({ details })).thenThrows(InvalidDetailsError, 'breaker.invalid_details');
  });

  describe('only what PostgreSQL and the projections can hold (docs/limits.md)', () => {
    const fieldOf = (command: BreakerCommand): string => {
      try {
        decider.decide(command, decider.initialState());
      } catch (err) {
        return (err as BreakerInputError).field;
      }
      throw new Error('expected a BreakerInputError');
    };

    it.each([
      ['reason with U+0000', disable({ reason: 'a\u0000b' }), InvalidReasonError, 'reason'],
      ['reason with a lone surrogate', disable({ reason: 'a\ud800' }), InvalidReasonError, 'reason'],
      ['actor with U+0000', drift({ actor: '\u0000' }), InvalidActorError, 'actor'],
      [
        'details value with U+0000',
        drift({ details: { run_id: 'r\u0000' } }),
        InvalidDetailsError,
        'details.run_id',
      ],
      [
        'details key with a lone surrogate',
        drift({ details: { ['k\udc00']: 1 } }),
        InvalidDetailsError,
        'details."k\\udc00"',
      ],
      [
        'details with Infinity',
        schema({ details: { n: [Number.POSITIVE_INFINITY] } }),
        InvalidDetailsError,
        'details.n.0',
      ],
      [
        'disabled_until in year 10000 (UTC)',
        disable({ disabled_until: '9999-12-31T23:59:59-15:00' }),
        InvalidTimestampError,
        'disabled_until',
      ],
      [
        'disabled_until with offset -23:59',
        disable({ disabled_until: '9999-12-31T23:59:59-23:59' }),
        InvalidTimestampError,
        'disabled_until',
      ],
      [
        'disabled_until in year 0',
        disable({ disabled_until: '0000-06-01T00:00:00Z' }),
        InvalidTimestampError,
        'disabled_until',
      ],
      ['now beyond 9999', drift({ now: new Date(Date.UTC(10000, 0, 1)) }), InvalidTimestampError, 'now'],
      ['a ttl that ends after 9999', disable({ ttl_hours: 24 * 365 * 8000 }), InvalidTtlError, 'ttl_hours'],
      [
        'sample_count above int4 use',
        drift({ sample_count: 3_000_000_000 }),
        InvalidCountError,
        'sample_count',
      ],
      [
        'error_count above the limit',
        schema({ error_count: 1_000_000_001 }),
        InvalidCountError,
        'error_count',
      ],
    ])('%s', (_, command, errorType, field) => {
      given([]).when(command).thenThrows(errorType);
      expect(fieldOf(command)).toBe(field);
    });

    it('a __proto__ key in details is data, stored as given', () => {
      const details = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
      const [event] = decider.decide(drift({ details }), decider.initialState());
      expect(JSON.stringify(event!.data)).toContain('"details":{"__proto__":{"x":1}}');
    });
  });

  it('unknown command type', () => {
    given([])
      .when({ type: 'Explode', now: T0 } as unknown as BreakerCommand)
      .thenThrows(UnknownBreakerCommandError);
  });

  it('an invalid command on an expired-open breaker records no recovery either', () => {
    const history = historyOf(decider, [disable({})]);
    given(history)
      .when(drift({ drift_score: 2, now: '2025-03-05T00:00:00Z' }))
      .thenThrows(InvalidDriftScoreError);
  });
});

describe('policy validation', () => {
  it.each([
    { driftThreshold: -0.1 },
    { driftThreshold: 1.5 },
    { failureThreshold: 0 },
    { failureThreshold: 2.5 },
    { schemaErrorThreshold: 0 },
    { disableTtlHours: -1 },
    { disableTtlHours: Number.NaN },
  ])('%p is rejected', (bad) => {
    expect(() => createBreakerDecider({ ...defaultBreakerPolicy, ...bad })).toThrow(
      InvalidBreakerPolicyError,
    );
  });
});
