import { hostname } from 'node:os';
import { Cron } from 'croner';
import { z } from 'zod';

/**
 * The one place that reads the environment (docs/domain.md §8). Every value is validated at start-up and a bad
 * one stops the service with a message naming the variable; everything else receives a typed `Config`.
 */

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'True', 'False'], {
      message: 'must be true or false',
    })
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v.toLowerCase())));

const num = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER, integer = false) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    });

const postgresUrl = z
  .string()
  .optional()
  .refine((v) => v === undefined || v === '' || /^postgres(ql)?:\/\//.test(v), {
    message: 'must be a postgres:// or postgresql:// URL',
  })
  .transform((v) => (v ? v : undefined));

const urlList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const urls = (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const u of urls) {
      if (!URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol)) {
        ctx.addIssue({ code: 'custom', message: `"${u}" is not an http(s) URL` });
        return z.NEVER;
      }
    }
    return urls.map((u) => u.replace(/\/+$/, ''));
  });

/** Comma-separated breaker names (docs/api.md "Breakers": the declared breakers besides costsim_v2). */
const breakerNames = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const names = (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const name of names) {
      if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `"${name}" is not a breaker name (^[a-z0-9][a-z0-9_.-]{0,63}$)`,
        });
        return z.NEVER;
      }
    }
    return [...new Set(names)];
  });

const MIB = 1024 * 1024;

