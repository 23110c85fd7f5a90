import {
  type BreakerCommand,
  createBreakerDecider,
  defaultBreakerPolicy,
  isOpenAt,
  stateAt,
} from '../../../src/domain/breaker';
import { at, decider as plainDecider, disable } from './breakerFixtures';
import { givenWhenThen, historyOf } from './givenWhenThen';

/**
 * The recovery gate (COSTSIM_RECOVERY_REQUIRES_CANARY): an expired TTL half-opens the breaker (V2 still off),
 * a passing canary closes it, anything else keeps it open with the TTL extended; every step an event.
 */
const policy = { ...defaultBreakerPolicy, recoveryRequiresCanary: true };
const decider = createBreakerDecider(policy);
const { given } = givenWhenThen(decider);

const opened = historyOf(decider, [disable({ ttl_hours: 1 })]);
const recover = (hours: number): BreakerCommand => ({ type: 'RecoverExpiredBreaker', now: at(hours) });
const canary = (
  run_id: string,
  status: 'pass' | 'fail' | 'error' | 'skipped',
  hours = 2,
): BreakerCommand => ({
  type: 'ReportCanaryRun',
  run_id,
  status,
  failed_on_outliers_only: false,
  actor: 'canary',
  incident_id: 'inc-canary01',
  now: at(hours),
});

describe('recovery gate', () => {
  it('TTL passes → half-open: still open for every reader (the V2 gate fails closed), recorded with its reason', () => {
    const state = given(opened).state;
    expect(isOpenAt(state, at(2), policy)).toBe(true); // no early "closed" on the read path
    expect(stateAt(state, at(2), policy)).toMatchObject({ open: true, recovery_pending: false });
    const when = given(opened).when(recover(2));
    when.then([
      {
        type: 'BreakerHalfOpened',
        data: {
          incident_id: 'inc-00000001',
          expired_at: at(1),
          reason:
            'TTL expired: half-open, V2 stays off until a canary run passes (COSTSIM_RECOVERY_REQUIRES_CANARY)',
          actor: 'system-auto-recover',
          at: at(2),
        },
      },
    ]);
    expect(when.stateAfter()).toMatchObject({ open: true, half_open: true });
    // once: the next sweep decides nothing
    expect(
      given([...opened, ...when.events()])
        .when(recover(3))
        .events(),
    ).toEqual([]);
  });

  it('a passing canary closes it: the incident resolved by canary-recovery naming the run', () => {
    const history = [...opened, ...given(opened).when(recover(2)).events()];
    const when = given(history).when(canary('run-ok', 'pass'));
    const events = when.events();
    expect(events.map((e) => e.type)).toEqual(['CanaryRunObserved', 'BreakerEnabled']);
    expect(events[1]!.data).toMatchObject({
      resolved_by: 'canary-recovery',
      resolution_notes: 'Recovered: canary run run-ok passed after the TTL expired',
      incident_id: 'inc-00000001',
    });
    expect(when.stateAfter()).toMatchObject({ open: false, half_open: false });
  });

  it.each(['fail', 'skipped', 'error'] as const)(
    'a %s canary keeps it open with the TTL extended by COSTSIM_DISABLE_TTL_HOURS, the reason saying why',
    (status) => {
      const history = [...opened, ...given(opened).when(recover(2)).events()];
      const when = given(history).when(canary('run-x', status, 2));
      const events = when.events();
      expect(events.map((e) => e.type)).toEqual(['CanaryRunObserved', 'BreakerRecoveryDeferred']);
      expect(events[1]!.data).toEqual({
        incident_id: 'inc-00000001',
        run_id: 'run-x',
        run_status: status,
        reason: `Recovery blocked: canary run run-x ended ${status}; V2 stays off, TTL extended to ${at(26)}`,
        previous_disabled_until: at(1),
        disabled_until: at(26),
        ttl_hours: 24,
        actor: 'canary-recovery',
        at: at(2),
      });
      const after = when.stateAfter();
      expect(after).toMatchObject({ open: true, half_open: false, disabled_until: at(26) });
      expect(isOpenAt(after, at(25), policy)).toBe(true);
      // and when the extended TTL passes, it half-opens again
      const later = given([...history, ...events])
        .when(recover(27))
        .events();
      expect(later.map((e) => e.type)).toEqual(['BreakerHalfOpened']);
    },
  );

  it('gate off: TTL recovery unchanged (closed on the read path, BreakerAutoRecovered once)', () => {
    const plain = historyOf(plainDecider, [disable({ ttl_hours: 1 })]);
    const state = givenWhenThen(plainDecider).given(plain).state;
    expect(isOpenAt(state, at(2), defaultBreakerPolicy)).toBe(false);
    const events = givenWhenThen(plainDecider).given(plain).when(recover(2)).events();
    expect(events.map((e) => e.type)).toEqual(['BreakerAutoRecovered']);
  });
});
