import { isStorable } from '../../domain/storableValues';
import { TENANT_ID } from '../../infra/http/auth';
import { parseOrThrow } from '../../infra/http/validation';
import { type SimulateBody, simulateBody } from './simulateSchemas';

/**
 * POST /costsim/v2/simulate's body, or the 400 naming every bad field: a storable body the hand check is
 * sure of is taken as is; any other goes through parseOrThrow (zod and the storable walk), which then
 * words the errors exactly as before. Valid bodies come out as zod builds them, so nothing downstream
 * (the answer, the stored input, its hash) can tell which way a body came.
 */
export function parseSimulateBody(value: unknown): SimulateBody {
  if (isStorable(value)) {
    const fast = simulateBodyByHand(value);
    if (fast) return fast;
  }
  return parseOrThrow(simulateBody, value, 'body');
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

/**
 * simulateBody's rules checked by hand, for the bodies that certainly pass: the same body zod builds (the
 * schema's key order, a nullish field present as given, `params` shared), or null when the check is not
 * sure — then zod decides. zod costs as much as the V1 simulation of a small plan; this is a few property
 * reads. Used by the canary (stored inputs) and the simulate route (test/unit/canary/storedSimulateBody.test.ts
 * and test/unit/simulation/simulateBodyByHand.test.ts hold it to zod's answers, key order included).
 */
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
