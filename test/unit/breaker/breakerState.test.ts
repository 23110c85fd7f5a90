import {
  type BreakerCommand,
  type BreakerEvent,
  breakerStreamName,
  createBreakerDecider,
  defaultBreakerPolicy,
  evolveBreaker,
  isOpenAt,
  parseBreakerStreamName,
  stateAt,
  summarizeDecision,
  toSnapshot,
  UnknownBreakerEventError,
} from '../../../src/domain/breaker';
import { T0, at, decider } from './breakerFixtures';
import { foldEvents } from '../../../src/domain/decider';
import { historyOf } from './givenWhenThen';

const commands: BreakerCommand[] = [
  { type: 'ReportDrift', drift_score: 0.3, actor: 's', incident_id: 'inc-00000001', now: at(0) },
  { type: 'ReportDrift', drift_score: 0.3, actor: 's', incident_id: 'inc-00000001', now: at(0.1) },
  { type: 'ReportDrift', drift_score: 0.3, actor: 's', incident_id: 'inc-00000001', now: at(0.2) },
  {
    type: 'DisableBreaker',
    reason: 'Investigating',
    actor: 'alice',
    incident_id: 'inc-00000002',
    now: at(1),
  },
  { type: 'RecoverExpiredBreaker', now: at(30) },
  { type: 'ReportSchemaErrors', error_count: 2, actor: 's', incident_id: 'inc-00000003', now: at(31) },
  {
    type: 'DisableBreaker',
    reason: 'Manual',
    actor: 'bob',
    ttl_hours: 0,
    incident_id: 'inc-00000004',
    now: at(32),
  },
  { type: 'EnableBreaker', actor: 'bob', reason: 'Fixed', now: at(33) },
];
const history = historyOf(decider, commands);

describe('state', () => {
  it('a fresh breaker is closed, version 0', () => {
    expect(decider.initialState()).toEqual({
      open: false,
      disabled_by: null,
      disabled_reason: null,
      disabled_until: null,
      incident_id: null,
      consecutive_failures: 0,
      last_failure_at: null,
      opened_at: null,
      updated_at: null,
      version: 0,
      ttl_hours: null,
      incident: null,
      consecutive_schema_errors: 0,
      consecutive_canary_failures: 0,
      canary_failed_runs: [],
      half_open: false,
    });
    expect(isOpenAt(decider.initialState(), T0, defaultBreakerPolicy)).toBe(false);
  });

  it('the sample history has the expected shape', () => {
    expect(history.map((e) => e.type)).toEqual([
      'DriftObserved',
      'DriftObserved',
      'DriftObserved',
      'BreakerTripped',
      'BreakerDisableAmended',
      'BreakerAutoRecovered',
      'SchemaErrorsReported',
      'BreakerTripped',
      'BreakerEnabled',
    ]);
  });

  it('evolve is deterministic: folding the same events twice gives equal states', () => {
    const once = foldEvents(decider, history);
    const twice = foldEvents(decider, history);
    expect(twice).toEqual(once);
    expect(once.version).toBe(history.length);
  });

  it('evolve does not depend on the policy (replay under another policy gives the same state)', () => {
    const other = createBreakerDecider({ ...defaultBreakerPolicy, driftThreshold: 0.9, autoRecover: false });
    expect(foldEvents(other, history)).toEqual(foldEvents(decider, history));
  });

  it('evolve never mutates its input state or the events', () => {
    const frozen = JSON.parse(JSON.stringify(history)) as BreakerEvent[];
    let state = decider.initialState();
    for (const event of history) {
      const before = JSON.stringify(state);
      const next = decider.evolve(state, event);
      expect(JSON.stringify(state)).toBe(before);
      state = next;
    }
    expect(history).toEqual(frozen);
  });

  it('events survive a JSON round trip (they are persisted as JSON)', () => {
    const roundTripped = JSON.parse(JSON.stringify(history)) as BreakerEvent[];
    expect(foldEvents(decider, roundTripped)).toEqual(foldEvents(decider, history));
  });

  it('every event carries actor and an ISO `at`', () => {
    for (const event of history) {
      expect(typeof event.data.actor).toBe('string');
      expect(new Date(event.data.at).toISOString()).toBe(event.data.at);
    }
  });

  it('keeps the tripped incident for handlers', () => {
    const state = foldEvents(decider, history.slice(0, 4));
    expect(state.incident).toEqual({
      id: 'inc-00000001',
      timestamp: at(0.2),
      severity: 'P1',
      trigger: 'drift',
      reason: 'Drift exceeded threshold: 0.3000 > 0.2',
      drift_score: 0.3,
      sample_count: 1,
      details: {},
    });
    expect(state.ttl_hours).toBe(24);
  });

  it('an unknown stored event stops the replay', () => {
    const bogus = { type: 'Bogus', data: { at: T0, actor: 'x' } } as unknown as BreakerEvent;
    expect(() => evolveBreaker(decider.initialState(), bogus)).toThrow(UnknownBreakerEventError);
  });

  it('toSnapshot keeps only the public fields', () => {
    expect(Object.keys(toSnapshot(foldEvents(decider, history))).sort()).toEqual(
      [
        'consecutive_failures',
        'disabled_by',
        'disabled_reason',
        'disabled_until',
        'incident_id',
        'last_failure_at',
        'opened_at',
        'updated_at',
        'version',
        'open',
      ].sort(),
    );
  });
});

