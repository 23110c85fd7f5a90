import { Registry } from 'prom-client';
import { registerBreakerCounters } from '../../../src/commands/breaker/breakerCommandService';

describe('breaker counters', () => {
  it('start every known series at 0, so increase() sees the first trip', async () => {
    const registry = new Registry();
    registerBreakerCounters(registry);
    const text = await registry.metrics();
    for (const severity of ['P1', 'P2', 'P3']) {
      expect(text).toContain(`costsim_cb_incidents_total{severity="${severity}"} 0`);
      for (const reason of ['manual', 'drift', 'schema_errors', 'canary'])
        expect(text).toContain(`costsim_cb_disabled_total{reason="${reason}",severity="${severity}"} 0`);
    }
    expect(text).toContain('costsim_cb_enabled_total{reason="manual"} 0');
    expect(text).toContain('costsim_cb_enabled_total{reason="auto_recover"} 0');
    expect(text).toContain('costsim_cb_auto_recovery_total 0');
  });

  it('count on from 0 after a trip', async () => {
    const registry = new Registry();
    const counters = registerBreakerCounters(registry);
    counters.disabled.inc({ reason: 'drift', severity: 'P1' });
    const text = await registry.metrics();
    expect(text).toContain('costsim_cb_disabled_total{reason="drift",severity="P1"} 1');
    expect(text).toContain('costsim_cb_disabled_total{reason="manual",severity="P1"} 0');
  });
});
