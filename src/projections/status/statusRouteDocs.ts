import { z } from 'zod';
import type { RouteDoc } from '../../infra/http/openapi';

/** The status page's part of /openapi.json (docs/status-page.md). */
export const statusRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/',
    summary: 'The status page (HTML shell: no data until a key is given; no key needed)',
    scope: null,
    produces: 'text/html',
    tag: 'status',
  },
  {
    method: 'post',
    path: '/',
    summary:
      'The status page read without JavaScript: the key in a form body (never a URL or cookie); 401/403 answer the page with the form again',
    scope: null,
    body: z.object({ key: z.string().min(1).describe('An API key with the read scope') }).strict(),
    bodyMediaType: 'application/x-www-form-urlencoded',
    produces: 'text/html',
    tag: 'status',
  },
  {
    method: 'get',
    path: '/costsim/status',
    summary:
      "The status page's data as a server-rendered HTML fragment (breakers, transitions, drift, canary, alerts)",
    scope: 'read',
    produces: 'text/html',
    tag: 'status',
  },
  {
    method: 'get',
    path: '/costsim/events/stream',
    summary:
      'Server-Sent Events: every breaker, declaration and alert-delivery event as it commits (id = global position; resume with Last-Event-ID)',
    scope: 'read',
    produces: 'text/event-stream',
    tag: 'status',
    headers: [
      {
        name: 'Last-Event-ID',
        description: 'The id of the last event received: the stream starts right after it (each event once)',
        schema: { type: 'string', pattern: '^\\d{1,15}$' },
      },
    ],
  },
];
