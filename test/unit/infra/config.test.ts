import { ConfigError, loadConfig } from '../../../src/infra/config/config';

describe('configuration', () => {
  test('defaults follow domain.md §8', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8000);
    expect(c.host).toBeUndefined();
    expect(c.sandboxEnabled).toBe(false);
    expect(c.breaker).toMatchObject({
      driftThreshold: 0.2,
      driftWarningThreshold: 0.15,
      schemaErrorThreshold: 5,
      failureThreshold: 3,
      autoDisable: true,
      autoRecover: true,
      disableTtlHours: 24,
      scope: 'global',
    });
    expect(c.alertmanager).toMatchObject({ urls: [], timeoutSeconds: 10, resendIntervalSeconds: 60 });
    expect(c.alertmanager.publicUrl).toBeUndefined(); // derived from INSTANCE_ID and PORT
    expect(c.modelVersion).toBe('2.0.0');
  });

  test('values are parsed and honoured', () => {
    const c = loadConfig({
      PORT: '9000',
      COSTSIM_V2_SANDBOX: 'true',
      COSTSIM_AUTO_RECOVER: '0',
      COSTSIM_DISABLE_TTL_HOURS: '0.5',
      ALERTMANAGER_URL: 'http://am-1:9093/, http://am-2:9093',
      INSTANCE_ID: 'replica-7',
    });
    expect(c.port).toBe(9000);
    expect(c.sandboxEnabled).toBe(true);
    expect(c.breaker.autoRecover).toBe(false);
    expect(c.breaker.disableTtlHours).toBe(0.5);
    expect(c.alertmanager.urls).toEqual(['http://am-1:9093', 'http://am-2:9093']);
    expect(c.instanceId).toBe('replica-7');
  });

  test('every bad variable is named, one message each', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: '-1',
        COSTSIM_DRIFT_THRESHOLD: 'high',
        COSTSIM_FAILURE_THRESHOLD: '2.5',
        COSTSIM_V2_AUTO_DISABLE: 'sometimes',
        DATABASE_URL: 'mysql://x',
        COSTSIM_BREAKER_SCOPE: 'planet',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(6);
    for (const name of [
      'PORT',
      'COSTSIM_DRIFT_THRESHOLD',
      'COSTSIM_FAILURE_THRESHOLD',
      'COSTSIM_V2_AUTO_DISABLE',
      'DATABASE_URL',
      'COSTSIM_BREAKER_SCOPE',
    ]) {
      expect(problems.some((p) => p.startsWith(`${name}:`))).toBe(true);
    }
  });

  test('projector: batches bounded by bytes, retries with back-off (docs/projections.md)', () => {
    expect(loadConfig({}).projector).toMatchObject({
      batchSize: 500,
      batchMaxBytes: 8 * 1024 * 1024,
      retry: { attempts: 3, backoffMs: 200, maxBackoffMs: 10_000 },
    });
    const c = loadConfig({
      PROJECTOR_BATCH_MAX_BYTES: '1048576',
      PROJECTOR_RETRY_ATTEMPTS: '0',
      PROJECTOR_RETRY_BACKOFF_MS: '500',
      PROJECTOR_RETRY_MAX_BACKOFF_MS: '100', // below the base: the base wins
    });
    expect(c.projector.batchMaxBytes).toBe(1_048_576);
    expect(c.projector.retry).toEqual({ attempts: 0, backoffMs: 500, maxBackoffMs: 500 });
    expect(() => loadConfig({ PROJECTOR_BATCH_MAX_BYTES: '1000' })).toThrow(/PROJECTOR_BATCH_MAX_BYTES/);
    expect(() => loadConfig({ PROJECTOR_RETRY_ATTEMPTS: '-1' })).toThrow(/PROJECTOR_RETRY_ATTEMPTS/);
  });

  test('projector: the batch window floor and the ceiling a sustained load grows it to', () => {
    expect(loadConfig({}).projector).toMatchObject({ batchWindowMs: 20, batchWindowMaxMs: 250 });
    // A ceiling below the floor is the floor: a fixed window.
    expect(
      loadConfig({ PROJECTOR_BATCH_WINDOW_MS: '100', PROJECTOR_BATCH_WINDOW_MAX_MS: '50' }).projector,
    ).toMatchObject({ batchWindowMs: 100, batchWindowMaxMs: 100 });
    expect(() => loadConfig({ PROJECTOR_BATCH_WINDOW_MAX_MS: '-1' })).toThrow(
      /PROJECTOR_BATCH_WINDOW_MAX_MS/,
    );
    expect(() => loadConfig({ PROJECTOR_BATCH_WINDOW_MAX_MS: '20000' })).toThrow(
      /PROJECTOR_BATCH_WINDOW_MAX_MS/,
    );
    expect(() => loadConfig({ PROJECTOR_BATCH_WINDOW_MAX_MS: 'soon' })).toThrow(
      /PROJECTOR_BATCH_WINDOW_MAX_MS/,
    );
  });

  test('a warning threshold above the drift threshold is rejected', () => {
    expect(() => loadConfig({ COSTSIM_DRIFT_WARNING_THRESHOLD: '0.3' })).toThrow(
      /COSTSIM_DRIFT_WARNING_THRESHOLD/,
    );
  });
});
