import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What `costsim_build_info` says about this process. */
export interface BuildInfo {
  version: string;
  commit: string;
  /** INSTANCE_ID: which replica this is. */
  replica: string;
}

/**
 * One registry per service instance (not prom-client's global one), so several instances can live in one
 * process (tests) without clashing. Feature slices register their own metrics on `registry`.
 *
 * No default labels: Prometheus adds `instance` (and `job`) to every scraped series itself, so a label of
 * ours by that name would collide with it (and be renamed `exported_instance`). Which replica a process
 * is, is said once, by `costsim_build_info{replica}`; join on it when a query needs it.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly appendDuration: Histogram;
  readonly appendedEvents: Counter;
  readonly projectorEvents: Counter<'projection'>;
  readonly projectorBatches: Counter<'projection'>;
  readonly projectorLagEvents: Gauge<'projection'>;
  readonly projectorLagSeconds: Gauge<'projection'>;
  readonly projectorLeader: Gauge;
  readonly projectorFailures: Counter<'projection'>;
  readonly projectorDeadLetters: Gauge<'projection'>;
  readonly projectorThreadUp: Gauge;
  readonly projectorThreadRestarts: Counter;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(build: BuildInfo = { version: 'unknown', commit: 'unknown', replica: 'unknown' }) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    new Gauge({
      name: 'costsim_build_info',
      help: 'Always 1: the version, commit, replica (INSTANCE_ID) and Node.js version of this process',
      labelNames: ['version', 'commit', 'replica', 'node_version'],
      registers,
    }).set({ ...build, node_version: process.version }, 1);
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
    // events_total / batches_total is the mean batch: what the adaptive window gathers under load.
    this.projectorBatches = new Counter({
      name: 'costsim_projector_batches_total',
      help: 'Batches the projector committed with events applied (one transaction each)',
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
    this.projectorThreadUp = new Gauge({
      name: 'costsim_projector_thread_up',
      help: "1 while this instance's projector thread runs (PROJECTOR_THREAD=worker; 0 after it ended, until restarted)",
      registers,
    });
    this.projectorThreadRestarts = new Counter({
      name: 'costsim_projector_thread_restarts_total',
      help: 'Times the projector thread ended unexpectedly and was restarted (its error is logged)',
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
