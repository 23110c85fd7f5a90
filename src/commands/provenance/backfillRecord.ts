import { gunzipSync } from 'node:zlib';
import { parse } from 'lossless-json';
import { plainJson } from '../../domain/simulation/writtenJson';
import { tenantIdSchema } from '../../infra/http/auth';
import { simulateBody, type SimulateBody } from '../simulation/simulateSchemas';

/** What a backfill item stands for: a simulation input to run V1 on, with the context it came with. */
export interface BackfillInput {
  /** as written (lossless numbers): hashed and simulated exactly as the original would have */
  readonly written: { readonly plan: readonly unknown[] };
  /** the same, validated like a POST /costsim/v2/simulate body */
  readonly body: SimulateBody;
  readonly tenant_id: string | null;
  readonly run_id: string | null;
  /** the original record's time, when it has one (historical data keeps its time) */
  readonly created_at: string | null;
  /** where it came from, kept in the payload (never the original's output: that was V2's, not V1's) */
  readonly origin: Readonly<Record<string, unknown>>;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/**
 * Reads one backfill item. Accepted shapes (docs/simulation.md):
 *  - a plain input `{plan, budget_cents?, allowed_skills?, risk_threshold?, run_id?, tenant_id?}`;
 *  - an original provenance log line `{id, timestamp, input_hash, input_json, compressed, tenant_id, run_id,
 *    …}` (`input_json` the input as JSON text, base64 gzip when `compressed`);
 *  - a provenance record `{…, payload: {input | input_data: {plan, …}}, created_at}` (this service's or the
 *    original's table).
 * Throws an Error whose message says what is wrong.
 */
export function readBackfillInput(item: unknown): BackfillInput {
  if (!isObject(item)) throw new Error('not a JSON object');
  let input: unknown;
  let format: string;
  if ('plan' in item) {
    input = item;
    format = 'input';
  } else if (typeof item['input_json'] === 'string') {
    format = 'provenance_log';
    const raw = item['input_json'];
    let json: string;
    try {
      json = item['compressed'] === true ? gunzipSync(Buffer.from(raw, 'base64')).toString('utf8') : raw;
      input = parse(json);
    } catch {
      throw new Error('input_json is not JSON (or not base64 gzip when compressed)');
    }
  } else if (
    isObject(item['payload']) &&
    (isObject(item['payload']['input']) || isObject(item['payload']['input_data']))
  ) {
    format = 'provenance_record';
    input = isObject(item['payload']['input']) ? item['payload']['input'] : item['payload']['input_data'];
  } else {
    throw new Error('neither an input {plan, …} nor a provenance record with its input');
  }
  if (!isObject(input) || !Array.isArray(input['plan'])) throw new Error('the input has no plan');

  // Validate the request fields only (a stored input may carry the original's extra fields).
  const candidate: Obj = {};
  for (const key of ['plan', 'budget_cents', 'allowed_skills', 'risk_threshold'] as const) {
    if (key in input) candidate[key] = plainJson(input[key]);
  }
  const parsed = simulateBody.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `invalid input at ${['input', ...(issue?.path ?? []).map(String)].join('.')}: ${issue?.message ?? ''}`,
    );
  }
  const tenant = text(item['tenant_id']) ?? text(input['tenant_id']);
  if (tenant !== null && !tenantIdSchema.safeParse(tenant).success) throw new Error('invalid tenant_id');
  const runId = text(item['run_id']) ?? text(input['run_id']);
  if (runId !== null && runId.length > 200) throw new Error('run_id longer than 200 characters');
  const at = text(item['created_at']) ?? text(item['timestamp']);
  const time = at !== null && !Number.isNaN(Date.parse(at)) ? new Date(at).toISOString() : null;
  return {
    written: { plan: input['plan'] as unknown[] },
    body: parsed.data,
    tenant_id: tenant,
    run_id: runId,
    created_at: time,
    origin: {
      format,
      ...(text(item['id']) ? { id: item['id'] } : {}),
      ...(text(item['input_hash']) ? { input_hash: item['input_hash'] } : {}),
    },
  };
}
