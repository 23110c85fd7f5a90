import type { RouteDoc } from '../../infra/http/openapi';
import {
  canaryReportListResponse,
  canaryReportResponse,
  datasetListResponse,
  datasetResponse,
  goldenValidationResponse,
  validateAllResponse,
} from './canaryResponseSchemas';
import { canaryReportsQuery, canaryRunBody } from './canarySchemas';

/** The canary's part of /openapi.json (docs/api.md canary and dataset rows). */
export const canaryRouteDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/costsim/canary/run',
    response: canaryReportResponse,
    summary:
      'Run the canary now (on the leader; another replica answers status skipped, "Skipped: another instance is the leader")',
    scope: 'admin',
    body: canaryRunBody,
    bodyOptional: true,
  },
  {
    method: 'get',
    path: '/costsim/canary/reports',
    response: canaryReportListResponse,
    summary: 'Canary reports, newest first, by status and passed',
    scope: 'read',
    query: canaryReportsQuery,
  },
  {
    method: 'get',
    path: '/costsim/canary/reports/:run_id',
    response: canaryReportResponse,
    summary: 'One canary report',
    scope: 'read',
  },
  {
    method: 'get',
    path: '/costsim/datasets',
    response: datasetListResponse,
    summary: 'The golden datasets (built-in and COSTSIM_DATASETS_DIR)',
    scope: 'read',
  },
  {
    method: 'get',
    path: '/costsim/datasets/:id',
    response: datasetResponse,
    summary: 'One golden dataset with its samples',
    scope: 'read',
  },
  {
    method: 'post',
    path: '/costsim/datasets/:id/validate',
    response: goldenValidationResponse,
    summary: 'Validate V2 against one golden dataset (docs/domain.md §6)',
    scope: 'admin',
  },
  {
    method: 'post',
    path: '/costsim/datasets/validate-all',
    response: validateAllResponse,
    summary: 'Validate V2 against every golden dataset',
    scope: 'admin',
  },
];
