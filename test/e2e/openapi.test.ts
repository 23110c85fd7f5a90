import { startTestService, type TestService } from '../support/serviceHarness';

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(async () => svc.stop());

test('/openapi.json documents every breaker route from the schemas that validate requests', async () => {
  const res = await svc.call('GET', '/openapi.json');
  expect(res.status).toBe(200);
  const doc = (await res.json()) as {
    openapi: string;
    paths: Record<
      string,
      Record<
        string,
        {
          requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
          'x-scope'?: string;
          responses: Record<string, unknown>;
        }
      >
    >;
  };
  expect(doc.openapi).toBe('3.1.0');
  for (const path of [
    '/costsim/breakers',
    '/costsim/breakers/{name}',
    '/costsim/breakers/{name}/disable',
    '/costsim/breakers/{name}/enable',
    '/costsim/breakers/{name}/drift',
    '/costsim/breakers/{name}/schema-errors',
    '/costsim/breakers/{name}/incidents',
    '/costsim/breakers/{name}/history',
    '/costsim/v2/status',
    '/costsim/v2/reset',
    '/costsim/v2/incidents',
    '/costsim/v2/simulate',
    '/costsim/provenance',
    '/costsim/provenance/drift-stats',
    '/costsim/alerts',
    '/costsim/alerts/stats',
    '/costsim/alerts/retry-failed',
    '/costsim/alerts/purge',
    '/health/ready',
  ]) {
    expect(doc.paths).toHaveProperty([path]);
  }
  const disable = doc.paths['/costsim/breakers/{name}/disable']!.post!;
  expect(disable['x-scope']).toBe('admin');
  const schema = disable.requestBody!.content['application/json']!.schema as {
    properties: Record<string, { maxLength?: number }>;
    required: string[];
    additionalProperties: boolean;
  };
  expect(schema.required).toEqual(['reason']);
  expect(schema.properties.reason!.maxLength).toBe(500);
  expect(schema.additionalProperties).toBe(false);
  const drift = doc.paths['/costsim/breakers/{name}/drift']!.post!.requestBody!.content['application/json']!
    .schema as { properties: Record<string, { maximum?: number; type?: string }> };
  expect(drift.properties.drift_score).toMatchObject({ type: 'number', maximum: 1 });
  // Commands document their conflict, precondition and load-shedding answers.
  expect(Object.keys(doc.paths['/costsim/breakers/{name}/drift']!.post!.responses)).toEqual(
    expect.arrayContaining(['200', '400', '401', '403', '409', '412', '413', '415', '503']),
  );
});
