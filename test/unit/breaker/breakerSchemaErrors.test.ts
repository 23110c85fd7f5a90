import {
  type BreakerCommand,
  createBreakerDecider,
  defaultBreakerPolicy,
  summarizeDecision,
} from '../../../src/domain/breaker';
import { T0, decider } from './breakerFixtures';
import { givenWhenThen, historyOf } from './givenWhenThen';

const { given } = givenWhenThen(decider);

const schemaErrors = (error_count: number, over: Partial<BreakerCommand> = {}): BreakerCommand =>
  ({
    type: 'ReportSchemaErrors',
    error_count,
    actor: 'sandbox',
    incident_id: 'inc-00000001',
    now: T0,
    ...over,
  }) as BreakerCommand;

describe('schema errors', () => {
  it('3 errors (below 5) are recorded and counted: no trip', () => {
    const when = given([]).when(schemaErrors(3, { details: { field: 'risks' } } as Partial<BreakerCommand>));
    when.then([
      {
        type: 'SchemaErrorsReported',
        data: {
          error_count: 3,
          threshold: 5,
          details: { field: 'risks' },
          exceeded: false,
          breaker_open: false,
          errors_before: 0,
          errors_after: 3,
          actor: 'sandbox',
          at: T0,
        },
      },
    ]);
    expect(when.stateAfter()).toMatchObject({
      open: false,
      consecutive_failures: 0,
      consecutive_schema_errors: 3,
      version: 1,
    });
    expect(summarizeDecision(when.events())).toEqual({ changed: false, tripped: false, incident_id: null });
  });

  it('5 errors trip at once: P3, drift 1.0, exact reason', () => {
    const when = given([]).when(schemaErrors(5));
    when.then([
      {
        type: 'SchemaErrorsReported',
        data: expect.objectContaining({ error_count: 5, threshold: 5, exceeded: true, breaker_open: false }),
      },
      {
        type: 'BreakerTripped',
        data: {
          incident_id: 'inc-00000001',
          severity: 'P3',
          trigger: 'schema_errors',
          reason: 'Schema error threshold exceeded: 5 >= 5',
          disabled_by: 'circuit_breaker',
          disabled_until: '2025-03-02T12:00:00.000Z',
          ttl_hours: 24,
          drift_score: 1.0,
          sample_count: 5,
          threshold: 5,
          failure_threshold: null,
          error_count: 5,
          failures_before: 0,
          failures_after: 0,
          details: {},
          actor: 'sandbox',
          at: T0,
        },
      },
    ]);
    expect(summarizeDecision(when.events())).toEqual({
      changed: true,
      tripped: true,
      incident_id: 'inc-00000001',
    });
  });

  it('a schema trip resets a running drift counter', () => {
    const drift: BreakerCommand = {
      type: 'ReportDrift',
      drift_score: 0.5,
      actor: 'sandbox',
      incident_id: 'inc-0000000x',
      now: T0,
    };
    const when = given(historyOf(decider, [drift, drift])).when(schemaErrors(12));
    when.then([
      expect.objectContaining({ type: 'SchemaErrorsReported' }),
      {
        type: 'BreakerTripped',
        data: expect.objectContaining({
          reason: 'Schema error threshold exceeded: 12 >= 5',
          failures_before: 2,
          failures_after: 0,
        }),
      },
    ]);
    expect(when.stateAfter().consecutive_failures).toBe(0);
  });

  it('while open: recorded, never re-trips', () => {
    const history = historyOf(decider, [schemaErrors(5)]);
    const when = given(history).when(
      schemaErrors(50, { incident_id: 'inc-00000002' } as Partial<BreakerCommand>),
    );
    when.then([
      {
        type: 'SchemaErrorsReported',
        data: expect.objectContaining({ error_count: 50, exceeded: true, breaker_open: true }),
      },
    ]);
    expect(when.stateAfter()).toMatchObject({
      open: true,
      incident_id: 'inc-00000001',
      consecutive_failures: 0,
    });
  });

  it('honours a custom schema-error threshold', () => {
    const lenient = createBreakerDecider({ ...defaultBreakerPolicy, schemaErrorThreshold: 10 });
    givenWhenThen(lenient)
      .given([])
      .when(schemaErrors(9))
      .then([expect.objectContaining({ type: 'SchemaErrorsReported' })]);
  });

  it('reports below the threshold add up: five reports of one trip at P3 with N = the sum', () => {
    const four = historyOf(
      decider,
      [1, 2, 3, 4].map(() => schemaErrors(1)),
    );
    expect(four.map((e) => e.type)).toEqual(Array(4).fill('SchemaErrorsReported'));
    const when = given(four).when(schemaErrors(1));
    when.then([
      {
        type: 'SchemaErrorsReported',
        data: expect.objectContaining({ error_count: 1, exceeded: true, errors_before: 4, errors_after: 0 }),
      },
      {
        type: 'BreakerTripped',
        data: expect.objectContaining({
          severity: 'P3',
          trigger: 'schema_errors',
          reason: 'Schema error threshold exceeded: 5 >= 5',
          error_count: 5,
          sample_count: 5,
          drift_score: 1.0,
        }),
      },
    ]);
    expect(when.stateAfter()).toMatchObject({ open: true, consecutive_schema_errors: 0 });
  });

  it('a sum that passes the threshold names the sum: 3 then 4 → "7 >= 5"', () => {
    given(historyOf(decider, [schemaErrors(3)]))
      .when(schemaErrors(4))
      .then([
        expect.objectContaining({ type: 'SchemaErrorsReported' }),
        {
          type: 'BreakerTripped',
          data: expect.objectContaining({
            reason: 'Schema error threshold exceeded: 7 >= 5',
            error_count: 7,
          }),
        },
      ]);
  });

  it('any drift observation (a valid V2 answer) sets the sum back to 0', () => {
    const drift: BreakerCommand = {
      type: 'ReportDrift',
      drift_score: 0.01,
      actor: 'sandbox',
      incident_id: 'inc-0000000x',
      now: T0,
    };
    const history = historyOf(decider, [schemaErrors(4), drift]);
    const when = given(history).when(schemaErrors(4));
    when.then([
      {
        type: 'SchemaErrorsReported',
        data: expect.objectContaining({ errors_before: 0, errors_after: 4, exceeded: false }),
      },
    ]);
  });

  it('a trip of any kind sets the sum back to 0, and while open nothing adds up', () => {
    const manual: BreakerCommand = {
      type: 'DisableBreaker',
      reason: 'Maintenance',
      actor: 'alice',
      incident_id: 'inc-00000009',
      now: T0,
    };
    const history = historyOf(decider, [schemaErrors(4), manual]);
    expect(given(history).when(schemaErrors(2)).events()).toEqual([
      {
        type: 'SchemaErrorsReported',
        data: expect.objectContaining({ breaker_open: true, errors_before: 0, errors_after: 0 }),
      },
    ]);
  });

  it('state stored before the sum existed (no consecutive_schema_errors) reads as 0', () => {
    const { consecutive_schema_errors: _dropped, ...old } = decider.initialState();
    const events = decider.decide(schemaErrors(1), old as ReturnType<typeof decider.initialState>);
    expect(events[0]).toMatchObject({ data: { errors_before: 0, errors_after: 1 } });
  });
});