/** A cron expression croner accepts (5 or 6 fields). */
const cronExpression = z
  .string()
  .default('0 3 * * *')
  .superRefine((v, ctx) => {
    try {
      new Cron(v, { paused: true }).stop();
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a cron expression: ${(err as Error).message}` });
    }
  });

/** An IANA time zone the runtime knows (Intl). */
const timeZone = z
  .string()
  .default('UTC')
  .refine(
    (v) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: v });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be an IANA time zone (e.g. UTC, Europe/Berlin)' },
  );

/** Optional number in [min, max]; unset or empty = undefined. */
const optionalNum = (min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a number in [${min}, ${max}], got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

/**
 * Every variable the service reads, with its default. docs/configuration.md documents each one (a unit test
 * checks that every key here appears there): add a variable here and a row there.
 */
const envSchema = z.object({
  PORT: num(8000, 0, 65535, true),
  HOST: z.string().min(1).optional(),
  DATABASE_URL: postgresUrl,
  DATA_DIR: z.string().min(1).default('.data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  COSTSIM_API_KEYS: z.string().optional(),
  COSTSIM_API_KEYS_FILE: z.string().optional(),
  COSTSIM_V2_SANDBOX: bool(false),
  COSTSIM_V2_AUTO_DISABLE: bool(true),
  COSTSIM_CANARY_ENABLED: bool(true),
  /** When the leader runs the canary (cron, croner syntax), in COSTSIM_CANARY_TZ. */
  COSTSIM_CANARY_SCHEDULE: cronExpression,
  COSTSIM_CANARY_TZ: timeZone,
  /** Recent sandbox pairs a run samples when the request names no sample_count (docs/domain.md §6: 100). */
  COSTSIM_CANARY_SAMPLE_COUNT: num(100, 10, 1000, true),
  /** A run still going after this ends with status `error`; nothing half-done counts as a pass. */
  COSTSIM_CANARY_MAX_RUNTIME_SECONDS: num(300, 0.001, 86400),
  /** Optional fail rule: the paired (Wilcoxon signed-rank) p-value below this fails the run. */
  COSTSIM_CANARY_PAIRED_ALPHA: optionalNum(0, 1),
  /** Datasets scheduled and recovery runs include: unset = all, `none` = none, else comma-separated ids. */
  COSTSIM_CANARY_DATASETS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return null;
      if (v.trim() === 'none') return [];
      const ids = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = ids.find((id) => !/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(id));
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `"${bad}" is not a dataset id` });
        return z.NEVER;
      }
      return ids;
    }),
  /** A directory of extra golden datasets (`*.json`), loaded beside the built-in ones. */
  COSTSIM_DATASETS_DIR: z.string().min(1).optional(),
  COSTSIM_DRIFT_THRESHOLD: num(0.2, 0, 1),
  COSTSIM_DRIFT_WARNING_THRESHOLD: num(0.15, 0, 1),
  COSTSIM_SCHEMA_ERROR_THRESHOLD: num(5, 1, 1_000_000, true),
  COSTSIM_FAILURE_THRESHOLD: num(3, 1, 1_000_000, true),
  /** Consecutive failed canary runs that trip the breaker (P2): KL and per-sample drift are different scales. */
  COSTSIM_CANARY_FAILURE_THRESHOLD: num(3, 1, 1_000_000, true),
  /** Recovery gate: an expired TTL half-opens the breaker; only a passing canary closes it. */
  COSTSIM_RECOVERY_REQUIRES_CANARY: bool(false),
  COSTSIM_AUTO_RECOVER: bool(true),
  COSTSIM_DISABLE_TTL_HOURS: num(24, 0, 24 * 365 * 10),
  COSTSIM_BREAKER_SCOPE: z.enum(['global', 'tenant']).default('global'),
  COSTSIM_MODEL_VERSION: z.string().min(1).default('2.0.0'),
  COSTSIM_ADAPTER_VERSION: z.string().min(1).default('2.0.0'),
  COSTSIM_PROVENANCE_RETENTION_DAYS: num(90, 1, 36500, true),
  /**
   * Run the drift_rollup projection (docs/projections.md): drift-stats over long windows from hour/day
   * summaries. Off by default: on 2 cores its lane, beside a provenance flood, starved the V2 gates of
   * the leading replica (test/e2e/gateUnderFlood.test.ts); without it drift-stats reads raw rows, exactly.
   */
  COSTSIM_DRIFT_ROLLUP: bool(false),
  /** An external V2 (POST, JSON) instead of the built-in model; unset = built-in (docs/simulation.md). */
  COSTSIM_V2_URL: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || v === '' || (URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)),
      {
        message: 'must be an http(s) URL',
      },
    )
    .transform((v) => (v ? v : undefined)),
  COSTSIM_V2_TIMEOUT_MS: num(2000, 1, 600_000, true),
  GIT_COMMIT_SHA: z.string().default('unknown'),
  ALERTMANAGER_URL: urlList,
  ALERTMANAGER_TIMEOUT: num(10, 0.1, 300),
  ALERT_RESEND_INTERVAL: num(60, 1, 86400),
  ALERT_DELIVERY_POLL_MS: num(1000, 20, 60_000, true),
  /** Rows a delivery worker claims and POSTs to one Alertmanager at once (issue #13). */
  ALERT_DELIVERY_BATCH_SIZE: num(200, 1, 1000, true),
  /** Base URL operators reach this service at; alerts' generatorURL points at the breaker there. */
  COSTSIM_PUBLIC_URL: z.url({ message: 'must be an absolute URL' }).optional(),
  /**
   * Base URL of the runbooks (docs/runbooks/); each alert's runbook_url is a file under it. Default: the
   * service's own copy, <COSTSIM_PUBLIC_URL>/docs/runbooks/ (served by every replica, no key needed).
   */
  COSTSIM_RUNBOOK_URL: z.url({ message: 'must be an absolute URL' }).optional(),
  COSTSIM_BREAKERS: breakerNames,
  /** Body limit of provenance writes (docs/api.md Conventions); every other route takes at most 1 MiB. */
  COSTSIM_MAX_BATCH_BYTES: num(64 * MIB, MIB, 1024 * MIB, true),
  /** true: /metrics shows per-tenant and per-breaker series to anyone (else only with the metrics token). */
  COSTSIM_METRICS_DETAIL: bool(false),
  /** Bearer token that unlocks per-tenant and per-breaker series on /metrics. */
  COSTSIM_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** A client must send its request headers within this (slowloris bound); 408 otherwise. */
  HTTP_HEADERS_TIMEOUT_MS: num(10_000, 1000, 600_000, true),
  /** A client must send its whole request (headers and body) within this; 408 otherwise. */
  HTTP_REQUEST_TIMEOUT_MS: num(300_000, 1000, 3_600_000, true),
  /** An idle keep-alive connection is closed after this. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: num(5_000, 100, 600_000, true),
  /** Connections one client address may hold open at once; more are refused (closed at once). */
  HTTP_MAX_CONNECTIONS_PER_CLIENT: num(256, 1, 100_000, true),
  INSTANCE_ID: z.string().min(1).optional(),
  PROJECTOR_ENABLED: bool(true),
  /**
   * Where the projector runs: `worker`, a worker thread of its own (its lanes neither wait behind requests
   * nor delay them), or `inline`, on the request thread (what earlier versions did; kept for comparison:
   * bench provenanceLive measures both).
   */
  PROJECTOR_THREAD: z.enum(['worker', 'inline'], { message: 'must be worker or inline' }).default('worker'),
  PROJECTOR_BATCH_SIZE: num(500, 1, 100_000, true),
  /**
   * Events per transaction of a projection that applies ranges in SQL (provenance): its payloads stay in
   * the database, so PROJECTOR_BATCH_MAX_BYTES is what bounds its batches (docs/projections.md). 500, not
   * more: a batch's statement holds its transaction id while it runs, and with it the read horizon of
   * every event-store reader, the V2 gates too (bench breaker under a provenance flood, same machine:
   * gate disable staleness p99 2 494 ms at 5 000, 668 ms at 500).
   */
  PROJECTOR_RANGE_BATCH_SIZE: num(500, 1, 100_000, true),
  PROJECTOR_POLL_MS: num(250, 10, 60_000, true),
  PROJECTOR_BATCH_WINDOW_MS: num(20, 0, 1000, true),
  /**
   * What a lane's window grows to while events keep coming (src/projections/runtime/batchWindow.ts): under
   * a simulate flood, fixed at 20 ms, the provenance and breaker lanes committed ~107 batches a second
   * between them; growing to 250 ms, ~10 (bench simulate). Never below PROJECTOR_BATCH_WINDOW_MS.
   */
  PROJECTOR_BATCH_WINDOW_MAX_MS: num(250, 0, 10_000, true),
  PROJECTOR_MAX_LAG_SECONDS: num(30, 1, 86400),
  /** A projector batch stops taking events once their stored payloads reach this size (docs/projections.md). */
  PROJECTOR_BATCH_MAX_BYTES: num(8 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024, true),
  /** Failed attempts at a batch before the failing event is isolated (and, for untrusted data, parked). */
  PROJECTOR_RETRY_ATTEMPTS: num(3, 0, 1000, true),
  PROJECTOR_RETRY_BACKOFF_MS: num(200, 1, 60_000, true),
  PROJECTOR_RETRY_MAX_BACKOFF_MS: num(10_000, 1, 600_000, true),
  BREAKER_RECOVERY_POLL_MS: num(1000, 50, 60_000, true),
  /** The V2 gate reads breaker events at least this often (wake-ups on appends make it earlier). */
  BREAKER_CACHE_POLL_MS: num(250, 50, 60_000, true),
  /**
   * The V2 gate fails closed (V2 off on this replica) when its last successful read of breaker events is
   * older than this: the 1 s propagation contract (docs/gate.md). Keep it above BREAKER_CACHE_POLL_MS.
   */
  BREAKER_CACHE_MAX_STALENESS_MS: num(1000, 100, 600_000, true),
  /** Commands that may wait on one stream per instance before new ones get 503 (load shedding). */
  COMMAND_QUEUE_LIMIT: num(10_000, 1, 10_000_000, true),
  /** A breaker stream is snapshotted every this many events (0 = never). */
  BREAKER_SNAPSHOT_EVERY: num(500, 0, 10_000_000, true),
  /** The event stream (GET /costsim/events/stream) sends a comment this often, so idle proxies keep it open. */
  STATUS_STREAM_HEARTBEAT_MS: num(15_000, 100, 600_000, true),
  /**
   * Bytes a stream connection may have waiting unsent (a slow client); past this it is closed, and the
   * client resumes with Last-Event-ID, so one slow reader never holds memory or delays the others.
   */
  STATUS_STREAM_MAX_BUFFERED_BYTES: num(1024 * 1024, 4096, 256 * MIB, true),
  /** The stream's shared feed reads new events at least this often (wake-ups on appends make it earlier). */
  STATUS_STREAM_POLL_MS: num(250, 20, 60_000, true),
  /** Wake-ups come with every append (a provenance flood: thousands a second); the feed reads at most this often. */
  STATUS_STREAM_MIN_READ_GAP_MS: num(50, 0, 1000, true),
});

export type Env = z.infer<typeof envSchema>;

/** Everything else receives this (derived from the schema through configFromEnv). */
export type Config = ReturnType<typeof configFromEnv>;

/** The names of every variable the configuration reads (docs and the unknown-variable warning use it). */
export const configVariables: readonly string[] = Object.keys(envSchema.shape);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.BREAKER_CACHE_POLL_MS >= e.BREAKER_CACHE_MAX_STALENESS_MS) {
    throw new ConfigError([
      `BREAKER_CACHE_POLL_MS: must be below BREAKER_CACHE_MAX_STALENESS_MS (${e.BREAKER_CACHE_MAX_STALENESS_MS}), or the V2 gate fails closed between two polls`,
    ]);
  }
  if (e.COSTSIM_RECOVERY_REQUIRES_CANARY && !e.COSTSIM_CANARY_ENABLED) {
    throw new ConfigError([
      'COSTSIM_RECOVERY_REQUIRES_CANARY: needs COSTSIM_CANARY_ENABLED=true (no canary would ever close a half-open breaker)',
    ]);
  }
  if (e.COSTSIM_DRIFT_WARNING_THRESHOLD > e.COSTSIM_DRIFT_THRESHOLD) {
    throw new ConfigError([
      `COSTSIM_DRIFT_WARNING_THRESHOLD: must not exceed COSTSIM_DRIFT_THRESHOLD (${e.COSTSIM_DRIFT_THRESHOLD})`,
    ]);
  }
  return configFromEnv(e);
}

/**
 * The typed configuration, from the parsed variables. `Config` is this function's result type, so a new
 * variable is its schema line above and its line here; no interface to keep in step.
 */
function configFromEnv(e: Env) {
  return {
    port: e.PORT,
    /** Commands waiting per stream before new ones are refused with 503. */
    commandQueueLimit: e.COMMAND_QUEUE_LIMIT,
    /** undefined = decided at start-up: 127.0.0.1 when no API keys are configured, else 0.0.0.0. */
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    apiKeysJson: e.COSTSIM_API_KEYS,
    apiKeysFile: e.COSTSIM_API_KEYS_FILE,
    sandboxEnabled: e.COSTSIM_V2_SANDBOX,
    canaryEnabled: e.COSTSIM_CANARY_ENABLED,
    canary: {
      schedule: e.COSTSIM_CANARY_SCHEDULE,
      timeZone: e.COSTSIM_CANARY_TZ,
      sampleCount: e.COSTSIM_CANARY_SAMPLE_COUNT,
      maxRuntimeSeconds: e.COSTSIM_CANARY_MAX_RUNTIME_SECONDS,
      /** undefined = the paired test is reported, never a fail reason */
      pairedAlpha: e.COSTSIM_CANARY_PAIRED_ALPHA,
      datasetsDir: e.COSTSIM_DATASETS_DIR,
      /** datasets of scheduled and recovery runs: null = all */
      datasets: e.COSTSIM_CANARY_DATASETS,
    },
    breaker: {
      driftThreshold: e.COSTSIM_DRIFT_THRESHOLD,
      driftWarningThreshold: e.COSTSIM_DRIFT_WARNING_THRESHOLD,
      schemaErrorThreshold: e.COSTSIM_SCHEMA_ERROR_THRESHOLD,
      failureThreshold: e.COSTSIM_FAILURE_THRESHOLD,
      canaryFailureThreshold: e.COSTSIM_CANARY_FAILURE_THRESHOLD,
      recoveryRequiresCanary: e.COSTSIM_RECOVERY_REQUIRES_CANARY,
      autoDisable: e.COSTSIM_V2_AUTO_DISABLE,
      autoRecover: e.COSTSIM_AUTO_RECOVER,
      disableTtlHours: e.COSTSIM_DISABLE_TTL_HOURS,
      scope: e.COSTSIM_BREAKER_SCOPE,
      recoveryPollMs: e.BREAKER_RECOVERY_POLL_MS,
      cachePollMs: e.BREAKER_CACHE_POLL_MS,
      cacheMaxStalenessMs: e.BREAKER_CACHE_MAX_STALENESS_MS,
      snapshotEvery: e.BREAKER_SNAPSHOT_EVERY,
    },
    modelVersion: e.COSTSIM_MODEL_VERSION,
    adapterVersion: e.COSTSIM_ADAPTER_VERSION,
    commitSha: e.GIT_COMMIT_SHA,
    provenanceRetentionDays: e.COSTSIM_PROVENANCE_RETENTION_DAYS,
    driftRollup: e.COSTSIM_DRIFT_ROLLUP,
    /** Which V2 runs beside V1: the built-in model (url undefined) or an external one over HTTP. */
    v2: { url: e.COSTSIM_V2_URL, timeoutMs: e.COSTSIM_V2_TIMEOUT_MS },
    alertmanager: {
      urls: e.ALERTMANAGER_URL,
      timeoutSeconds: e.ALERTMANAGER_TIMEOUT,
      resendIntervalSeconds: e.ALERT_RESEND_INTERVAL,
      deliveryPollMs: e.ALERT_DELIVERY_POLL_MS,
      deliveryBatchSize: e.ALERT_DELIVERY_BATCH_SIZE,
      /** undefined = http://<INSTANCE_ID>:<PORT> */
      publicUrl: e.COSTSIM_PUBLIC_URL,
      /** Base URL of the runbooks; undefined = <publicUrl>/docs/runbooks/ */
      runbookUrl: e.COSTSIM_RUNBOOK_URL,
    },
    /** Breakers declared by configuration (COSTSIM_BREAKERS), besides costsim_v2. */
    declaredBreakers: e.COSTSIM_BREAKERS,
    maxBatchBytes: e.COSTSIM_MAX_BATCH_BYTES,
    metrics: { detail: e.COSTSIM_METRICS_DETAIL, token: e.COSTSIM_METRICS_TOKEN },
    http: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnectionsPerClient: e.HTTP_MAX_CONNECTIONS_PER_CLIENT,
    },
    instanceId: e.INSTANCE_ID ?? hostname(),
    projector: {
      enabled: e.PROJECTOR_ENABLED,
      thread: e.PROJECTOR_THREAD,
      batchSize: e.PROJECTOR_BATCH_SIZE,
      rangeBatchSize: e.PROJECTOR_RANGE_BATCH_SIZE,
      pollMs: e.PROJECTOR_POLL_MS,
      batchWindowMs: e.PROJECTOR_BATCH_WINDOW_MS,
      batchWindowMaxMs: Math.max(e.PROJECTOR_BATCH_WINDOW_MS, e.PROJECTOR_BATCH_WINDOW_MAX_MS),
      maxLagSeconds: e.PROJECTOR_MAX_LAG_SECONDS,
      batchMaxBytes: e.PROJECTOR_BATCH_MAX_BYTES,
      retry: {
        attempts: e.PROJECTOR_RETRY_ATTEMPTS,
        backoffMs: e.PROJECTOR_RETRY_BACKOFF_MS,
        maxBackoffMs: Math.max(e.PROJECTOR_RETRY_BACKOFF_MS, e.PROJECTOR_RETRY_MAX_BACKOFF_MS),
      },
    },
    /** The status page's event stream. */
    statusStream: {
      heartbeatMs: e.STATUS_STREAM_HEARTBEAT_MS,
      maxBufferedBytes: e.STATUS_STREAM_MAX_BUFFERED_BYTES,
      pollMs: e.STATUS_STREAM_POLL_MS,
      minReadGapMs: e.STATUS_STREAM_MIN_READ_GAP_MS,
    },
  };
}
