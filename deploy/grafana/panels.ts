import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/**
 * The few panel shapes the CostSim guard dashboard uses, on the Grafana Foundation SDK's builders. Every
 * query goes to the dashboard's `datasource` variable, so the same JSON works with any Prometheus
 * data source (provisioned or picked by hand).
 */
export const DATASOURCE_VARIABLE = 'datasource';
const datasource: dashboard.DataSourceRef = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };

/** One PromQL query of a panel: the expression and its legend. */
export interface Query {
  expr: string;
  legend: string;
  /** heatmap: the buckets of one histogram, `le` as the y axis. */
  format?: 'heatmap';
  /** One value (the end of the range), for stat panels. */
  instant?: boolean;
}

function target(q: Query, index: number): prometheus.DataqueryBuilder {
  const b = new prometheus.DataqueryBuilder()
    .refId(String.fromCharCode(65 + index))
    .datasource(datasource)
    .expr(q.expr)
    .legendFormat(q.legend);
  if (q.format === 'heatmap') b.format(prometheus.PromQueryFormat.Heatmap);
  if (q.instant) b.instant();
  return b;
}

const legendBelow = () =>
  new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(common.LegendDisplayMode.List)
    .placement(common.LegendPlacement.Bottom);

const thresholdSteps = (steps: dashboard.Threshold[]) =>
  new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps);

export interface PanelOptions {
  title: string;
  description: string;
  queries: Query[];
  unit?: string;
  /** Panel width in grid columns (24 = full row); 12 by default. */
  width?: number;
}

/** What every panel builder of the SDK has: the parts all panels here share. */
interface PanelBuilderBase {
  title(title: string): this;
  description(description: string): this;
  datasource(datasource: dashboard.DataSourceRef): this;
  span(span: number): this;
  withTarget(target: prometheus.DataqueryBuilder): this;
}

/** Title, description, data source, width and queries (each shaped by `shape`) on any panel builder. */
function withBasics<B extends PanelBuilderBase>(
  b: B,
  o: PanelOptions,
  width: number,
  shape: Partial<Query> = {},
): B {
  b.title(o.title)
    .description(o.description)
    .datasource(datasource)
    .span(o.width ?? width);
  o.queries.forEach((q, i) => b.withTarget(target({ ...q, ...shape }, i)));
  return b;
}

export interface TimeseriesOptions extends PanelOptions {
  bars?: boolean;
  /** Stack the series to 100 %: shares rather than rates. */
  percentStack?: boolean;
  /** A red dashed line from this value up (an alert rule's threshold). */
  limit?: number;
  min?: number;
}

export function timeseriesPanel(o: TimeseriesOptions): timeseries.PanelBuilder {
  const b = withBasics(new timeseries.PanelBuilder(), o, 12)
    .unit(o.unit ?? 'short')
    .legend(legendBelow())
    .lineWidth(1)
    .fillOpacity(o.bars || o.percentStack ? 80 : 10);
  if (o.min !== undefined) b.min(o.min);
  if (o.bars) b.drawStyle(common.GraphDrawStyle.Bars);
  if (o.percentStack) b.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Percent));
  if (o.limit !== undefined) {
    b.thresholds(
      thresholdSteps([
        { value: null, color: 'green' },
        { value: o.limit, color: 'red' },
      ]),
    ).thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    );
  }
  return b;
}

/** Value → text and colour (e.g. 0 closed / 1 open). */
export type StateNames = Record<string, { text: string; color: string }>;

const valueMappings = (names: StateNames): dashboard.ValueMapping[] => [
  { type: dashboard.MappingType.ValueToText, options: names },
];

export interface StatOptions extends PanelOptions {
  names?: StateNames;
  /** Thresholds from low to high: [value, colour] (the first applies from -∞). */
  steps?: Array<[number | null, string]>;
  /** Shown when the query returns nothing. */
  noValue?: string;
}

export function statPanel(o: StatOptions): stat.PanelBuilder {
  const b = withBasics(new stat.PanelBuilder(), o, 6, { instant: true })
    .unit(o.unit ?? 'short')
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']));
  if (o.names) b.mappings(valueMappings(o.names));
  if (o.steps) b.thresholds(thresholdSteps(o.steps.map(([value, color]) => ({ value, color }))));
  if (o.noValue !== undefined) b.noValue(o.noValue);
  return b;
}

export interface StateTimelineOptions extends PanelOptions {
  names: StateNames;
}

export function stateTimelinePanel(o: StateTimelineOptions): statetimeline.PanelBuilder {
  return withBasics(new statetimeline.PanelBuilder(), o, 12)
    .mappings(valueMappings(o.names))
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true)
    .legend(legendBelow())
    .fillOpacity(80);
}

/** A histogram's buckets over time; Grafana reads `le` as the y axis (the query's format is heatmap). */
export function heatmapPanel(o: PanelOptions): heatmap.PanelBuilder {
  return withBasics(new heatmap.PanelBuilder(), o, 12, { format: 'heatmap' }).calculate(false).showLegend();
}
