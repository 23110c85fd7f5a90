import { z } from 'zod';
import type { Scope } from './auth';
import { queryIntBounds } from './validation';
import { problemSchema } from './responseSchemas';

/** One documented route; the schemas are the very ones that validate requests. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put';
  path: string;
  summary: string;
  scope: Scope | null;
  body?: z.ZodType;
  bodyOptional?: boolean;
  query?: z.ZodType;
  /** The success body; every documented route should give one. */
  response?: z.ZodType;
  /** Success status (default 200); PUT declares answer 201 the first time and 200 after. */
  status?: number;
  /** Other request media types the route takes, with their schema (NDJSON bulk ingest). */
  alternativeBodies?: Record<string, { schema: Record<string, unknown>; description: string }>;
  /** Non-JSON success media type (Prometheus text, markdown, HTML, an event stream). */
  produces?: string;
  /** The media type of `body` when not JSON (the status page's form). */
  bodyMediaType?: string;
  /** Request headers of this route besides the common ones (Last-Event-ID). */
  headers?: ReadonlyArray<{ name: string; description: string; schema: Record<string, unknown> }>;
  operationId?: string;
  tag?: string;
}

const TAGS = [
  {
    name: 'breakers',
    description: 'Circuit breakers: state, declarations, disable/enable, reports, incidents, history',
  },
  {
    name: 'v2',
    description: "The original service's routes for CostSim V2 (status, simulate, reset, incidents)",
  },
  { name: 'provenance', description: 'V1/V2 provenance records, drift statistics and divergence' },
  { name: 'alerts', description: 'The alert outbox towards Alertmanager, for operators' },
  {
    name: 'canary',
    description: 'Canary runs of V2 against recent traffic and the golden datasets, and their reports',
  },
  { name: 'datasets', description: 'Golden (reference) datasets and their validation against V2' },
  { name: 'operations', description: 'Health, metrics and this document (no key needed)' },
  { name: 'projections', description: 'Read models: checkpoints, failures and dead letters, for operators' },
  { name: 'status', description: 'The live status page and its event stream' },
];

function tagOf(path: string): string {
  if (path.startsWith('/costsim/breakers')) return 'breakers';
  if (path.startsWith('/costsim/v2')) return 'v2';
  if (path.startsWith('/costsim/alerts')) return 'alerts';
  if (path.startsWith('/costsim/provenance') || path.startsWith('/costsim/divergence')) return 'provenance';
  if (path.startsWith('/costsim/')) return path.split('/')[2]!;
  return 'operations';
}

/** `get /costsim/breakers/:name/schema-errors` → `getBreakersNameSchemaErrors` (unique per method and path). */
export function defaultOperationId(method: string, path: string): string {
  const words = path
    .replace(/^\/costsim\//, '/')
    .split(/[/._-]+/)
    .filter(Boolean)
    .map((w) => w.replace(/^:/, ''))
    .map((w) => w[0]!.toUpperCase() + w.slice(1));
  return `${method}${words.join('')}`;
}

/** JSON Schema of a zod schema as the client writes it; integer query parameters typed as integers. */
const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
    override: (ctx) => {
      const bounds = queryIntBounds(ctx.zodSchema);
      if (!bounds) return;
      for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Record<string, unknown>)[key];
      Object.assign(ctx.jsonSchema, { type: 'integer', minimum: bounds.min, maximum: bounds.max });
    },
  }) as Record<string, unknown>;

