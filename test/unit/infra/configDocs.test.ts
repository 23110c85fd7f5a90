import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configVariables, loadConfig } from '../../../src/infra/config/config';

/**
 * docs/configuration.md documents every variable the configuration reads, each in a table row of its own
 * with a default: engineers add variables to src/infra/config/config.ts all the time, and an undocumented
 * one is a setting nobody can find.
 */
const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'configuration.md'), 'utf8');
const rows = new Map(
  doc
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|').map((c) => c.trim()))
    .map((cells) => [cells[1]!.replace(/`/g, ''), { defaultText: cells[2]!, meaning: cells[3]! }]),
);

test.each([...configVariables])(
  '%s is documented in docs/configuration.md with a default and a meaning',
  (name) => {
    const row = rows.get(name);
    expect({ name, documented: row !== undefined }).toEqual({ name, documented: true });
    expect(row!.defaultText.length).toBeGreaterThan(0);
    expect(row!.meaning.length).toBeGreaterThan(10);
  },
);

test('every documented variable exists (no stale rows)', () => {
  expect([...rows.keys()].filter((name) => !configVariables.includes(name))).toEqual([]);
});

test('documented numeric defaults are the real ones', () => {
  const config = loadConfig({});
  const numeric: Array<[string, number]> = [
    ['PORT', config.port],
    ['COSTSIM_MAX_BATCH_BYTES', config.maxBatchBytes],
    ['COSTSIM_FAILURE_THRESHOLD', config.breaker.failureThreshold],
    ['PROJECTOR_BATCH_SIZE', config.projector.batchSize],
    ['HTTP_MAX_CONNECTIONS_PER_CLIENT', config.http.maxConnectionsPerClient],
  ];
  for (const [name, value] of numeric)
    expect({ name, text: rows.get(name)!.defaultText }).toEqual({
      name,
      text: expect.stringContaining(String(value)),
    });
});
