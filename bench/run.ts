import type { Figure } from './harness';
import { printFigures } from './harness';
import * as eventstore from './eventstore';
import * as breaker from './breaker';
import * as alerts from './alerts';
import * as provenance from './provenance';
import * as provenanceLive from './provenanceLive';
import * as simulate from './simulate';
import * as canary from './canary';
import * as status from './status';
import * as drift from './drift';

/** npm run bench -- <name> [<name>...]: runs the named benchmarks (all when none is named). */
const benches: Record<string, { run: () => Promise<Figure[]> }> = {
  eventstore,
  breaker,
  alerts,
  provenance,
  provenanceLive,
  simulate,
  canary,
  status,
  drift,
};

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in benches));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  for (const name of names.length > 0 ? names : Object.keys(benches)) {
    console.log(`\n== bench ${name}`);
    const { run } = benches[name]!;
    printFigures(await run());
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
