import { parseProvenanceBatch } from '../../../src/commands/provenance/provenanceBatchParse';
import {
  MAX_RECORDS_PER_WRITE,
  provenanceBatchBody,
} from '../../../src/commands/provenance/provenanceSchemas';
import { MAX_JSON_DEPTH } from '../../../src/domain/storableValues';
import { HttpProblem } from '../../../src/infra/http/problem';
import { parseOrThrow } from '../../../src/infra/http/validation';

/** The chunked batch parse must give exactly what the whole-body parse gives: the records, or the same 400. */
const record = (i: number, extra: Record<string, unknown> = {}) => ({
  run_id: `run-${i}`,
  variant_slug: 'v1',
  source: 'backfill',
  input_hash: 'a'.repeat(64),
  v1_cost: i,
  payload: { n: i },
  ...extra,
});

/** Nested objects so that `payload` reaches absolute depth `depth` (body = 1, records = 2, record = 3). */
const nestedTo = (depth: number): unknown => {
  let v: unknown = {};
  for (let d = 4; d < depth; d++) v = { x: v };
  return v;
};

async function outcome(parse: () => unknown): Promise<{ value?: unknown; problem?: unknown }> {
  try {
    return { value: await parse() };
  } catch (err) {
    if (!(err instanceof HttpProblem)) throw err;
    return { problem: { status: err.status, detail: err.detail, errors: err.errors } };
  }
}

const cases: Array<[string, unknown]> = [
  ['a valid batch of 1 200 (three chunks)', { records: Array.from({ length: 1200 }, (_, i) => record(i)) }],
  ['payload nested to the depth limit', { records: [record(0, { payload: nestedTo(MAX_JSON_DEPTH) })] }],
  ['payload nested one past the limit', { records: [record(0, { payload: nestedTo(MAX_JSON_DEPTH + 1) })] }],
  [
    'a NUL in the 700th record',
    { records: Array.from({ length: 900 }, (_, i) => record(i, i === 700 ? { run_id: 'a\u0000b' } : {})) },
  ],
  ['a lone surrogate in a payload key', { records: [record(0), record(1, { payload: { ['\ud800']: 1 } })] }],
  [
    'an unknown field and a bad cost in different records',
    { records: [record(0, { what: 1 }), record(1, { v1_cost: -1 })] },
  ],
  ['an unknown key beside records', { records: [record(0)], extra: true }],
  ['no record', { records: [] }],
  ['records not an array', { records: { a: 1 } }],
  ['too many records', { records: Array.from({ length: MAX_RECORDS_PER_WRITE + 1 }, (_, i) => record(i)) }],
];

describe('parseProvenanceBatch (chunked) agrees with the whole-body parse', () => {
  test.each(cases)('%s', async (_name, body) => {
    const chunked = await outcome(() => parseProvenanceBatch(body as object));
    const whole = await outcome(() => parseOrThrow(provenanceBatchBody, body, 'body').records);
    expect(chunked).toEqual(whole);
  });

  test('the cases cover both outcomes, and the limit itself is accepted', async () => {
    const outcomes = await Promise.all(
      cases.map(([, body]) => outcome(() => parseProvenanceBatch(body as object))),
    );
    const refused = outcomes.filter((o) => o.problem !== undefined);
    expect(refused).toHaveLength(8);
    for (const o of refused) expect((o.problem as { errors: unknown[] }).errors.length).toBeGreaterThan(0);
    expect(outcomes[1]!.value).toHaveLength(1); // depth exactly MAX_JSON_DEPTH: stored
    expect((outcomes[2]!.problem as { status: number }).status).toBe(400); // one level deeper: refused
  });
});
