import type pg from 'pg';
import { type BreakerPolicy, breakerId, breakerStream, initialBreakerState } from '../../domain/breaker';
import type { Checkpoint, EventStore } from '../../infra/eventStore/eventStore';
import { type Principal, readableTenant } from '../../infra/http/auth';
import type { AlertQueries, AlertStats } from '../alerts/alertQueries';
import type { BreakerQueries } from '../breaker/breakerQueries';
import {
  type BreakerStateView,
  type IncidentView,
  breakerStateView,
  unresolvedIncidentView,
} from '../breaker/breakerViews';
import type { DriftBucket, DriftStats, ProvenanceQueries } from '../provenance/provenanceQueries';
import { type CanaryReports, latestCanaryReports } from './canaryReports';

/** Breaker event types that change a breaker's state: the "transitions" of the page. */
export const TRANSITION_TYPES: ReadonlySet<string> = new Set([
  'BreakerTripped',
  'BreakerDisableAmended',
  'BreakerEnabled',
  'BreakerAutoRecovered',
  'DriftTripSuppressed',
]);

export interface Transition {
  position: number;
  breaker: string;
  tenant_id: string | null;
  type: string;
  recorded_at: string;
  /** The event's data: the inputs that decided the transition (score, thresholds, counters, actor). */
  data: Record<string, unknown>;
}

export interface StatusSnapshot {
  /** The event-store position the snapshot was read from (the page's first Last-Event-ID). */
  position: Checkpoint;
  generated_at: string;
  /** Who is looking: a tenant sees its own breakers and the global ones. */
  viewer: { key_id: string; tenant_id: string | null; admin: boolean };
  gate: { trusted: boolean; reasons: string[] };
  breakers: Array<BreakerStateView & { incident: IncidentView | null }>;
  transitions: Transition[];
  drift: {
    from: string;
    to: string;
    threshold: number;
    buckets: DriftBucket[];
    stats: DriftStats;
  };
  canary: CanaryReports;
  alerts: AlertStats;
}

export interface StatusSources {
  pool: pg.Pool;
  store: EventStore;
  policy: BreakerPolicy;
  breakers: BreakerQueries;
  declarations: { list(): Promise<Array<{ name: string }>> };
  gate: { status(): { trusted: boolean; reasons: string[] } };
  provenance: ProvenanceQueries;
  alerts: AlertQueries;
  clock?: () => Date;
}

/** Events read per breaker for the transitions list (the newest ones; the history route reads them all). */
const RECENT_EVENTS_PER_BREAKER = 50;
const MAX_TRANSITIONS = 20;
/** Breakers whose recent events are read: the most recently changed ones. */
const MAX_BREAKERS_READ = 50;
const DRIFT_WINDOW_MS = 60 * 60 * 1000;
const DRIFT_BUCKET_SECONDS = 60;

/** Everything the status page shows, for one viewer, read at one moment. */
export async function readStatusSnapshot(src: StatusSources, viewer: Principal): Promise<StatusSnapshot> {
  // The position first: whatever the reads below see is at least this recent, so a stream that starts
  // from it misses no change the snapshot does not show.
  const position = await src.store.head();
  const now = (src.clock ?? (() => new Date()))();
  const scope = readableTenant(viewer);
  const tenant = scope ?? undefined;
  const [listed, declared] = await Promise.all([src.breakers.list(scope), src.declarations.list()]);
  const seen = new Set(listed.filter((b) => b.tenant_id === null).map((b) => b.name));
  const views = [
    ...listed,
    ...declared
      .filter((d) => !seen.has(d.name))
      .map((d) => breakerStateView(d.name, null, initialBreakerState(), now, src.policy)),
  ].sort((a, b) => a.name.localeCompare(b.name) || (a.tenant_id ?? '').localeCompare(b.tenant_id ?? ''));

  const recent = [...views]
    .filter((v) => v.version > 0)
    .sort((a, b) => (b.updated_at ?? '').localeCompare(a.updated_at ?? ''))
    .slice(0, MAX_BREAKERS_READ);
  const [eventsByBreaker, driftBuckets, driftStats, canary, alerts] = await Promise.all([
    Promise.all(
      recent.map(async (v) => ({
        view: v,
        events: await src.store.readStream(breakerStream(breakerId(v.name, v.tenant_id)), {
          from: Math.max(1, v.version - RECENT_EVENTS_PER_BREAKER + 1),
        }),
      })),
    ),
    src.provenance.driftSeries(
      { ...(tenant !== undefined ? { tenant } : {}), from: new Date(+now - DRIFT_WINDOW_MS), to: now },
      DRIFT_BUCKET_SECONDS,
    ),
    src.provenance.driftStats(
      { ...(tenant !== undefined ? { tenant } : {}), from: new Date(+now - DRIFT_WINDOW_MS), to: now },
      'none',
    ),
    latestCanaryReports(src.pool, 5),
    src.alerts.stats(tenant),
  ]);

  const transitions: Transition[] = eventsByBreaker
    .flatMap(({ view, events }) =>
      events
        .filter((e) => TRANSITION_TYPES.has(e.type))
        .map((e) => ({
          position: e.globalPosition,
          breaker: view.name,
          tenant_id: view.tenant_id,
          type: e.type,
          recorded_at: e.recordedAt.toISOString(),
          data: e.data,
        })),
    )
    .sort((a, b) => b.recorded_at.localeCompare(a.recorded_at) || b.position - a.position)
    .slice(0, MAX_TRANSITIONS);

  // The open incident as its trip event recorded it (the events are the truth; cb_incidents may lag).
  const trips = new Map(
    eventsByBreaker.flatMap(({ events }) =>
      events
        .filter((e) => e.type === 'BreakerTripped')
        .map((e) => [String(e.data.incident_id), e.data] as const),
    ),
  );
  const breakers = await Promise.all(
    views.map(async (v) => {
      if (!v.open || v.incident_id === null) return { ...v, incident: null };
      const trip = trips.get(v.incident_id);
      if (trip) return { ...v, incident: incidentFromTrip(v, trip) };
      const { incidents } = await src.breakers.incidents(v.name, v.tenant_id, {
        includeResolved: false,
        limit: 1,
      });
      return { ...v, incident: incidents[0] ?? null };
    }),
  );

  const gate = src.gate.status();
  return {
    position,
    generated_at: now.toISOString(),
    viewer: {
      key_id: viewer.keyId,
      tenant_id: viewer.tenantId,
      admin: viewer.scopes.has('admin'),
    },
    gate: { trusted: gate.trusted, reasons: gate.reasons },
    breakers,
    transitions,
    drift: {
      from: new Date(+now - DRIFT_WINDOW_MS).toISOString(),
      to: now.toISOString(),
      threshold: src.policy.driftThreshold,
      buckets: driftBuckets,
      stats: driftStats,
    },
    canary,
    alerts,
  };
}

function incidentFromTrip(view: BreakerStateView, trip: Record<string, unknown>): IncidentView {
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return unresolvedIncidentView({
    id: String(trip.incident_id),
    breaker: view.name,
    tenant_id: view.tenant_id,
    timestamp: String(trip.at ?? view.opened_at ?? ''),
    reason: String(trip.reason ?? ''),
    severity: String(trip.severity ?? ''),
    drift_score: num(trip.drift_score),
    sample_count: num(trip.sample_count),
    details: (trip.details as Record<string, unknown> | null) ?? {},
  });
}
