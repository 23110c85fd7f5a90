import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { alertmanagerSource } from './alertmanagerAvailability';
import { freePort } from './quietServe';

/** An alert as `GET /api/v2/alerts` lists it (`gettableAlert`, the fields tests look at). */
export interface ListedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

export interface RunningAlertmanager {
  url: string;
  port: number;
  /** SIGTERM (SIGKILL after 5 s), then removes the storage directory. */
  stop(): Promise<void>;
  /** stop then start again on the SAME port with the same storage (outage tests) */
  restart(): Promise<void>;
  /** SIGKILL; stays down until start(). */
  kill(): Promise<void>;
  /** Starts it again (no-op while running) and waits until it is ready. */
  start(): Promise<void>;
  /** Every alert it holds: active, silenced, inhibited and not yet processed. */
  alerts(): Promise<ListedAlert[]>;
  /** The running process's id on this machine (benchmarks read its CPU time); null in a container or down. */
  pid(): number | null;
}

const READY_TIMEOUT_MS = 20_000;
const KILL_AFTER_MS = 5_000;

export interface AlertmanagerOptions {
  /**
   * Route every alert to a webhook receiver at this URL (send_resolved: true), so tests see what
   * Alertmanager notifies, not only what it holds. Without it, a "null" receiver notifies nothing.
   */
  webhookUrl?: string;
  /** How long a new group waits before its first notification (default 0s) and between later ones (1s). */
  groupWait?: string;
  groupInterval?: string;
}

/** The configuration file: group_wait small, one group per alert name and breaker, resolves notified. */
export function alertmanagerConfig(options: AlertmanagerOptions = {}): string {
  const timing = `  group_wait: ${options.groupWait ?? '0s'}
  group_interval: ${options.groupInterval ?? '1s'}
  repeat_interval: 4h
  group_by: ['alertname', 'circuit_breaker', 'tenant_id']`;
  if (!options.webhookUrl) {
    return `route:
  receiver: 'null'
${timing}
receivers:
  - name: 'null'
`;
  }
  return `route:
  receiver: 'webhook'
${timing}
receivers:
  - name: 'webhook'
    webhook_configs:
      - url: '${options.webhookUrl}'
        send_resolved: true
`;
}

/**
 * Starts a real Alertmanager on a free loopback port, with its own config and storage: the binary
 * (ALERTMANAGER_BIN or PATH), or the prom/alertmanager image through testcontainers (host network, so the
 * same loopback port and webhook URLs work). Use testWithAlertmanager() so that tests are skipped, with the
 * reason, where neither exists.
 */
export async function startAlertmanager(options: AlertmanagerOptions = {}): Promise<RunningAlertmanager> {
  const source = alertmanagerSource();
  if (source.kind === 'none') throw new Error(source.reason);
  if (source.kind === 'container') return startAlertmanagerContainer(source.image, options);
  const bin = source.path;
  const dir = await mkdtemp(join(tmpdir(), 'costsim-test-am-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let alive = false;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  async function start(): Promise<void> {
    if (alive) return;
    // stop() removed the directory; a later start() gets fresh storage rather than a crash.
    await mkdir(join(dir, 'data'), { recursive: true });
    await writeFile(join(dir, 'alertmanager.yml'), alertmanagerConfig(options));
    output = '';
    const proc = spawn(
      bin,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // Empty: no gossip listener, so parallel test files never try to form a cluster.
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    alive = true;
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let failure: string | undefined;
    exited = new Promise((resolve) => {
      proc.on('error', (err) => {
        alive = false;
        failure = `could not run ${bin}: ${err.message}`;
        resolve();
      });
      proc.on('exit', (code, signal) => {
        alive = false;
        failure ??= `exited with ${code ?? signal}`;
        resolve();
      });
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (failure) throw new Error(`Alertmanager ${failure}:\n${output}`);
      if ((await readyStatus(url)) === 200) return;
      if (Date.now() > deadline) {
        await halt('SIGKILL');
        throw new Error(
          `Alertmanager did not answer ${url}/-/ready within ${READY_TIMEOUT_MS} ms:\n${output}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function halt(signal: NodeJS.Signals): Promise<void> {
    if (!alive) return exited;
    child?.kill(signal);
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child?.kill('SIGKILL'), KILL_AFTER_MS);
    await exited;
    clearTimeout(timer);
  }

  try {
    await start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    port,
    start,
    alerts: () => listAlerts(url),
    pid: () => (alive ? (child?.pid ?? null) : null),
    kill: () => halt('SIGKILL'),
    restart: async () => {
      await halt('SIGTERM');
      await start();
    },
    stop: async () => {
      await halt('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The status of GET /-/ready, or 0 while nothing listens yet. */
async function readyStatus(url: string): Promise<number> {
  try {
    const { statusCode, body } = await request(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
    await body.dump();
    return statusCode;
  } catch {
    return 0;
  }
}

async function listAlerts(url: string): Promise<ListedAlert[]> {
  const { statusCode, body } = await request(
    `${url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`,
    { signal: AbortSignal.timeout(5_000) },
  );
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`GET /api/v2/alerts answered ${statusCode}: ${text}`);
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error(`GET /api/v2/alerts answered a non-array: ${text}`);
  return parsed as ListedAlert[];
}

async function waitReady(url: string, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while ((await readyStatus(url)) !== 200) {
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${url}/-/ready in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The same Alertmanager as a container (image prom/alertmanager), for machines with a container runtime
 * and no binary. Host networking keeps the loopback port across kill/start, as the outage tests need; a
 * kill removes the container and start() runs a new one with the same configuration (storage is lost, as
 * with a restarted Alertmanager without a volume).
 */
async function startAlertmanagerContainer(
  image: string,
  options: AlertmanagerOptions,
): Promise<RunningAlertmanager> {
  const { GenericContainer } = await import('testcontainers');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  type Started = Awaited<ReturnType<InstanceType<typeof GenericContainer>['start']>>;
  let container: Started | null = null;
  const start = async () => {
    if (container) return;
    container = await new GenericContainer(image)
      .withNetworkMode('host')
      .withCopyContentToContainer([
        { content: alertmanagerConfig(options), target: '/etc/alertmanager/alertmanager.yml' },
      ])
      .withCommand([
        '--config.file=/etc/alertmanager/alertmanager.yml',
        '--storage.path=/alertmanager',
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ])
      .start();
    await waitReady(url, `Alertmanager container ${image}`);
  };
  const halt = async () => {
    const running = container;
    container = null;
    await running?.stop({ timeout: 0 });
  };
  await start();
  return {
    url,
    port,
    start,
    alerts: () => listAlerts(url),
    pid: () => null,
    kill: halt,
    stop: halt,
    restart: async () => {
      await halt();
      await start();
    },
  };
}
