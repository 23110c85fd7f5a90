import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../src/infra/config/config';
import { type ApiKey, sha256Hex } from '../../src/infra/http/auth';
import { type Logger, createLogger } from '../../src/infra/logging/logger';
import { type RunningService, startService } from '../../src/service';
import type { BreakerApi } from '../../src/commands/breaker/breakerFeature';
import { createTestDatabase, type TestDatabase } from './testDatabase';

/** Plain-text keys for tests, one per role. */
export const testKeys = {
  admin: 'key-admin',
  read: 'key-read',
  write: 'key-write',
  tenantA: 'key-tenant-a',
  tenantAAdmin: 'key-tenant-a-admin',
  tenantB: 'key-tenant-b',
} as const;

export const testApiKeys: ApiKey[] = [
  { id: 'admin', key_sha256: sha256Hex(testKeys.admin), tenant_id: null, scopes: ['admin'] },
  { id: 'reader', key_sha256: sha256Hex(testKeys.read), tenant_id: null, scopes: ['read'] },
  { id: 'writer', key_sha256: sha256Hex(testKeys.write), tenant_id: null, scopes: ['write'] },
  {
    id: 'tenant-a',
    key_sha256: sha256Hex(testKeys.tenantA),
    tenant_id: 'tenant-a',
    scopes: ['read', 'write'],
  },
  {
    id: 'tenant-a-admin',
    key_sha256: sha256Hex(testKeys.tenantAAdmin),
    tenant_id: 'tenant-a',
    scopes: ['admin'],
  },
  {
    id: 'tenant-b',
    key_sha256: sha256Hex(testKeys.tenantB),
    tenant_id: 'tenant-b',
    scopes: ['read', 'write'],
  },
];

export type { BreakerApi };

export interface TestService {
  url: string;
  db: TestDatabase;
  service: RunningService;
  config: Config;
  breaker: BreakerApi;
  /** fetch with `Authorization: Bearer <key>` and a JSON body when given. */
  call(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * The whole service in-process on a fresh database (one per test file), listening on a free loopback
 * port. `env` overrides configuration variables (e.g. COSTSIM_FAILURE_THRESHOLD).
 */
export async function startTestService(
  env: Record<string, string> = {},
  existing?: TestDatabase,
  options: { logger?: Logger } = {},
): Promise<TestService> {
  const db = existing ?? (await createTestDatabase());
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'costsim-svc-')),
    PROJECTOR_POLL_MS: '50',
    BREAKER_CACHE_POLL_MS: '200',
    BREAKER_RECOVERY_POLL_MS: '200',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const service = await startService({
    config,
    databaseUrl: db.url,
    host: '127.0.0.1',
    apiKeys: testApiKeys,
    logger: options.logger ?? createLogger(config.logLevel),
  });
  const { breaker } = service;
  return {
    url: service.url,
    db,
    service,
    config,
    breaker,
    call: (method, path, opts = {}) =>
      fetch(`${service.url}${path}`, {
        method,
        headers: {
          ...(opts.key ? { Authorization: `Bearer ${opts.key}` } : {}),
          ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...opts.headers,
        },
        ...(opts.body !== undefined
          ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }
          : {}),
      }),
    stop: async () => {
      await service.stop();
      if (!existing) await db.drop();
    },
  };
}
