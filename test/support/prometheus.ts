import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { type Daemon, findExecutable, startDaemon } from './daemon';
import { freePort } from './quietServe';

/** One series of an instant query's answer (`resultType` vector). */
export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An alert as `GET /api/v1/alerts` lists it. */
export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface ScrapeTarget {
  /** Base URL of the service; Prometheus scrapes `<url>/metrics`. */
  url: string;
  job: string;
  /** Sent as `Authorization: Bearer` (the service's COSTSIM_METRICS_TOKEN). */
  bearerToken?: string;
}

export interface RunningPrometheus {
  url: string;
  /** An instant query (`/api/v1/query`); a vector answer's series, a scalar as one unlabelled series. */
  query(expr: string): Promise<Sample[]>;
  /** Active alerts (pending and firing) of the loaded rules. */
  alerts(): Promise<PrometheusAlert[]>;
  /** Health of each scrape target (`/api/v1/targets`): 'up', 'down' or 'unknown'. */
  targetHealth(): Promise<Array<{ job: string; health: string; lastError: string }>>;
  /** SIGTERM (SIGKILL after 5 s), then removes its config and storage. */
  stop(): Promise<void>;
}

const INSTALL_HINT = 'apt-get install -y prometheus';

/** PROMETHEUS_BIN, else the Debian package's binary, else `prometheus` on PATH; null if none. */
export function prometheusBinary(): string | null {
  return findExecutable(process.env.PROMETHEUS_BIN, ['/usr/bin/prometheus'], ['prometheus']);
}

/**
 * Starts a real Prometheus on a free loopback port with a config of its own (temp dir): the targets
 * scraped every `intervalSeconds`, the rule files loaded and evaluated at the same interval, alerts
 * sent to `alertmanagerUrl` when given.
 */
export async function startPrometheus(opts: {
  targets: ScrapeTarget[];
  ruleFiles?: string[];
  intervalSeconds?: number;
  alertmanagerUrl?: string;
}): Promise<RunningPrometheus> {
  const bin = prometheusBinary();
  if (!bin) {
    throw new Error(
      `Prometheus not found (set PROMETHEUS_BIN, or put it at /usr/bin/prometheus or on PATH): ${INSTALL_HINT}`,
    );
  }
  const interval = `${opts.intervalSeconds ?? 1}s`;
  const dir = await mkdtemp(join(tmpdir(), 'costsim-test-prom-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: opts.ruleFiles ?? [],
    ...(opts.alertmanagerUrl
      ? {
          alerting: {
            alertmanagers: [{ static_configs: [{ targets: [new URL(opts.alertmanagerUrl).host] }] }],
          },
        }
      : {}),
    scrape_configs: opts.targets.map((t) => {
      const target = new URL(t.url);
      return {
        job_name: t.job,
        scheme: target.protocol.replace(':', ''),
        metrics_path: `${target.pathname.replace(/\/+$/, '')}/metrics`,
        ...(t.bearerToken ? { authorization: { type: 'Bearer', credentials: t.bearerToken } } : {}),
        static_configs: [{ targets: [target.host] }],
      };
    }),
  };
  await writeFile(join(dir, 'prometheus.yml'), stringify(config));
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      name: 'Prometheus',
      bin,
      args: [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      readyUrl: `${url}/-/ready`,
      timeoutMs: 30_000,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  async function api<T>(path: string): Promise<T> {
    const { statusCode, body } = await request(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
    const text = await body.text();
    const parsed = JSON.parse(text) as { status: string; data: T; error?: string; errorType?: string };
    if (statusCode !== 200 || parsed.status !== 'success') {
      throw new Error(
        `GET ${path} answered ${statusCode}: ${parsed.errorType ?? ''} ${parsed.error ?? text}`,
      );
    }
    return parsed.data;
  }

  return {
    url,
    async query(expr) {
      const data = await api<{ resultType: string; result: unknown }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      if (data.resultType === 'vector') return data.result as Sample[];
      if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
      throw new Error(`query ${expr} answered a ${data.resultType}, not an instant vector or scalar`);
    },
    alerts: async () => (await api<{ alerts: PrometheusAlert[] }>('/api/v1/alerts')).alerts,
    targetHealth: async () =>
      (
        await api<{ activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> }>(
          '/api/v1/targets',
        )
      ).activeTargets.map((t) => ({ job: t.labels.job, health: t.health, lastError: t.lastError })),
    stop: async () => {
      await daemon.halt('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
