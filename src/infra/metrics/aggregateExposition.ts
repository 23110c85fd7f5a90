/**
 * Labels that name tenants or breakers. Without detail (COSTSIM_METRICS_DETAIL, or the metrics token),
 * /metrics drops them and sums the series that differ only by them: an unauthenticated scraper learns how
 * many breakers are open, not which tenants exist or what they are called.
 */
export const SENSITIVE_LABELS = ['tenant_id', 'breaker', 'circuit_breaker'] as const;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(\S+))?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Prometheus text exposition with the sensitive labels removed and the samples that then coincide summed
 * (counts, sums and histogram buckets add up; a gauge of 0/1 states becomes the number of 1s). Comments
 * (# HELP, # TYPE) and series without such labels pass through unchanged, in order.
 */
export function aggregateSensitiveLabels(
  text: string,
  sensitive: readonly string[] = SENSITIVE_LABELS,
): string {
  const out: Array<string | { key: string }> = [];
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = line.startsWith('#') ? null : SAMPLE.exec(line);
    if (!m || m[2] === undefined) {
      out.push(line);
      continue;
    }
    const labels = [...m[2].matchAll(LABEL)].map((l) => [l[1]!, l[2]!] as const);
    if (!labels.some(([name]) => sensitive.includes(name))) {
      out.push(line);
      continue;
    }
    const kept = labels.filter(([name]) => !sensitive.includes(name));
    const key = `${m[1]}${kept.length ? `{${kept.map(([k, v]) => `${k}="${v}"`).join(',')}}` : ''}`;
    const value = Number(m[3]);
    if (!sums.has(key)) out.push({ key });
    sums.set(key, (sums.get(key) ?? 0) + (Number.isNaN(value) ? 0 : value));
  }
  return out
    .map((item) => (typeof item === 'string' ? item : `${item.key} ${sums.get(item.key)}`))
    .join('\n');
}
