import { configVariables } from './config';

/** Variables with this prefix are ours: one the configuration does not read is most likely a typo. */
const PREFIX = 'COSTSIM_';
/** Read by the test harness, not by the service. */
const IGNORED_PREFIXES = ['COSTSIM_TEST_'];

/** Levenshtein distance (insert, delete, substitute: 1 each), two rows of the table at a time. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known variable nearest to `name`, if it is near enough to be the one meant. */
export function closestVariable(name: string, known: readonly string[] = configVariables): string | null {
  let best: { name: string; distance: number } | null = null;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  // A third of the name may differ: catches typos and swapped words, not unrelated variables.
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : null;
}

/**
 * One warning per COSTSIM_* variable that the configuration does not read, naming the closest known one:
 * a misspelt variable is otherwise silently ignored and its default used.
 */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = new Set(configVariables);
  return Object.keys(env)
    .filter((k) => k.startsWith(PREFIX) && !known.has(k) && !IGNORED_PREFIXES.some((p) => k.startsWith(p)))
    .sort()
    .map((name) => {
      const closest = closestVariable(name);
      return `unknown variable ${name} is ignored${closest ? ` (did you mean ${closest}?)` : ''}`;
    });
}
