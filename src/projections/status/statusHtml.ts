import { type RawHtml, html } from './html';
import { driftChart } from './driftChart';
import type { StatusSnapshot, Transition } from './statusSnapshot';

/** The id of a breaker's row: stable across renders (focus and live updates find it again). */
export const breakerRowId = (name: string, tenantId: string | null) => `breaker-${name}~${tenantId ?? ''}`;

const fmt = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(digits);

/** "2h 5m 3s": what a countdown shows (the page's script keeps it ticking). */
export function remaining(until: string, now: Date): string {
  const ms = Date.parse(until) - +now;
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return `${h > 0 ? `${h}h ` : ''}${h > 0 || m > 0 ? `${m}m ` : ''}${sec}s left`;
}

const time = (iso: string | null) => (iso ? html`<time datetime="${iso}">${iso}</time>` : '–');

export interface FragmentOptions {
  /** Admin buttons (they need the page's script; the no-JS view is read-only). */
  actions: boolean;
}

function breakersSection(s: StatusSnapshot, opts: FragmentOptions): RawHtml {
  const now = new Date(s.generated_at);
  const actions = opts.actions && s.viewer.admin;
  return html`<section aria-labelledby="h-breakers">
    <h2 id="h-breakers">Breakers</h2>
    <table class="breakers">
      <thead>
        <tr>
          <th scope="col">Breaker</th>
          <th scope="col">Tenant</th>
          <th scope="col">State</th>
          <th scope="col">Reason</th>
          <th scope="col">TTL</th>
          <th scope="col">Open incident</th>
          <th scope="col">Failures</th>
          <th scope="col">Version</th>
          ${actions ? html`<th scope="col">Action</th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${s.breakers.map((b) => {
          const id = breakerRowId(b.name, b.tenant_id);
          const incident = b.incident;
          return html`<tr
            id="${id}"
            data-breaker="${b.name}"
            data-tenant="${b.tenant_id ?? ''}"
            data-version="${b.version}"
            data-open="${String(b.open)}"
          >
            <th scope="row">${b.name}</th>
            <td>${b.tenant_id ?? 'global'}</td>
            <td>
              <span class="state ${b.open ? 'open' : 'closed'}">${b.open ? 'open (V2 off)' : 'closed'}</span
              >${b.disabled_by ? html` <span class="by">by ${b.disabled_by}</span>` : ''}
            </td>
            <td>${b.disabled_reason ?? '–'}</td>
            <td>
              ${b.open ? (b.disabled_until ? html`<time datetime="${b.disabled_until}" data-countdown="">${remaining(b.disabled_until, now)}</time>` : 'until enabled') : '–'}
            </td>
            <td>
              ${incident ? html`<span class="sev">${incident.severity}</span> ${incident.reason}${incident.drift_score !== null ? html` (drift ${fmt(incident.drift_score)})` : ''} <small>${incident.id}</small>` : '–'}
            </td>
            <td>${b.consecutive_failures}</td>
            <td>${b.version}</td>
            ${actions ? html`<td><button type="button" id="action-${id}" data-action="${b.open ? 'enable' : 'disable'}" data-breaker="${b.name}" data-tenant="${b.tenant_id ?? ''}">${b.open ? 'Enable…' : 'Disable…'}</button></td>` : ''}
          </tr>`;
        })}
      </tbody>
    </table>
  </section>`;
}

/** The inputs of a transition worth showing, in the order a reader wants them. */
const INPUT_FIELDS = [
  'trigger',
  'severity',
  'reason',
  'drift_score',
  'threshold',
  'failure_threshold',
  'failures_before',
  'failures_after',
  'error_count',
  'sample_count',
  'ttl_hours',
  'disabled_until',
  'previous_reason',
  'resolution_notes',
  'expired_at',
  'incident_id',
];

function inputs(t: Transition): RawHtml {
  const shown = INPUT_FIELDS.filter((f) => t.data[f] !== undefined && t.data[f] !== null);
  return html`<dl class="inputs">
    ${shown.map(
      (f) =>
        html`<dt>${f}</dt>
          <dd>${typeof t.data[f] === 'object' ? JSON.stringify(t.data[f]) : String(t.data[f])}</dd>`,
    )}
  </dl>`;
}

function transitionsSection(s: StatusSnapshot): RawHtml {
  return html`<section aria-labelledby="h-transitions">
    <h2 id="h-transitions">Recent transitions</h2>
    ${
      s.transitions.length === 0
        ? html`<p>No transitions yet.</p>`
        : html`<table class="transitions">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Breaker</th>
                <th scope="col">Transition</th>
                <th scope="col">Actor</th>
                <th scope="col">Inputs that decided it</th>
              </tr>
            </thead>
            <tbody>
              ${s.transitions.map(
                (t) =>
                  html`<tr data-position="${t.position}">
                    <td>${time(t.recorded_at)}</td>
                    <td>${t.breaker}${t.tenant_id ? html` <small>(${t.tenant_id})</small>` : ''}</td>
                    <td>${t.type}</td>
                    <td>${String(t.data.actor ?? '–')}</td>
                    <td>${inputs(t)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

function driftSection(s: StatusSnapshot): RawHtml {
  const d = s.drift;
  return html`<section aria-labelledby="h-drift">
    <h2 id="h-drift">Drift, last hour</h2>
    ${driftChart(d.buckets, { from: new Date(d.from), to: new Date(d.to) }, d.threshold)}
    <p class="drift-stats">
      ${d.stats.total} records with both costs; cost delta avg ${fmt(d.stats.avg_delta)}, p90
      ${fmt(d.stats.p90_delta)}, max ${fmt(d.stats.max_delta)}; ${d.buckets.reduce((n, b) => n + b.count, 0)}
      drift scores, max ${fmt(Math.max(...d.buckets.map((b) => b.max_drift ?? 0), 0))} (threshold
      ${d.threshold}).
    </p>
  </section>`;
}

const CANARY_COLUMNS = ['run_id', 'timestamp', 'created_at', 'status', 'passed', 'failure_reasons'];

function canarySection(s: StatusSnapshot): RawHtml {
  const reports = s.canary.reports;
  if (!s.canary.available || reports.length === 0) {
    return html`<section aria-labelledby="h-canary">
      <h2 id="h-canary">Canary</h2>
      <p>no canary reports</p>
    </section>`;
  }
  const columns = CANARY_COLUMNS.filter((c) => reports.some((r) => r[c] !== undefined));
  const cell = (v: unknown) =>
    v === null || v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return html`<section aria-labelledby="h-canary">
    <h2 id="h-canary">Canary</h2>
    <table class="canary">
      <thead>
        <tr>
          ${columns.map((c) => html`<th scope="col">${c}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${reports.map(
          (r) =>
            html`<tr>
              ${columns.map((c) => html`<td>${cell(r[c])}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

function alertsSection(s: StatusSnapshot): RawHtml {
  const a = s.alerts;
  return html`<section aria-labelledby="h-alerts">
    <h2 id="h-alerts">Alert queue</h2>
    <dl class="alert-stats">
      <dt>pending</dt>
      <dd data-stat="pending">${a.pending}</dd>
      <dt>sent</dt>
      <dd data-stat="sent">${a.sent}</dd>
      <dt>failed</dt>
      <dd data-stat="failed">${a.failed}</dd>
      <dt>oldest pending</dt>
      <dd>${time(a.oldest_pending)}</dd>
    </dl>
  </section>`;
}

/** The data part of the page: rendered into the page for the no-JS view, fetched by the script otherwise. */
export function statusFragment(s: StatusSnapshot, opts: FragmentOptions): RawHtml {
  return html`<div
    id="status-data"
    data-position="${s.position.globalPosition}"
    data-generated-at="${s.generated_at}"
  >
    <p class="meta">
      As of ${time(s.generated_at)} · key
      <code>${s.viewer.key_id}</code
      >${s.viewer.tenant_id ? html` · tenant <code>${s.viewer.tenant_id}</code>` : ''} · V2 gate
      ${s.gate.trusted ? html`<span class="ok">trusted</span>` : html`<span class="bad">failing closed (V2 off): ${s.gate.reasons.join('; ')}</span>`}
    </p>
    ${breakersSection(s, opts)} ${transitionsSection(s)} ${driftSection(s)} ${canarySection(s)}
    ${alertsSection(s)}
  </div>`;
}
