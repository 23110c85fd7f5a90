import { type BreakerCommand, summarizeDecision } from '../../../src/domain/breaker';
import { T0, decider } from './breakerFixtures';
import { givenWhenThen, historyOf } from './givenWhenThen';

/** The canary's own threshold (docs/domain.md §6 fixes): consecutive failed runs trip at P2 naming the runs. */
const { given } = givenWhenThen(decider);

const canary = (
  run_id: string,
  status: 'pass' | 'fail' | 'error' | 'skipped',
  failed_on_outliers_only = false,
): BreakerCommand => ({
  type: 'ReportCanaryRun',
  run_id,
  status,
  failed_on_outliers_only,
  actor: 'canary',
  incident_id: 'inc-canary01',
  now: T0,
});
const drift = (score: number): BreakerCommand => ({
  type: 'ReportDrift',
  drift_score: score,
  actor: 'sandbox',
  incident_id: 'inc-drift001',
  now: T0,
});

describe('canary runs reported to the breaker', () => {
  it('three failed runs in a row trip at P2, the reason naming the run ids; the counter restarts', () => {
    const history = historyOf(decider, [canary('run-a', 'fail'), canary('run-b', 'fail')]);
    const when = given(history).when(canary('run-c', 'fail'));
    const events = when.events();
    expect(events.map((e) => e.type)).toEqual(['CanaryRunObserved', 'BreakerTripped']);
    expect(events[1]!.data).toMatchObject({
      severity: 'P2',
      trigger: 'canary',
      reason: 'Canary failed 3 consecutive runs (threshold 3): run-a, run-b, run-c',
      disabled_by: 'circuit_breaker',
      failure_threshold: 3,
      details: { canary_runs: ['run-a', 'run-b', 'run-c'] },
    });
    expect(when.stateAfter()).toMatchObject({
      open: true,
      consecutive_canary_failures: 0,
      canary_failed_runs: [],
    });
    expect(summarizeDecision(events)).toMatchObject({ tripped: true, incident_id: 'inc-canary01' });
  });

  it('a pass resets the canary counter; skipped and error are inconclusive (recorded, nothing changes)', () => {
    const history = historyOf(decider, [
      canary('run-a', 'fail'),
      canary('run-b', 'skipped'),
      canary('run-c', 'error'),
      canary('run-d', 'fail'),
    ]);
    const state = given(history).state;
    expect(state).toMatchObject({ consecutive_canary_failures: 2, canary_failed_runs: ['run-a', 'run-d'] });
    const when = given(history).when(canary('run-e', 'pass'));
    expect(when.events()[0]!.data).toMatchObject({ counted: true, failures_before: 2, failures_after: 0 });
    expect(when.stateAfter()).toMatchObject({ consecutive_canary_failures: 0, canary_failed_runs: [] });
  });

  it('the drift counter is never touched: a canary failing on outliers alone does not reset it, nor does a pass', () => {
    const history = historyOf(decider, [drift(0.5), drift(0.5)]);
    expect(given(history).state.consecutive_failures).toBe(2);
    const afterOutliers = given(history)
      .when(canary('run-o', 'fail', true))
      .stateAfter();
    expect(afterOutliers.consecutive_failures).toBe(2);
    const afterPass = given(history).when(canary('run-p', 'pass')).stateAfter();
    expect(afterPass.consecutive_failures).toBe(2);
    // and the third drift failure still trips at P1
    const third = given([...history, ...historyOf(decider, [canary('run-o', 'fail', true)])]).when(
      drift(0.5),
    );
    expect(third.events().map((e) => e.type)).toEqual(['DriftObserved', 'BreakerTripped']);
  });

  it('while open: recorded, not counted, never re-trips', () => {
    const history = historyOf(decider, [
      { type: 'DisableBreaker', reason: 'by hand', actor: 'ops', incident_id: 'inc-manual01', now: T0 },
    ]);
    const when = given(history).when(canary('run-x', 'fail'));
    expect(when.events()).toEqual([
      expect.objectContaining({
        type: 'CanaryRunObserved',
        data: expect.objectContaining({ counted: false, breaker_open: true, failures_after: 0 }),
      }),
    ]);
  });

  it('a bad run id or status is refused before anything is decided', () => {
    given([])
      .when({ ...canary('', 'fail') })
      .thenThrows(Error, 'breaker.invalid_canary_run');
    given([])
      .when({ ...canary('run', 'fail'), status: 'maybe' } as unknown as BreakerCommand)
      .thenThrows(Error, 'breaker.invalid_canary_run');
  });
});
