import { initialBreakerState } from '../../../src/domain/breaker';
import { breakerStateView } from '../../../src/projections/breaker/breakerViews';
import { defaultBreakerPolicy } from '../../../src/domain/breaker';
import { driftChart } from '../../../src/projections/status/driftChart';
import { escapeHtml, html, raw } from '../../../src/projections/status/html';
import { remaining, statusFragment } from '../../../src/projections/status/statusHtml';
import type { StatusSnapshot } from '../../../src/projections/status/statusSnapshot';
import { toStreamedChange, visibleTo } from '../../../src/projections/status/eventStreamRoute';
import type { Principal } from '../../../src/infra/http/auth';
import type { StoredEvent } from '../../../src/infra/eventStore/eventStore';

const now = new Date('2026-01-01T12:00:00.000Z');

function snapshot(overrides: Partial<StatusSnapshot> = {}): StatusSnapshot {
  const open = {
    ...breakerStateView('costsim_v2', null, initialBreakerState(), now, defaultBreakerPolicy),
    open: true,
    disabled_by: 'ops',
    disabled_reason: '<img src=x onerror=alert(1)>',
    disabled_until: '2026-01-01T14:05:03.000Z',
    incident_id: 'inc-1',
    version: 4,
    incident: null,
  };
  return {
    position: { transactionId: '10', globalPosition: 42 },
    generated_at: now.toISOString(),
    viewer: { key_id: 'admin', tenant_id: null, admin: true },
    gate: { trusted: true, reasons: [] },
    breakers: [open],
    transitions: [],
    drift: {
      from: new Date(+now - 3600_000).toISOString(),
      to: now.toISOString(),
      threshold: 0.2,
      buckets: [],
      stats: {
        total: 0,
        avg_delta: null,
        min_delta: null,
        max_delta: null,
        stddev_delta: null,
        p50_delta: null,
        p90_delta: null,
        p99_delta: null,
      },
    },
    canary: { available: false, reports: [] },
    alerts: { pending: 1, sent: 2, failed: 0, oldest_pending: null },
    ...overrides,
  };
}

describe('status page HTML', () => {
  test('interpolated text is escaped; raw() is not', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(html`<p>${'<b>'}${raw('<i>')}${[1, 2]}${null}${false}</p>`.html).toBe('<p>&lt;b&gt;<i>12</p>');
  });

  test('a breaker row carries its id, version and state, with a reason that cannot inject markup', () => {
    const out = statusFragment(snapshot(), { actions: true }).html;
    expect(out).toContain('id="breaker-costsim_v2~"');
    expect(out).toContain('data-version="4"');
    expect(out).toContain('data-open="true"');
    expect(out).toContain('data-position="42"');
    expect(out).not.toContain('<img');
    expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(out).toContain('2h 5m 3s left');
    expect(out).toContain('data-action="enable"');
    expect(out).toContain('no canary reports');
  });

  test('no admin buttons for the read-only view or a key without admin', () => {
    expect(statusFragment(snapshot(), { actions: false }).html).not.toContain('data-action');
    const reader = snapshot({ viewer: { key_id: 'r', tenant_id: null, admin: false } });
    expect(statusFragment(reader, { actions: true }).html).not.toContain('data-action');
  });

  test('canary reports are listed when the table has rows', () => {
    const s = snapshot({
      canary: { available: true, reports: [{ run_id: 'run-7', status: 'completed', passed: false }] },
    });
    const out = statusFragment(s, { actions: false }).html;
    expect(out).toContain('run-7');
    expect(out).not.toContain('no canary reports');
  });

  test('countdowns', () => {
    expect(remaining('2026-01-01T12:00:05.000Z', now)).toBe('5s left');
    expect(remaining('2026-01-01T12:01:05.000Z', now)).toBe('1m 5s left');
    expect(remaining('2026-01-01T11:00:00.000Z', now)).toBe('expired');
  });

  test('the drift chart plots the buckets inside its frame and draws the threshold', () => {
    const svg = driftChart(
      [
        { at: '2026-01-01T11:30:00.000Z', count: 3, avg_drift: 0.1, max_drift: 0.5 },
        { at: '2026-01-01T11:59:00.000Z', count: 1, avg_drift: 0.3, max_drift: 0.3 },
      ],
      { from: new Date(+now - 3600_000), to: now },
      0.2,
    ).html;
    expect(svg).toContain('<svg');
    const avg = /class="drift-avg"\s+points="([^"]+)"/.exec(svg)![1]!.split(' ');
    expect(avg).toHaveLength(2);
    for (const point of avg) {
      const [x, y] = point.split(',').map(Number);
      expect(x).toBeGreaterThanOrEqual(36);
      expect(x).toBeLessThanOrEqual(592);
      expect(y).toBeGreaterThanOrEqual(8);
      expect(y).toBeLessThanOrEqual(138);
    }
    expect(svg).toContain('stroke="#c62828"');
    expect(driftChart([], { from: new Date(+now - 3600_000), to: now }, 0.2).html).toContain(
      'no drift scores in the last hour',
    );
  });
});

describe('event stream visibility', () => {
  const event = (streamName: string, type: string, data: Record<string, unknown> = {}): StoredEvent => ({
    eventId: 'e',
    streamName,
    streamVersion: 1,
    type,
    data,
    metadata: {},
    globalPosition: 9,
    transactionId: '5',
    recordedAt: now,
  });
  const principal = (tenant: string | null, scopes: Principal['scopes'] = new Set(['read'])): Principal => ({
    keyId: 'k',
    keyTenant: tenant,
    scopes,
    tenantId: tenant,
  });
  const global = toStreamedChange(event('breaker-costsim_v2', 'BreakerTripped'));
  const tenantA = toStreamedChange(event('breaker-costsim_v2@tenant-a', 'BreakerTripped'));
  const tenantB = toStreamedChange(event('breaker-costsim_v2@tenant-b', 'BreakerTripped'));
  const declared = toStreamedChange(
    event('breaker_declaration-checkout', 'BreakerDeclared', { name: 'checkout' }),
  );
  const alert = toStreamedChange(event('alert_delivery-x', 'AlertDelivered'));

  test('a change names its breaker and tenant', () => {
    expect(tenantA).toMatchObject({
      breaker: 'costsim_v2',
      tenant_id: 'tenant-a',
      position: 9,
      stream_version: 1,
    });
    expect(declared).toMatchObject({ breaker: 'checkout', tenant_id: null });
    expect(alert).toMatchObject({ breaker: null, tenant_id: null });
  });

  test('a tenant sees its own breakers, the global ones and declarations; never alert deliveries', () => {
    const a = principal('tenant-a');
    expect([global, tenantA, tenantB, declared, alert].map((c) => visibleTo(a, c))).toEqual([
      true,
      true,
      false,
      true,
      false,
    ]);
  });

  test('a global reader sees every breaker; alert deliveries need a global admin key', () => {
    expect([global, tenantA, tenantB, alert].map((c) => visibleTo(principal(null), c))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(visibleTo(principal(null, new Set(['admin'])), alert)).toBe(true);
  });
});
