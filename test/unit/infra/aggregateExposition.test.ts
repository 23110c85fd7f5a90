import { aggregateSensitiveLabels } from '../../../src/infra/metrics/aggregateExposition';

test('tenant and breaker labels are dropped and the series that then coincide are summed', () => {
  const text = [
    '# HELP costsim_v2_circuit_breaker_state 1 when open',
    '# TYPE costsim_v2_circuit_breaker_state gauge',
    'costsim_v2_circuit_breaker_state{breaker="a",tenant_id=""} 1',
    'costsim_v2_circuit_breaker_state{breaker="b",tenant_id="acme"} 1',
    'costsim_v2_circuit_breaker_state{breaker="c",tenant_id="x\\"y"} 0',
    'costsim_alerts_delivered_total{alert_type="disable"} 4',
    'costsim_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/x",status="200"} 3',
    'process_cpu_seconds_total 0.5',
  ].join('\n');
  expect(aggregateSensitiveLabels(text).split('\n')).toEqual([
    '# HELP costsim_v2_circuit_breaker_state 1 when open',
    '# TYPE costsim_v2_circuit_breaker_state gauge',
    'costsim_v2_circuit_breaker_state 2',
    'costsim_alerts_delivered_total{alert_type="disable"} 4',
    'costsim_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/x",status="200"} 3',
    'process_cpu_seconds_total 0.5',
  ]);
});
