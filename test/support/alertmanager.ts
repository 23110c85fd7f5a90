import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { request } from 'undici';
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
}

const INSTALL_HINT = 'apt-get install -y prometheus-alertmanager';
const READY_TIMEOUT_MS = 20_000;
const KILL_AFTER_MS = 5_000;
// group_wait 0s: nothing here waits on notifications, and the "null" receiver sends none anyway.
const CONFIG = `route:
  receiver: 'null'
  group_wait: 0s
receivers:
  - name: 'null'
`;

/** ALERTMANAGER_BIN, else the Debian package's binary, else `alertmanager` on PATH; null if none. */
export function alertmanagerBinary(): string | null {
  const candidates = [
    process.env.ALERTMANAGER_BIN,
    '/usr/bin/prometheus-alertmanager',
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => dir && join(dir, 'alertmanager')),
  ];
  return candidates.find((path): path is string => !!path && isExecutable(path)) ?? null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Starts a real Alertmanager on a free loopback port, with its own config and storage in a temp dir. */
export async function startAlertmanager(): Promise<RunningAlertmanager> {
  const found = alertmanagerBinary();
  if (!found) {
    throw new Error(
      `Alertmanager not found (set ALERTMANAGER_BIN, or put it at /usr/bin/prometheus-alertmanager or on PATH): ${INSTALL_HINT}`,
    );
  }
  const bin = found; // a const of type string, so the hoisted functions below see it narrowed
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
    await writeFile(join(dir, 'alertmanager.yml'), CONFIG);
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

  async function alerts(): Promise<ListedAlert[]> {
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
    alerts,
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
