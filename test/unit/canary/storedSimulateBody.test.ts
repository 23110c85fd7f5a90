import fc from 'fast-check';
import { parseStoredSimulateBody, simulateBodyByHand } from '../../../src/commands/canary/storedSimulateBody';
import { simulateBody } from '../../../src/commands/simulation/simulateSchemas';

/**
 * The canary's hand check of stored simulate bodies answers as zod's simulateBody does: whenever it accepts
 * a body, zod accepts it too and builds the same one (compared as JSON text, so key order counts); what it
 * is unsure of goes to zod. The bodies are JSON values (as stored), valid and invalid mixed.
 */
const zodAnswer = (v: unknown) => {
  const r = simulateBody.safeParse(v);
  return r.success ? JSON.stringify(r.data) : null;
};

const name = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ minLength: 195, maxLength: 205 }));
const number = fc.oneof(
  fc.integer({ min: -3, max: 120 }),
  fc.double({ min: -2, max: 2, noNaN: true }),
  fc.constantFrom(2 ** 53 - 1, 2 ** 53, 1e300, -0, 0.5, 1, 1.0000001),
);
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
/** mostly the valid kind, sometimes null, now and then any JSON value */
const maybe = <T>(a: fc.Arbitrary<T>) =>
  fc.oneof(
    { arbitrary: a, weight: 12 },
    { arbitrary: fc.constant(null), weight: 2 },
    { arbitrary: json, weight: 1 },
  );
const rarely = fc.oneof({ arbitrary: fc.constant(undefined), weight: 40 }, { arbitrary: json, weight: 1 });
const validName = fc.string({ maxLength: 8 });
const validInt = (min: number, max: number) =>
  fc.oneof({ arbitrary: fc.integer({ min, max }), weight: 6 }, { arbitrary: number, weight: 1 });

const step = fc
  .record(
    {
      skill: maybe(fc.oneof({ arbitrary: validName, weight: 6 }, { arbitrary: name, weight: 1 })),
      params: maybe(fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 3 })),
      iterations: maybe(validInt(1, 100)),
      extra: rarely,
    },
    { requiredKeys: ['extra'] },
  )
  .map((s) => Object.entries(s).filter(([, v]) => v !== undefined))
  .chain((e) => fc.shuffledSubarray(e, { minLength: e.length }))
  .map((entries) => Object.fromEntries(entries) as unknown);

const body = fc
  .record(
    {
      plan: fc.oneof(
        { arbitrary: fc.array(step, { maxLength: 4 }), weight: 12 },
        { arbitrary: json, weight: 1 },
      ),
      budget_cents: maybe(validInt(0, 5000)),
      allowed_skills: maybe(fc.array(validName, { maxLength: 3 })),
      risk_threshold: maybe(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), number)),
      run_id: maybe(fc.oneof(validName, name)),
      tenant_id: maybe(
        fc.oneof(
          { arbitrary: fc.constantFrom('acme', 'a.b-c_d', 'T1'), weight: 4 },
          { arbitrary: fc.constantFrom('-x', ''), weight: 1 },
          { arbitrary: fc.string({ maxLength: 5 }), weight: 1 },
        ),
      ),
      unknown_field: rarely,
    },
    { requiredKeys: ['plan', 'unknown_field'] },
  )
  .map((b) => Object.entries(b).filter(([, v]) => v !== undefined))
  .chain((e) => fc.shuffledSubarray(e, { minLength: e.length }))
  .map((entries) => JSON.parse(JSON.stringify(Object.fromEntries(entries))) as unknown);

test('whatever the hand check accepts, zod accepts and builds the same (key order included)', () => {
  let accepted = 0;
  let runs = 0;
  fc.assert(
    fc.property(body, (b) => {
      runs++;
      const byHand = simulateBodyByHand(b);
      if (byHand !== null) accepted++;
      if (byHand !== null) expect(JSON.stringify(byHand)).toBe(zodAnswer(b));
      const answer = parseStoredSimulateBody(b);
      expect(answer === null ? null : JSON.stringify(answer)).toBe(zodAnswer(b));
    }),
    { numRuns: 5000 },
  );
  // the comparison is not vacuous: a fair share of the bodies were valid and checked by hand
  expect(accepted / runs).toBeGreaterThan(0.1);
});

test('the bodies the sandbox records are checked by hand (zod is the exception, not the rule)', () => {
  const recorded = [
    { plan: [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }], budget_cents: 100 },
    {
      plan: [{ skill: 'http_call', params: { url: 'https://x', timeout: 30 }, iterations: 3 }],
      budget_cents: null,
      allowed_skills: ['http_call'],
      risk_threshold: 0.25,
      run_id: 'run-1',
      tenant_id: 'acme',
    },
    { plan: [{}, { skill: null, params: null, iterations: null }] },
    { plan: [] },
  ];
  for (const b of recorded) expect(JSON.stringify(simulateBodyByHand(b))).toBe(zodAnswer(b));
});

test('what zod refuses is refused: limits, unknown keys, unstorable params', () => {
  const refused = [
    { plan: Array.from({ length: 101 }, () => ({})) },
    { plan: [{ skill: 'x'.repeat(201) }] },
    { plan: [{ iterations: 0 }] },
    { plan: [{ iterations: 1.5 }] },
    { plan: [{ params: [] }] },
    { plan: [{ params: { text: 'a\u0000b' } }] },
    { plan: [{ skill: 'x', cost: 1 }] },
    { plan: [], budget_cents: -1 },
    { plan: [], budget_cents: 2 ** 53 },
    { plan: [], risk_threshold: 1.5 },
    { plan: [], run_id: '' },
    { plan: [], tenant_id: '-bad' },
    { plan: [], extra: 1 },
    { plan: 'not a plan' },
    null,
    [],
  ];
  for (const b of refused) {
    expect(zodAnswer(b)).toBeNull();
    expect(simulateBodyByHand(b)).toBeNull();
    expect(parseStoredSimulateBody(b)).toBeNull();
  }
});
