import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestService, type TestService } from '../support/serviceHarness';

const root = join(__dirname, '..', '..');

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

interface Operation {
  operationId?: string;
  tags?: string[];
  parameters: Array<{ name?: string; in?: string; schema?: { type?: string }; $ref?: string }>;
  responses: Record<
    string,
    { content?: Record<string, { schema?: unknown }>; headers?: Record<string, unknown> }
  >;
}

test('docs/openapi.json is exactly what the service serves (npm run openapi regenerates it)', async () => {
  const served = await (await svc.call('GET', '/openapi.json')).json();
  const committed = JSON.parse(readFileSync(join(root, 'docs', 'openapi.json'), 'utf8'));
  expect(served).toEqual(committed);
});

test('the document is complete: operationIds, tags, servers, a schema for every response, headers, integers', async () => {
  const doc = (await (await svc.call('GET', '/openapi.json')).json()) as {
    servers: unknown[];
    tags: Array<{ name: string }>;
    paths: Record<string, Record<string, Operation>>;
  };
  expect(doc.servers.length).toBeGreaterThan(0);
  const ids = new Set<string>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const where = `${method} ${path}`;
      expect({ where, id: typeof op.operationId }).toEqual({ where, id: 'string' });
      ids.add(op.operationId!);
      expect(doc.tags.map((t) => t.name)).toContain(op.tags![0]);
      for (const [status, response] of Object.entries(op.responses)) {
        const schemas = Object.values(response.content ?? {}).map((c) => c.schema);
        expect({ where, status, hasSchema: schemas.length > 0 && schemas.every(Boolean) }).toEqual({
          where,
          status,
          hasSchema: true,
        });
        expect(response.headers).toHaveProperty(['X-Request-ID']);
      }
    }
  }
  expect(ids.size).toBe(Object.values(doc.paths).flatMap((m) => Object.keys(m)).length); // unique
  const disable = doc.paths['/costsim/breakers/{name}/disable']!.post!;
  expect(disable.parameters.map((p) => p.$ref)).toEqual(
    expect.arrayContaining(['#/components/parameters/If-Match', '#/components/parameters/X-Tenant-ID']),
  );
  expect(disable.responses['200']!.headers).toHaveProperty(['ETag']);
  const incidents = doc.paths['/costsim/breakers/{name}/incidents']!.get!;
  expect(incidents.parameters.find((p) => p.name === 'limit')!.schema).toMatchObject({ type: 'integer' });
  const divergence = doc.paths['/costsim/divergence']!.get!;
  expect(divergence.parameters.find((p) => p.name === 'days')!.schema).toEqual({
    type: 'integer',
    minimum: 1,
    maximum: 90,
  });
  expect(doc.paths['/costsim/breakers/{name}']!.put!.responses).toHaveProperty(['201']);
});

test('@redocly/cli lint: zero errors and zero warnings', () => {
  const run = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js'),
      'lint',
      '--config',
      'redocly.yaml',
      'docs/openapi.json',
    ],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    },
  );
  // Redocly reports on stderr; its Node-version banner is not about the document.
  const report = `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter((l) => !/[║╔╚]/.test(l))
    .join('\n');
  expect({ status: run.status, report: run.status === 0 ? '' : report }).toEqual({ status: 0, report: '' });
  expect(report).toContain('Your API description is valid');
  expect(report).not.toMatch(/warning|error/i);
}, 130_000);
