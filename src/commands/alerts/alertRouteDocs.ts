import type { RouteDoc } from '../../infra/http/openapi';
import {
  alertListResponse,
  alertStatsResponse,
  purgedResponse,
  retriedResponse,
} from './alertResponseSchemas';
import { alertListQuery, alertStatsQuery, purgeBody, retryFailedBody } from './alertSchemas';

/** The alert queue's part of /openapi.json (docs/api.md "Alerts (operators)"). */
export const alertRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/costsim/alerts',
    response: alertListResponse,
    summary: 'Alert queue rows',
    scope: 'admin',
    query: alertListQuery,
  },
  {
    method: 'get',
    path: '/costsim/alerts/stats',
    response: alertStatsResponse,
    summary: 'Pending, sent and failed counts',
    scope: 'admin',
    query: alertStatsQuery,
  },
  {
    method: 'post',
    path: '/costsim/alerts/retry-failed',
    response: retriedResponse,
    summary: 'Put failed alerts back in the queue with more attempts',
    scope: 'admin',
    body: retryFailedBody,
    bodyOptional: true,
  },
  {
    method: 'post',
    path: '/costsim/alerts/purge',
    response: purgedResponse,
    summary: 'Delete sent/failed alerts older than N days',
    scope: 'admin',
    body: purgeBody,
    bodyOptional: true,
  },
];
