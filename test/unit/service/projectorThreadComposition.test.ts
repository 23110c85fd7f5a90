import type { Composition } from '../../../src/infra/composition/featureModule';
import { loadConfig } from '../../../src/infra/config/config';
import { createLogger } from '../../../src/infra/logging/logger';
import { provenanceProjection } from '../../../src/projections/provenance/provenanceProjection';
import { type Projection, neverPark } from '../../../src/projections/projection';
import { startComposition } from '../../../src/service';

/**
 * The projector thread builds its projections by name from allProjections(): a composition that brings a
 * projection of its own is refused at start-up with what to do, not left to a thread that ends and restarts
 * for ever. The database URL points nowhere: a composition that got past the check would fail on it
 * (connection refused) instead — so the message tells the two apart.
 */
const NOWHERE = 'postgres://nobody@127.0.0.1:1/none';

const compositionWith = (projection: Projection): Composition<Record<never, never>> => ({
  features: [{ name: 'custom', projections: [projection] }],
  create: () => ({}),
});

const start = (composition: Composition<Record<never, never>>, thread: 'worker' | 'inline') =>
  startComposition(composition, {
    config: loadConfig({ PORT: '0', LOG_LEVEL: 'silent', PROJECTOR_THREAD: thread }),
    databaseUrl: NOWHERE,
    host: '127.0.0.1',
    apiKeys: [],
    logger: createLogger('silent'),
  });

const unregistered: Projection = {
  name: 'custom_rollup',
  handles: ['ProvenanceRecorded'],
  tables: ['custom_rollup'],
  mayPark: neverPark,
  apply: async () => {},
};

test('PROJECTOR_THREAD=worker refuses a projection that is not registered, naming it and the way out', async () => {
  await expect(start(compositionWith(unregistered), 'worker')).rejects.toThrow(
    /not registered there: custom_rollup\. Register them, or set PROJECTOR_THREAD=inline/,
  );
});

test('a look-alike under a registered name is refused too: the thread would run the registered one', async () => {
  const lookAlike: Projection = { ...provenanceProjection, apply: async () => {} };
  await expect(start(compositionWith(lookAlike), 'worker')).rejects.toThrow(
    /not registered there: provenance\./,
  );
});

test('the registered projection passes the check (it then fails only on the unreachable database)', async () => {
  const err = await start(compositionWith(provenanceProjection), 'worker').then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(err).not.toBeNull();
  expect(err!.message).not.toMatch(/not registered/);
});

test('PROJECTOR_THREAD=inline runs any projection in this thread: no such check', async () => {
  const err = await start(compositionWith(unregistered), 'inline').then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(err).not.toBeNull();
  expect(err!.message).not.toMatch(/not registered/);
});
