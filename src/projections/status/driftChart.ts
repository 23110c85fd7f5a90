import type { DriftBucket } from '../provenance/provenanceQueries';
import { type RawHtml, html } from './html';

const WIDTH = 600;
const HEIGHT = 160;
const PAD = { left: 36, right: 8, top: 8, bottom: 22 };

/**
 * Drift of the last hour as an inline SVG (no script, no external asset, no inline style: it renders
 * under the page's strict CSP and without JavaScript): the average and the maximum drift score per
 * bucket, and the drift threshold. The figures are also in the table beside it for screen readers.
 */
export function driftChart(
  buckets: readonly DriftBucket[],
  window: { from: Date; to: Date },
  threshold: number,
): RawHtml {
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const top = Math.max(1, ...buckets.map((b) => b.max_drift ?? 0));
  const span = Math.max(1, +window.to - +window.from);
  const x = (at: string) => PAD.left + ((Date.parse(at) - +window.from) / span) * innerW;
  const y = (v: number) => PAD.top + innerH - (Math.min(Math.max(v, 0), top) / top) * innerH;
  const points = (pick: (b: DriftBucket) => number | null) =>
    buckets
      .flatMap((b) => {
        const v = pick(b);
        return v === null ? [] : [`${x(b.at).toFixed(1)},${y(v).toFixed(1)}`];
      })
      .join(' ');
  const ty = y(threshold).toFixed(1);
  return html`<svg
    class="drift-chart"
    viewBox="0 0 ${WIDTH} ${HEIGHT}"
    width="${WIDTH}"
    height="${HEIGHT}"
    role="img"
    aria-labelledby="drift-title"
    xmlns="http://www.w3.org/2000/svg"
  >
    <title id="drift-title">
      Drift score per minute, last hour: average (solid), maximum (dashed), threshold ${threshold} (red)
    </title>
    <rect x="${PAD.left}" y="${PAD.top}" width="${innerW}" height="${innerH}" fill="none" stroke="#bbb" />
    <line
      x1="${PAD.left}"
      x2="${PAD.left + innerW}"
      y1="${ty}"
      y2="${ty}"
      stroke="#c62828"
      stroke-dasharray="2 3"
    />
    <text x="${PAD.left - 4}" y="${PAD.top + 10}" text-anchor="end" font-size="10">${top}</text>
    <text x="${PAD.left - 4}" y="${PAD.top + innerH}" text-anchor="end" font-size="10">0</text>
    <text x="${PAD.left}" y="${HEIGHT - 6}" font-size="10">−60 min</text>
    <text x="${PAD.left + innerW}" y="${HEIGHT - 6}" text-anchor="end" font-size="10">now</text>
    ${
      buckets.length === 0
        ? html`<text
            x="${PAD.left + innerW / 2}"
            y="${PAD.top + innerH / 2}"
            text-anchor="middle"
            font-size="12"
            >no drift scores in the last hour</text
          >`
        : html`<polyline
              class="drift-max"
              points="${points((b) => b.max_drift)}"
              fill="none"
              stroke="#ef6c00"
              stroke-dasharray="4 3"
            />
            <polyline
              class="drift-avg"
              points="${points((b) => b.avg_drift)}"
              fill="none"
              stroke="#1565c0"
              stroke-width="2"
            />
            ${buckets.map((b) =>
              b.avg_drift === null
                ? ''
                : html`<circle
                    cx="${x(b.at).toFixed(1)}"
                    cy="${y(b.avg_drift).toFixed(1)}"
                    r="2"
                    fill="#1565c0"
                    ><title>
                      ${b.at}: ${b.count} records, average ${b.avg_drift.toFixed(3)}, maximum
                      ${b.max_drift?.toFixed(3) ?? '–'}
                    </title></circle
                  >`,
            )}`
    }
  </svg>`;
}
