import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LRParser } from '@lezer/lr';
import { parse } from 'yaml';

// An ES module with CommonJS build: required, since this file compiles to CommonJS (tsconfig node16).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parser } = require('@prometheus-io/lezer-promql') as { parser: LRParser };

/**
 * The PromQL of the monitoring files, read from the files themselves (never copied into tests): every
 * dashboard query of deploy/grafana/costsim-guard.json and every rule of
 * deploy/prometheus/costsim-guard.rules.yml; and PromQL taken apart with Prometheus's own grammar
 * (@prometheus-io/lezer-promql, the parser of Prometheus's web UI).
 */
export const REPO_ROOT = join(__dirname, '..', '..');
export const RULES_FILE = join(REPO_ROOT, 'deploy', 'prometheus', 'costsim-guard.rules.yml');
export const DASHBOARD_FILE = join(REPO_ROOT, 'deploy', 'grafana', 'costsim-guard.json');

export interface DashboardQuery {
  panel: string;
  refId: string;
  /** As written in the dashboard, Grafana variables and all. */
  expr: string;
}

interface PanelJson {
  title?: string;
  type?: string;
  panels?: PanelJson[];
  targets?: Array<{ refId?: string; expr?: string }>;
}

export function dashboardQueries(file = DASHBOARD_FILE): DashboardQuery[] {
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as { panels?: PanelJson[] };
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  return panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title ?? '?', refId: t.refId ?? '?', expr: t.expr ?? '' })),
  );
}

export interface AlertRule {
  group: string;
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function alertRules(file = RULES_FILE): AlertRule[] {
  const doc = parse(readFileSync(file, 'utf8')) as {
    groups: Array<{ name: string; rules: Array<Omit<AlertRule, 'group'> & { record?: string }> }>;
  };
  return doc.groups.flatMap((g) =>
    g.rules.map((r) => ({
      group: g.name,
      alert: r.alert ?? r.record ?? '?',
      expr: r.expr.trim(),
      ...(r.for ? { for: r.for } : {}),
      labels: r.labels ?? {},
      annotations: r.annotations ?? {},
    })),
  );
}

/**
 * Grafana's interval variables replaced by fixed windows, so Prometheus can evaluate a panel's query as
 * Grafana would send it. 1m covers at least four scrapes at any scrape interval up to 15 s.
 */
export function withGrafanaVariables(expr: string, window = '1m'): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, window);
}

export interface ParsedPromql {
  /** Error nodes in the syntax tree, with their position. */
  errors: string[];
  /** Every vector selector as written (`metric{label="v"}`), matrix selectors' inner ones included. */
  selectors: string[];
  /** The metric name of each selector. */
  metrics: string[];
}

export function parsePromql(expr: string): ParsedPromql {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}: "${expr.slice(node.from, node.to + 10)}"`);
      if (node.name === 'VectorSelector') selectors.push(expr.slice(node.from, node.to));
    },
  });
  const metrics = selectors.map((s) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(s)?.[0] ?? s);
  return { errors, selectors, metrics };
}

/** A histogram's series name (`x_bucket`, `x_sum`, `x_count`) → its family (`x`) when `x` is known. */
export function metricFamily(series: string, families: ReadonlySet<string>): string {
  const base = series.replace(/_(bucket|sum|count)$/, '');
  return base !== series && families.has(base) ? base : series;
}

/**
 * The costsim_* metric names the service's code registers (`name: 'costsim_…'` in src/, the one way
 * every metric here is declared with prom-client). Read at test-collection time, so tests of a metric
 * that this branch does not have yet are skipped by name; the e2e checks this list against the running
 * service's /metrics, so the scan cannot silently drift from what is exported.
 */
export function registeredMetricNames(root = join(REPO_ROOT, 'src')): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/\bname:\s*'(costsim_[a-z0-9_]+)'/g)) {
          names.add(m[1]!);
        }
      }
    }
  };
  walk(root);
  return names;
}