describe('effective view (read path)', () => {
  const open = foldEvents(
    decider,
    historyOf(decider, [
      { type: 'DisableBreaker', reason: 'x', actor: 'a', ttl_hours: 2, incident_id: 'inc-00000001', now: T0 },
    ]),
  );

  it('open before disabled_until', () => {
    expect(isOpenAt(open, at(1.99), defaultBreakerPolicy)).toBe(true);
    expect(stateAt(open, at(1.99), defaultBreakerPolicy)).toMatchObject({
      open: true,
      recovery_pending: false,
    });
  });

  it('closed as soon as disabled_until ≤ now, before any recovery is written; version unchanged', () => {
    expect(isOpenAt(open, at(2), defaultBreakerPolicy)).toBe(false);
    expect(stateAt(open, new Date(at(3)), defaultBreakerPolicy)).toEqual({
      open: false,
      disabled_by: null,
      disabled_reason: null,
      disabled_until: null,
      incident_id: null,
      consecutive_failures: 0,
      last_failure_at: null,
      opened_at: null,
      updated_at: T0,
      version: 1,
      recovery_pending: true,
    });
  });

  it('the view matches the state the recovery then writes (except version/updated_at)', () => {
    const events = decider.decide({ type: 'RecoverExpiredBreaker', now: at(3) }, open);
    const after = foldEvents(decider, [
      ...historyOf(decider, [
        {
          type: 'DisableBreaker',
          reason: 'x',
          actor: 'a',
          ttl_hours: 2,
          incident_id: 'inc-00000001',
          now: T0,
        },
      ]),
      ...events,
    ]);
    const {
      version: _v,
      updated_at: _u,
      recovery_pending: _r,
      ...view
    } = stateAt(open, at(3), defaultBreakerPolicy);
    const { version: _v2, updated_at: _u2, ...stored } = toSnapshot(after);
    expect(view).toEqual(stored);
  });

  it('a permanent disable stays open', () => {
    const permanent = foldEvents(
      decider,
      historyOf(decider, [
        {
          type: 'DisableBreaker',
          reason: 'x',
          actor: 'a',
          ttl_hours: 0,
          incident_id: 'inc-00000001',
          now: T0,
        },
      ]),
    );
    expect(isOpenAt(permanent, at(1e6), defaultBreakerPolicy)).toBe(true);
  });

  it('with autoRecover off an expired TTL still reads open', () => {
    expect(isOpenAt(open, at(3), { autoRecover: false })).toBe(true);
  });
});

describe('summarizeDecision', () => {
  it('no events → nothing changed', () => {
    expect(summarizeDecision([])).toEqual({ changed: false, tripped: false, incident_id: null });
  });

  it('observations alone are not a change; a suppressed trip is not a trip', () => {
    const noAuto = createBreakerDecider({ ...defaultBreakerPolicy, autoDisable: false });
    const events = historyOf(noAuto, commands.slice(0, 3));
    expect(events.map((e) => e.type)).toContain('DriftTripSuppressed');
    expect(summarizeDecision(events)).toEqual({ changed: false, tripped: false, incident_id: null });
  });

  it('a manual trip is changed but not tripped', () => {
    expect(summarizeDecision(historyOf(decider, [commands[3]!]))).toEqual({
      changed: true,
      tripped: false,
      incident_id: 'inc-00000002',
    });
  });
});

describe('stream names', () => {
  it('global and tenant-scoped', () => {
    expect(breakerStreamName('costsim_v2', null)).toBe('breaker-costsim_v2');
    expect(breakerStreamName('costsim_v2', 'tenant-a')).toBe('breaker-costsim_v2@tenant-a');
  });

  it('parse is the inverse', () => {
    expect(parseBreakerStreamName('breaker-costsim_v2')).toEqual({ name: 'costsim_v2', tenant_id: null });
    expect(parseBreakerStreamName('breaker-costsim_v2@t@x')).toEqual({
      name: 'costsim_v2',
      tenant_id: 't@x',
    });
    expect(parseBreakerStreamName('provenance-1')).toBeNull();
    expect(parseBreakerStreamName('breaker-')).toBeNull();
  });
});
