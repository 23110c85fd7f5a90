import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'lossless-json';
import { compareResults } from '../../../src/domain/simulation/comparison';
import { inputHash, outputHash } from '../../../src/domain/simulation/simulationHashes';
import { type RawPlanStep, normalizeInput } from '../../../src/domain/simulation/simulationInput';
import { simulateV1 } from '../../../src/domain/simulation/v1Simulator';
import { simulateV2, v2IntegralLatencySteps } from '../../../src/domain/simulation/v2Simulator';
import { plainJson } from '../../../src/domain/simulation/writtenJson';

/**
 * 300 random plans answered by CPython (see test/fixtures/python-reference/reference.py for how they were
 * made): V1, V2, the comparison and both hashes must come out identical — values and texts exactly, and
 * the hashes byte for byte (they see floats, `-0`, the integer/float distinction of the request).
 */
interface Case {
  request: string;
  v1: unknown;
  v2: unknown;
  cmp: unknown;
  input_hash: string;
  output_hash: string;
}

const cases: Case[] = gunzipSync(
  readFileSync(join(__dirname, '../../fixtures/python-reference/cases.jsonl.gz')),
)
  .toString('utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Case);

type Written = { plan: Array<{ params?: Record<string, unknown> }>; budget_cents: number };

function run(c: Case) {
  const written = parse(c.request) as Written;
  const plain = plainJson(written) as {
    plan: RawPlanStep[];
    budget_cents: number;
    allowed_skills: string[] | null;
    risk_threshold: number;
  };
  const input = normalizeInput({
    ...plain,
    plan: plain.plan.map((step, i) => ({ ...step, params: written.plan[i]!.params ?? null })),
  });
  const v1 = simulateV1(input);
  const v2 = simulateV2(input, {
    modelVersion: '2.0.0',
    adapterVersion: '2.0.0',
    commitSha: 'unknown',
    runtimeMs: 0,
  });
  return {
    v1,
    v2,
    cmp: compareResults(v1, v2, { warning: 0.15, drift: 0.2 }).comparison,
    input_hash: inputHash({ plan: written.plan, budget_cents: input.budget_cents }),
    output_hash: outputHash(v2, v2IntegralLatencySteps(input)),
  };
}

test('the fixture holds 300 cases', () => expect(cases).toHaveLength(300));

test.each(cases.map((c, i) => [i, c] as const))('case %i equals CPython', (_, c) => {
  const got = run(c);
  expect(got.v1).toEqual(c.v1);
  expect(got.v2).toEqual(c.v2);
  expect(got.cmp).toEqual(c.cmp);
  expect(got.input_hash).toBe(c.input_hash);
  expect(got.output_hash).toBe(c.output_hash);
});
