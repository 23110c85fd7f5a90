import type pg from 'pg';
import type { CanaryReport, CanaryRunStatus } from '../../domain/canary/canaryReport';

export interface CanaryReportFilter {
  limit: number;
  status?: CanaryRunStatus;
  passed?: boolean;
}

/** Reads of canary_reports: newest first; `total` counts every matching report, not just the page. */
export class CanaryReportQueries {
  constructor(private readonly pool: pg.Pool) {}

  async list(filter: CanaryReportFilter): Promise<{ reports: CanaryReport[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status !== undefined) where.push(`status = $${params.push(filter.status)}`);
    if (filter.passed !== undefined) where.push(`passed = $${params.push(filter.passed)}`);
    const clause = where.length > 0 ? `where ${where.join(' and ')}` : '';
    const [{ rows }, counted] = await Promise.all([
      this.pool.query<{ report: CanaryReport }>(
        `select report from canary_reports ${clause}
          order by completed_at desc, run_id desc limit $${params.length + 1}`,
        [...params, filter.limit],
      ),
      this.pool.query<{ n: number }>(`select count(*)::int as n from canary_reports ${clause}`, params),
    ]);
    return { reports: rows.map((r) => r.report), total: counted.rows[0]?.n ?? 0 };
  }

  async get(runId: string): Promise<CanaryReport | null> {
    const { rows } = await this.pool.query<{ report: CanaryReport }>(
      'select report from canary_reports where run_id = $1',
      [runId],
    );
    return rows[0]?.report ?? null;
  }
}
