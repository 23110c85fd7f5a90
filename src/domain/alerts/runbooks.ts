/** The runbooks of docs/runbooks/ that alerts link (annotation `runbook_url`). */
export type Runbook = 'breaker-tripped' | 'canary-failed' | 'alert-queue' | 'projection-stuck';

/**
 * The runbook URL of an alert. `base` ending in "/" is a directory of runbooks (the default, the service's
 * own /docs/runbooks/, or a copy of docs/runbooks/ elsewhere) and each alert links its own file; any other
 * URL is one page that every alert links (a team wiki page, say).
 */
export function runbookUrl(base: string, runbook: Runbook): string {
  return base.endsWith('/') ? `${base}${runbook}.md` : base;
}
