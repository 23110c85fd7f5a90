import type pg from 'pg';

/**
 * The latest canary reports, if the canary's table exists (the canary is its own slice; the status page
 * only reads its table, and shows "no canary reports" before the canary has ever been installed).
 */
export interface CanaryReports {
  available: boolean;
  reports: Array<Record<string, unknown>>;
}

/** Columns a report may be ordered by, newest first: the first one the table has is used. */
const TIME_COLUMNS = ['timestamp', 'finished_at', 'completed_at', 'started_at', 'created_at'];

export async function latestCanaryReports(pool: pg.Pool, limit: number): Promise<CanaryReports> {
  const { rows: columns } = await pool.query<{ column_name: string }>(
    `select column_name from information_schema.columns
      where table_schema = current_schema() and table_name = 'canary_reports'`,
  );
  if (columns.length === 0) return { available: false, reports: [] };
  const names = new Set(columns.map((c) => c.column_name));
  const order = TIME_COLUMNS.find((c) => names.has(c));
  // The column name comes from the fixed list above, never from input.
  const { rows } = await pool.query<{ report: Record<string, unknown> }>(
    `select to_jsonb(r) as report from canary_reports r
      ${order ? `order by r."${order}" desc nulls last` : ''} limit $1`,
    [limit],
  );
  return { available: true, reports: rows.map((r) => r.report) };
}
