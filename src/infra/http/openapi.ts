import { z } from 'zod';
import type { Scope } from './auth';

/** One documented route; the schemas are the very ones that validate requests. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put';
  path: string;
  summary: string;
  scope: Scope | null;
  body?: z.ZodType;
  bodyOptional?: boolean;
  query?: z.ZodType;
}

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

const problem = { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': {} } };

/** OpenAPI 3.1 document of the HTTP contract (api.md), generated from the request schemas. */
export function buildOpenApi(routes: readonly RouteDoc[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query = r.query
      ? (jsonSchema(r.query) as { properties?: Record<string, unknown>; required?: string[] })
      : null;
    const queryParams = Object.entries(query?.properties ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      required: query?.required?.includes(name) ?? false,
      schema,
    }));
    paths[path] ??= {};
    paths[path]![r.method] = {
      summary: r.summary,
      ...(r.scope ? { security: [{ bearer: [r.scope] }], 'x-scope': r.scope } : { security: [] }),
      parameters: [...params, ...queryParams],
      ...(r.body
        ? {
            requestBody: {
              required: !r.bodyOptional,
              content: { 'application/json': { schema: jsonSchema(r.body) } },
            },
          }
        : {}),
      responses: {
        200: { description: 'OK', content: { 'application/json': {} } },
        400: problem,
        ...(r.scope ? { 401: problem, 403: problem } : {}),
        ...(r.method === 'post'
          ? { 409: problem, 412: problem, 413: problem, 415: problem, 503: problem } // 503: load shed
          : {}),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'CostSim guard', version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
