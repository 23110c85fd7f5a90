import {
  assertFiring,
  driftWarningAlert,
  firingBreakerAlert,
  resolvedBreakerAlerts,
  retryDelaySeconds,
} from '../../../src/domain/alerts/breakerAlerts';
import { renderQueuedAlert } from '../../../src/domain/alerts/renderQueuedAlert';
import type { BreakerTrippedData, DriftTripSuppressedData } from '../../../src/domain/breaker/breakerEvents';

const source = {
  instance: 'replica-1',
  publicUrl: 'https://guard.example/',
  runbookUrl: 'https://runbook.example/v2',
};
const trip: BreakerTrippedData = {
  actor: 'circuit_breaker',
  at: '2026-11-27T10:00:00.000Z',
  incident_id: 'inc123456789',
  severity: 'P1',
  trigger: 'drift',
  reason: 'Drift exceeded threshold: 0.3500 > 0.2',
  disabled_by: 'circuit_breaker',
  disabled_until: '2026-11-28T10:00:00.000Z',
  ttl_hours: 24,
  drift_score: 0.35,
  sample_count: 40,
  threshold: 0.2,
  failure_threshold: 3,
  error_count: null,
  failures_before: 2,
  failures_after: 0,
  details: {},
};
const tenantRef = { name: 'costsim_v2', tenant_id: 'acme' };

describe('breaker alerts (domain.md §4)', () => {
  test('a trip fires CostSimV2Disabled: identifying labels, variable text in annotations', () => {
    const firing = firingBreakerAlert(tenantRef, trip, source);
    expect(firing.labels).toEqual({
      alertname: 'CostSimV2Disabled',
      severity: 'p1',
      component: 'costsim',
      circuit_breaker: 'costsim_v2',
      tenant_id: 'acme',
      instance: 'replica-1',
    });
    expect(firing.annotations).toEqual({
      summary: 'CostSim V2 circuit breaker tripped (P1)',
      description:
        'Drift exceeded threshold: 0.3500 > 0.2. Drift score 0.35, sample count 40; disabled until ' +
        '2026-11-28T10:00:00.000Z. Tenant acme.',
      runbook_url: 'https://runbook.example/v2',
      incident_id: 'inc123456789',
    });
    expect(firing.startsAt).toBe(trip.at);
    expect(firing.generatorURL).toBe('https://guard.example/costsim/breakers/costsim_v2?tenant_id=acme');
  });

  test('a global breaker has no tenant label; a permanent disable says a manual reset is required', () => {
    const firing = firingBreakerAlert(
      { name: 'costsim_v2', tenant_id: null },
      { ...trip, disabled_until: null },
      source,
    );
    expect(firing.labels).not.toHaveProperty('tenant_id');
    expect(firing.annotations.description).toContain('manual reset required');
    expect(firing.generatorURL).toBe('https://guard.example/costsim/breakers/costsim_v2');
  });

  test('re-assertion keeps the labels and startsAt and moves endsAt four intervals past now', () => {
    const firing = firingBreakerAlert(tenantRef, trip, source);
    const alert = assertFiring(firing, new Date('2026-11-27T11:00:00.000Z'), 60);
    expect(alert.labels).toBe(firing.labels);
    expect(alert.startsAt).toBe(trip.at);
    expect(alert.endsAt).toBe('2026-11-27T11:04:00.000Z');
  });

  test('closing resolves with the same labels (endsAt = closing time) and adds CostSimV2Reenabled', () => {
    const firing = firingBreakerAlert(tenantRef, trip, source);
    const closed = {
      at: '2026-11-27T12:00:00.000Z',
      resolved_by: 'ops',
      resolution_notes: 'Fixed the issue',
    };
    // Sent a minute after the closing (a delivery retried): still active when Alertmanager receives it.
    const sentAt = new Date('2026-11-27T12:01:00.000Z');
    const [resolve, info] = resolvedBreakerAlerts(tenantRef, firing, closed, source, sentAt);
    expect(resolve).toMatchObject({ labels: firing.labels, startsAt: trip.at, endsAt: closed.at });
    expect(info!.labels).toMatchObject({
      alertname: 'CostSimV2Reenabled',
      severity: 'info',
      tenant_id: 'acme',
    });
    // docs/domain.md §4: startsAt = now, endsAt = now + 5 min (an alert that arrives resolved is never notified).
    expect(info!.startsAt).toBe('2026-11-27T12:01:00.000Z');
    expect(info!.endsAt).toBe('2026-11-27T12:06:00.000Z');
    expect(Date.parse(info!.endsAt!)).toBeGreaterThan(Date.parse(info!.startsAt));
    expect(info!.annotations).toMatchObject({
      description: 'Re-enabled by ops at 2026-11-27T12:00:00.000Z: Fixed the issue',
      reenabled_at: closed.at,
    });
  });

  test('a queued disable for an incident that has closed meanwhile goes out resolved, not firing', () => {
    const facts = { breaker: 'costsim_v2', tenant_id: 'acme', instance: 'replica-0', trip, closed: null };
    const now = new Date('2026-11-27T10:00:05.000Z');
    const [open] = renderQueuedAlert('disable', facts, source, now, 60);
    expect(open!.endsAt).toBe('2026-11-27T10:04:05.000Z');
    expect(open!.labels.instance).toBe('replica-0'); // the replica that opened the incident, not this one
    const closed = { at: '2026-11-27T10:00:03.000Z', resolved_by: 'ops', resolution_notes: 'Manual reset' };
    const [late] = renderQueuedAlert('disable', { ...facts, closed }, source, now, 60);
    expect(late!.endsAt).toBe(closed.at);
    expect(() => renderQueuedAlert('enable', facts, source, now, 60)).toThrow(/cannot render/);
  });

  test('auto-disable off: a P2 drift warning that lapses after four intervals', () => {
    const drift: DriftTripSuppressedData = {
      actor: 'sandbox',
      at: '2026-11-27T10:00:00.000Z',
      severity: 'P2',
      reason: 'Drift exceeded threshold: 0.4200 > 0.2',
      drift_score: 0.42,
      threshold: 0.2,
      failure_threshold: 3,
      sample_count: 10,
      details: {},
      failures_before: 2,
      failures_after: 0,
    };
    const alert = driftWarningAlert(tenantRef, drift, 'replica-2', source, 60);
    expect(alert.labels).toMatchObject({
      alertname: 'CostSimV2DriftWarning',
      severity: 'p2',
      instance: 'replica-2',
    });
    expect(alert.annotations.description).toContain('3 consecutive reports over 0.2');
    expect(alert.endsAt).toBe('2026-11-27T10:04:00.000Z');
  });

  test('retries wait min(2^attempts, 300) seconds', () => {
    expect([0, 1, 2, 3, 8, 9, 10, 20].map(retryDelaySeconds)).toEqual([1, 2, 4, 8, 256, 300, 300, 300]);
  });
});
