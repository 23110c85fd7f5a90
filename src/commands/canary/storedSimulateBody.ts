import { isStorable } from '../../domain/storableValues';
import { TENANT_ID } from '../../infra/http/auth';
import { type SimulateBody, simulateBody } from '../simulation/simulateSchemas';

/**
 * A stored sandbox input (JSON-parsed) as a simulate request: simulateBody's answer, or null when it no
 * longer is one. zod costs about half as much again as pricing the input does, for inputs that were
 * validated when they were recorded; so the rules are checked by hand first, and a body that passes is built as zod builds it (the schema's key order, a
 * nullish field present as given, `params` shared). Anything the check is not sure of goes to zod, which
 * decides: this only ever answers "valid" where zod does (test/unit/canary/storedSimulateBody.test.ts
 * holds the two to the same answers, key order included).
 */
export function parseStoredSimulateBody(value: unknown): SimulateBody | null {
  const fast = simulateBodyByHand(value);
  if (fast) return fast;
  const parsed = simulateBody.safeParse(value);
  return parsed.success ? parsed.data : null;
}

const MAX_STEPS = 100;
const MAX_NAME = 200;
const BODY_KEYS: ReadonlySet<string> = new Set([
  'plan',
  'budget_cents',
  'allowed_skills',
  'risk_threshold',
  'run_id',
  'tenant_id',
]);
const STEP_KEYS: ReadonlySet<string> = new Set(['skill', 'params', 'iterations']);

type Step = SimulateBody['plan'][number];
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

const onlyKeys = (o: Record<string, unknown>, keys: ReadonlySet<string>): boolean => {
  for (const k in o) if (!keys.has(k)) return false;
  return true;
};

const isName = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_NAME;

/** The body when it is certainly valid, else null (zod decides); exported for the equivalence test. */
export function simulateBodyByHand(value: unknown): SimulateBody | null {
  if (!isPlainObject(value) || !onlyKeys(value, BODY_KEYS)) return null;
  const { plan, budget_cents, allowed_skills, risk_threshold } = value;
  if (!Array.isArray(plan) || plan.length > MAX_STEPS) return null;
  const steps: Step[] = new Array<Step>(plan.length);
  for (let i = 0; i < plan.length; i++) {
    const step = fastStep(plan[i]);
    if (!step) return null;
    steps[i] = step;
  }
  const body: Mutable<SimulateBody> = { plan: steps };
  if ('budget_cents' in value) {
    if (budget_cents !== null && !(Number.isSafeInteger(budget_cents) && (budget_cents as number) >= 0))
      return null;
    body.budget_cents = budget_cents as number | null;
  }
  if ('allowed_skills' in value) {
    if (allowed_skills !== null) {
      if (!Array.isArray(allowed_skills) || allowed_skills.length > MAX_STEPS) return null;
      for (const s of allowed_skills) if (!isName(s)) return null;
    }
    body.allowed_skills = allowed_skills === null ? null : [...(allowed_skills as string[])];
  }
  if ('risk_threshold' in value) {
    if (
      risk_threshold !== null &&
      !(typeof risk_threshold === 'number' && risk_threshold >= 0 && risk_threshold <= 1)
    )
      return null;
    body.risk_threshold = risk_threshold as number | null;
  }
  if ('run_id' in value) {
    const { run_id } = value;
    if (run_id !== null && !(isName(run_id) && run_id.length >= 1)) return null;
    body.run_id = run_id;
  }
  if ('tenant_id' in value) {
    const { tenant_id } = value;
    if (tenant_id !== null && !(typeof tenant_id === 'string' && TENANT_ID.test(tenant_id))) return null;
    body.tenant_id = tenant_id;
  }
  return body;
}

function fastStep(value: unknown): Step | null {
  if (!isPlainObject(value) || !onlyKeys(value, STEP_KEYS)) return null;
  const step: Mutable<Step> = {};
  if ('skill' in value) {
    const { skill } = value;
    if (skill !== null && !isName(skill)) return null;
    step.skill = skill as string | null;
  }
  if ('params' in value) {
    const { params } = value;
    if (params !== null && !(isPlainObject(params) && isStorable(params))) return null;
    step.params = params as Record<string, unknown> | null;
  }
  if ('iterations' in value) {
    const { iterations } = value;
    if (
      iterations !== null &&
      !(Number.isInteger(iterations) && (iterations as number) >= 1 && (iterations as number) <= 100)
    )
      return null;
    step.iterations = iterations as number | null;
  }
  return step;
}
