import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per service instance (not prom-client's global one), so several instances can live in one
 * process (tests) without clashing. Feature slices register their own metrics on `registry`.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly appendDuration: Histogram;
  readonly appendedEvents: Counter;
  readonly projectorEvents: Counter<'projection'>;
  readonly projectorLagEvents: Gauge<'projection'>;
  readonly projectorLagSeconds: Gauge<'projection'>;
  readonly projectorLeader: Gauge;
  readonly projectorFailures: Counter<'projection'>;
  readonly projectorDeadLetters: Gauge<'projection'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(defaultLabels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(defaultLabels);
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.appendDuration = new Histogram({
      name: 'costsim_eventstore_append_duration_seconds',
      help: 'Latency of one event-store append (one round trip)',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.appendedEvents = new Counter({
      name: 'costsim_eventstore_appended_events_total',
      help: 'Events appended by this instance',
      registers,
    });
    this.projectorEvents = new Counter({
      name: 'costsim_projector_events_total',
      help: 'Events applied by the projector (rate() gives events/s)',
      labelNames: ['projection'],
      registers,
    });
    this.projectorLagEvents = new Gauge({
      name: 'costsim_projector_lag_events',
      help: 'Committed events not yet applied to the projection',
      labelNames: ['projection'],
      registers,
    });
    this.projectorLagSeconds = new Gauge({
      name: 'costsim_projector_lag_seconds',
      help: 'Age of the oldest event not yet applied to the projection',
      labelNames: ['projection'],
      registers,
    });
    this.projectorFailures = new Counter({
      name: 'costsim_projector_failures_total',
      help: 'Failed attempts at a projection batch on this instance (rolled back and retried with back-off)',
      labelNames: ['projection'],
      registers,
    });
    this.projectorDeadLetters = new Gauge({
      name: 'costsim_projector_dead_letters',
      help: 'Events a projection parked as dead letters and no operator has resolved yet (all instances)',
      labelNames: ['projection'],
      registers,
    });
    this.projectorLeader = new Gauge({
      name: 'costsim_projector_leader',
      help: '1 while this instance runs the projector',
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'costsim_http_request_duration_seconds',
      help: 'HTTP request latency by route and status (_count counts requests)',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }
}