/** Output schemas, with named components ($defs of `.meta({id})`) lifted into components.schemas. */
function responseSchema(schema: z.ZodType, components: Record<string, unknown>): Record<string, unknown> {
  const raw = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
  // Schemas named with .meta({id}) come back as $defs: they become shared components.
  const doc = JSON.parse(JSON.stringify(raw).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<
    string,
    unknown
  > & { $defs?: Record<string, unknown> };
  const { $defs, $schema: _schema, ...rest } = doc;
  for (const [id, def] of Object.entries($defs ?? {})) {
    const { id: _id, ...clean } = def as Record<string, unknown>;
    components[id] = clean;
  }
  if (typeof rest.id === 'string') {
    const { id, ...clean } = rest;
    components[id as string] = clean;
    return { $ref: `#/components/schemas/${id as string}` };
  }
  return rest;
}

const header = (description: string, schema: Record<string, unknown> = { type: 'string' }) => ({
  description,
  schema,
});

const param = (ref: string) => ({ $ref: `#/components/parameters/${ref}` });
const problem = (description: string) => ({
  description,
  headers: { 'X-Request-ID': { $ref: '#/components/headers/X-Request-ID' } },
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** OpenAPI 3.1 document of the HTTP contract (docs/api.md), generated from the request and response schemas. */
export function buildOpenApi(routes: readonly RouteDoc[], version: string): Record<string, unknown> {
  const components: Record<string, unknown> = {};
  responseSchema(problemSchema, components);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const pathParams = [...r.path.matchAll(/:(\w+)/g)].map((m) =>
      m[1] === 'name' && r.path.startsWith('/costsim/breakers')
        ? param('BreakerName')
        : { name: m[1], in: 'path', required: true, schema: { type: 'string' } },
    );
    const query = r.query
      ? (jsonSchema(r.query) as { properties?: Record<string, unknown>; required?: string[] })
      : null;
    const queryParams = Object.entries(query?.properties ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      required: query?.required?.includes(name) ?? false,
      schema,
    }));
    const isCommand = r.method !== 'get' && r.scope !== null; // POST / (the status page's form) changes nothing
    const isBreaker = r.path.startsWith('/costsim/breakers/:name') || r.path === '/costsim/v2/reset';
    const versioned = isBreaker && (r.method === 'post' || r.path === '/costsim/breakers/:name');
    const headerParams = [
      param('X-Request-ID'),
      param('X-Correlation-ID'),
      param('traceparent'),
      ...(r.scope ? [param('X-Tenant-ID')] : []),
      ...(versioned && r.method === 'post' ? [param('If-Match')] : []),
      ...(r.headers ?? []).map((h) => ({ ...h, in: 'header', required: false })),
    ];
    const status = String(r.status ?? 200);
    const successHeaders = {
      'X-Request-ID': { $ref: '#/components/headers/X-Request-ID' },
      'X-Correlation-ID': { $ref: '#/components/headers/X-Correlation-ID' },
      ...(versioned && r.method !== 'put' ? { ETag: { $ref: '#/components/headers/ETag' } } : {}),
    };
    const success = r.produces
      ? {
          description: 'OK',
          headers: successHeaders,
          content: { [r.produces]: { schema: { type: 'string' } } },
        }
      : {
          description: r.status === 201 ? 'Created' : 'OK',
          headers: successHeaders,
          content: {
            'application/json': {
              schema: r.response ? responseSchema(r.response, components) : { type: 'object' },
            },
          },
        };
    const responses: Record<string, unknown> = {
      [status]: success,
      ...(r.method === 'put'
        ? { 200: { ...success, description: 'Already declared (updated if the description changed)' } }
        : {}),
      400: problem('Invalid request: every bad field named in `errors`'),
      ...(r.scope
        ? { 401: problem('No or unknown API key'), 403: problem('Missing scope or another tenant') }
        : {}),
      ...(r.path.includes(':name') || r.path.includes(':id') || r.path.includes(':run_id')
        ? { 404: problem('Not found (an undeclared breaker, an unknown id)') }
        : {}),
      405: problem('A known path with another method (`Allow` lists the methods)'),
      ...(isCommand
        ? {
            409: problem('A concurrency conflict that retries did not resolve'),
            412: problem('If-Match did not match the current version; nothing written'),
            413: problem('The body is over its limit'),
            415: problem('Wrong content type or encoding'),
          }
        : {}),
      ...(r.scope || r.path.startsWith('/health')
        ? { 503: problem('Overloaded or the database is unavailable') }
        : {}),
    };
    const body = r.body
      ? {
          requestBody: {
            required: !r.bodyOptional,
            content: {
              [r.bodyMediaType ?? 'application/json']: { schema: jsonSchema(r.body) },
              ...Object.fromEntries(
                Object.entries(r.alternativeBodies ?? {}).map(([type, b]) => [type, { schema: b.schema }]),
              ),
            },
          },
        }
      : {};
    paths[path] ??= {};
    paths[path]![r.method] = {
      operationId: r.operationId ?? defaultOperationId(r.method, r.path),
      tags: [r.tag ?? tagOf(r.path)],
      summary: r.summary,
      ...(r.scope ? { security: [{ bearer: [r.scope] }], 'x-scope': r.scope } : { security: [] }),
      parameters: [...pathParams, ...queryParams, ...headerParams],
      ...body,
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'CostSim guard',
      version,
      description:
        'Control plane for rolling out CostSim V2 in shadow mode: circuit breakers, provenance, alerts. ' +
        'Guide: docs/api.md of the repository.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [
      {
        url: 'http://127.0.0.1:8000',
        description: '`npm start` on this machine (loopback when no API keys are configured)',
      },
    ],
    tags: TAGS,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'API key (COSTSIM_API_KEYS); scopes read, write, admin',
        },
      },
      schemas: components,
      parameters: {
        BreakerName: {
          name: 'name',
          in: 'path',
          required: true,
          description: 'A declared breaker (costsim_v2, PUT, or COSTSIM_BREAKERS); an undeclared one is 404',
          schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' },
        },
        'X-Request-ID': {
          name: 'X-Request-ID',
          in: 'header',
          required: false,
          description: 'Echoed back (generated when absent or unsafe)',
          schema: { type: 'string', pattern: '^[A-Za-z0-9._:@/-]{1,128}$' },
        },
        'X-Correlation-ID': {
          name: 'X-Correlation-ID',
          in: 'header',
          required: false,
          description: 'Echoed back (defaults to the request id)',
          schema: { type: 'string', pattern: '^[A-Za-z0-9._:@/-]{1,128}$' },
        },
        traceparent: {
          name: 'traceparent',
          in: 'header',
          required: false,
          description: 'W3C Trace Context; logged with the request',
          schema: { type: 'string' },
        },
        'X-Tenant-ID': {
          name: 'X-Tenant-ID',
          in: 'header',
          required: false,
          description: 'A global key acts for this tenant; a tenant key may only name its own (else 403)',
          schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' },
        },
        'If-Match': {
          name: 'If-Match',
          in: 'header',
          required: false,
          description:
            'RFC 9110: "*" or a list of entity tags ("3", "1", W/"2"); a weak tag never matches; none matching → 412',
          schema: { type: 'string' },
        },
      },
      headers: {
        'X-Request-ID': header('The request id (echoed or generated)'),
        'X-Correlation-ID': header('The correlation id (echoed, or the request id)'),
        ETag: header('Strong entity tag: the breaker stream version, e.g. "3"'),
      },
    },
    paths,
  };
}
