import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testApiKeys } from './serviceHarness';

/**
 * The environment of one `serve` replica in multi-process tests: the shared database, the test keys,
 * fast polls, its own data directory (pushed to `dirs` for clean-up) and instance id `<name>-<i>`.
 */
export function replicaEnv(databaseUrl: string, name: string, i: number, dirs: string[]): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), `costsim-${name}-${i}-`));
  dirs.push(dir);
  return {
    DATABASE_URL: databaseUrl,
    COSTSIM_API_KEYS: JSON.stringify(testApiKeys),
    COSTSIM_API_KEYS_FILE: '',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    PROJECTOR_POLL_MS: '50',
    BREAKER_CACHE_POLL_MS: '200',
    BREAKER_RECOVERY_POLL_MS: '200',
    DATA_DIR: dir,
    INSTANCE_ID: `${name}-${i}`,
    // Multi-process tests read per-breaker gauges from /metrics.
    COSTSIM_METRICS_DETAIL: 'true',
  };
}
