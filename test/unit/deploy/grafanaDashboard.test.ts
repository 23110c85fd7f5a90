import { readFileSync } from 'node:fs';
import { costsimGuardDashboardJson } from '../../../deploy/grafana/costsimGuardDashboard';
import {
  DASHBOARD_FILE,
  dashboardQueries,
  parsePromql,
  withGrafanaVariables,
} from '../../support/monitoringQueries';

/**
 * The dashboard as code (deploy/grafana): the committed JSON is exactly what `npm run dashboards` writes,
 * every query is valid PromQL on costsim metrics, and the layout is one Grafana can show. Whether each
 * query returns data from the real service is test/e2e/monitoring/prometheusQueries.test.ts.
 */
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
}
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; panels: Panel[] };
const panels = dashboard.panels.filter((p) => p.type !== 'row');

test('the committed deploy/grafana/costsim-guard.json is what `npm run dashboards` generates', () => {
  // On failure: run `npm run dashboards` and commit the JSON with the code change.
  expect(readFileSync(DASHBOARD_FILE, 'utf8')).toBe(costsimGuardDashboardJson());
});

test('every query is valid PromQL (Prometheus grammar) and reads costsim metrics only', () => {
  const queries = dashboardQueries();
  expect(queries.length).toBeGreaterThan(30);
  for (const q of queries) {
    const parsed = parsePromql(withGrafanaVariables(q.expr));
    expect({ panel: q.panel, expr: q.expr, errors: parsed.errors }).toEqual({
      panel: q.panel,
      expr: q.expr,
      errors: [],
    });
    expect(parsed.metrics.length).toBeGreaterThan(0);
    for (const metric of parsed.metrics) expect(metric).toMatch(/^costsim_/);
  }
});

test('what issue #12 asks to see has a panel', () => {
  const metrics = new Set(
    dashboardQueries().flatMap((q) => parsePromql(withGrafanaVariables(q.expr)).metrics),
  );
  for (const wanted of [
    'costsim_v2_circuit_breaker_state', // breaker state per breaker
    'costsim_cb_incidents_total', // trips by severity
    'costsim_v2_drift_score_bucket', // drift score distribution
    'costsim_v2_comparison_verdict_total', // verdict mix
    'costsim_http_request_duration_seconds_bucket', // simulate latency
    'costsim_alert_queue', // alert queue
    'costsim_alerts_delivered_total', // delivery
    'costsim_projector_lag_seconds', // projector lag
    'costsim_v2_canary_runs_total', // canary results
  ]) {
    expect(metrics).toContain(wanted);
  }
});

test('every panel queries the dashboard datasource variable; ids are unique; the grid holds', () => {
  expect(dashboard.uid).toBe('costsim-guard');
  for (const p of panels) {
    expect({ title: p.title, datasource: p.datasource }).toEqual({
      title: p.title,
      datasource: { type: 'prometheus', uid: '${datasource}' },
    });
    expect(p.targets?.length).toBeGreaterThan(0);
    for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe('${datasource}');
  }
  const ids = dashboard.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
  // 24 columns; no two panels overlap.
  for (const p of dashboard.panels) expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
  for (const a of dashboard.panels) {
    for (const b of dashboard.panels) {
      if (a === b) continue;
      const overlap =
        a.gridPos.x < b.gridPos.x + b.gridPos.w &&
        b.gridPos.x < a.gridPos.x + a.gridPos.w &&
        a.gridPos.y < b.gridPos.y + b.gridPos.h &&
        b.gridPos.y < a.gridPos.y + a.gridPos.h;
      expect({ a: a.title, b: b.title, overlap }).toEqual({ a: a.title, b: b.title, overlap: false });
    }
  }
});
