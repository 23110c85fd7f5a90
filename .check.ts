import { readFileSync } from 'node:fs';
import { parse } from 'lossless-json';
import { simulateV1 } from './src/domain/simulation/v1Simulator';
import { simulateV2, v2IntegralLatencySteps } from './src/domain/simulation/v2Simulator';
import { compareResults } from './src/domain/simulation/comparison';
import { inputHash, outputHash } from './src/domain/simulation/simulationHashes';
import { normalizeInput } from './src/domain/simulation/simulationInput';
import { plainJson } from './src/domain/simulation/writtenJson';
const lines = readFileSync(process.argv[2]!, 'utf8').trim().split('\n');
let bad = 0;
const diff = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
for (const [n, line] of lines.entries()) {
  const c = JSON.parse(line);
  const written = parse(c.request) as any;
  const plain = plainJson(written) as any;
  const input = normalizeInput({
    plan: plain.plan.map((s: any, i: number) => ({ ...s, params: written.plan[i].params })),
    budget_cents: plain.budget_cents, allowed_skills: plain.allowed_skills, risk_threshold: plain.risk_threshold,
  });
  const v1 = simulateV1(input);
  const v2 = simulateV2(input, { modelVersion: '2.0.0', adapterVersion: '2.0.0', commitSha: 'unknown', runtimeMs: 0 });
  const cmp = compareResults(v1, v2, { warning: 0.15, drift: 0.2 }).comparison;
  const checks: Array<[string, unknown, unknown]> = [['v1', v1, c.v1], ['v2', v2, c.v2], ['cmp', cmp, c.cmp],
    ['ih', inputHash({ plan: written.plan, budget_cents: input.budget_cents }), c.input_hash], ['oh', outputHash(v2, v2IntegralLatencySteps(input)), c.output_hash]];
  for (const [name, got, want] of checks) if (diff(got, want)) {
    bad++; if (bad < 6) console.log(n, name, '\n got ', JSON.stringify(got).slice(0, 1500), '\n want', JSON.stringify(want).slice(0, 1500));
  }
}
console.log('cases', lines.length, 'mismatches', bad);
