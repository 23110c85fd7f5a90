import type { ProblemBody } from '../../src/infra/http/problem';
import type { BreakerStateView, IncidentView } from '../../src/projections/breaker/breakerViews';
import { eventually } from './eventually';
import { type TestService, testKeys } from './serviceHarness';
import type { TestDatabase } from './testDatabase';

/**
 * Shared support for the breaker HTTP tests (test/e2e/breaker): the response shapes of the breaker routes,
 * JSON GET/POST helpers on a TestService, problem+json checks and the "no table or stream changed" snapshot.
 */

export type { BreakerStateView, IncidentView, ProblemBody };

/** GET /costsim/breakers */
export interface BreakerList {
  breakers: BreakerStateView[];
}

/** GET /costsim/breakers/{name}/incidents and GET /costsim/v2/incidents */
export interface IncidentList {
  incidents: IncidentView[];
  total: number;
}

/** One event of GET /costsim/breakers/{name}/history */
export interface HistoryEvent {
  position: number;
  type: string;
  recorded_at: string;
  actor: string | null;
  data: Record<string, unknown>;
}

/** GET /costsim/breakers/{name}/history */
export interface BreakerHistory {
  events: HistoryEvent[];
  total: number;
  state_at_until: BreakerStateView;
}

/** POST /costsim/breakers/{name}/disable */
export interface DisableResult {
  changed: boolean;
  state: BreakerStateView;
  incident: IncidentView | null;
}

/** POST /costsim/breakers/{name}/enable */
export interface EnableResult {
  changed: boolean;
  state: BreakerStateView;
}

/** POST /costsim/breakers/{name}/drift and /schema-errors */
export interface TripResult {
  tripped: boolean;
  state: BreakerStateView;
  incident: IncidentView | null;
}

/** GET `path` with `key`; anything but 200 throws with the response body. */
export async function getJson<T>(
  t: TestService,
  path: string,
  key: string = testKeys.read,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await t.call('GET', path, { key, headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path} → ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/**
 * POSTs `body` as JSON (no body when undefined) to `path` with `key` and returns the response's ETag and
 * parsed body; anything but 200 throws with the response body.
 */
export async function postWithEtag<T>(
  t: TestService,
  path: string,
  body: unknown,
  key: string = testKeys.admin,
  headers: Record<string, string> = {},
): Promise<{ etag: string | null; body: T }> {
  const res = await t.call('POST', path, { key, body, headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path} → ${res.status}: ${text}`);
  return { etag: res.headers.get('etag'), body: JSON.parse(text) as T };
}

/** postWithEtag, answering just the parsed body. */
export async function postJson<T>(
  t: TestService,
  path: string,
  body: unknown,
  key: string = testKeys.admin,
): Promise<T> {
  return (await postWithEtag<T>(t, path, body, key)).body;
}

/** POSTs a breaker command and returns the `state` it answers with. */
export async function command(
  t: TestService,
  path: string,
  body: unknown,
  key: string = testKeys.admin,
): Promise<BreakerStateView> {
  return (await postJson<{ state: BreakerStateView }>(t, path, body, key)).state;
}

/**
 * Expects an RFC 9457 problem+json response with `status` (and a `type` matching `type`), and returns
 * the parsed problem with the raw text.
 */
export async function expectProblem(
  res: Response,
  status: number,
  type: unknown = expect.any(String),
): Promise<{ problem: ProblemBody; text: string }> {
  const text = await res.text();
  expect([res.status, text]).toEqual([status, expect.any(String)]);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const problem = JSON.parse(text) as ProblemBody;
  expect(problem).toMatchObject({ status, type, title: expect.any(String) });
  expect(typeof problem.detail).toBe('string');
  return { problem, text };
}

/** Waits until both breaker projections have applied every stored event. */
export async function settle(db: TestDatabase): Promise<void> {
  await eventually(async () => {
    const { rows } = await db.pool.query<{ behind: string }>(
      `select count(*) as behind from es_events e join projection_checkpoints c
          on c.name in ('cb_state', 'cb_incidents')
       where (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)`,
    );
    expect(Number(rows[0]!.behind)).toBe(0);
  });
}

/** The event stream and both read models once settled: equal snapshots mean no table or stream changed. */
export async function snapshot(db: TestDatabase) {
  await settle(db);
  const q = async (sql: string) => (await db.pool.query(sql)).rows;
  return {
    events: await q('select count(*) as n, max(global_position) as max from es_events'),
    state: await q('select * from cb_state order by 1, 2'),
    incidents: await q('select * from cb_incidents order by id'),
  };
}

export type DbSnapshot = Awaited<ReturnType<typeof snapshot>>;
