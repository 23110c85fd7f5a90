import { simulateBodyByHand } from '../simulation/simulateBodyByHand';
import { type SimulateBody, simulateBody } from '../simulation/simulateSchemas';

export { simulateBodyByHand };

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
