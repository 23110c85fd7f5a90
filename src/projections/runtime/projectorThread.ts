import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ProjectorObserver } from './projector';
import type {
  ProjectorWorkerCommand,
  ProjectorWorkerData,
  ProjectorWorkerMessage,
} from './projectorWorkerProtocol';

/** What the service holds of its projector, in this thread or its own (PROJECTOR_THREAD). */
export interface ProjectorRole {
  readonly isLeader: boolean;
  start(): void;
  /** Graceful: the batches in flight finish (or roll back), then the lock is released. */
  stop(): Promise<void>;
}

export interface ProjectorThreadStatus {
  /** `restarting`: it ended unexpectedly and waits out its back-off; `stopped`: the service stops it. */
  state: 'running' | 'restarting' | 'stopped';
  /** Unexpected ends so far (each restarted). */
  restarts: number;
  lastExit: { at: string; code: number; error?: string } | null;
}

export interface ProjectorThreadObserver extends ProjectorObserver {
  /** The thread started (true) or ended (false). */
  onThreadUp?(up: boolean): void;
  /** The thread ended without being asked to: it is restarted after a back-off. */
  onThreadCrash?(): void;
}

export interface ProjectorThreadOptions {
  data: ProjectorWorkerData;
  /** The service's logger: the thread's log lines are written through it. */
  logger: Logger;
  observer?: ProjectorThreadObserver;
  /** Back-off before a restart: doubles from minMs to maxMs; back to minMs after a thread ran a minute. */
  restart?: { minMs: number; maxMs: number };
}

/** Past this after the stop request, the thread is terminated (its open transaction rolls back). */
const STOP_TIMEOUT_MS = 20_000;
/** A thread that ran this long before ending starts the back-off again from its minimum. */
const STABLE_MS = 60_000;

const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * The projector on a worker thread of this process (src/projections/runtime/projectorWorker.ts): its lanes
 * read, apply and wait on an event loop that serves no request, so a provenance flood's lane no longer
 * delays the breaker lanes through the request thread's queue, and the projector's CPU no longer delays
 * requests. The thread owns its pool, NOTIFY listener and leadership lock; this side relays what the
 * service's metrics and logs need (batches, failures, leadership, log lines).
 *
 * A thread that ends unexpectedly (an uncaught error, an out-of-memory) is logged at error, counted, and
 * restarted after a back-off (1 s doubling to 30 s): the API and the V2 gate keep serving meanwhile, and its
 * lock went with its connections, so another replica's projector may lead in the meantime. The process is
 * not brought down for it: lag (costsim_projector_lag_seconds, /health/ready) says whether the read models
 * fall behind, costsim_projector_thread_up and costsim_projector_thread_restarts_total say why.
 */
export class ProjectorThread implements ProjectorRole {
  private worker: Worker | null = null;
  private leader = false;
  private stopRequested = false;
  private stopping: Promise<void> | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private startedAt = 0;
  private lastError: Error | null = null;
  private readonly state: ProjectorThreadStatus = { state: 'stopped', restarts: 0, lastExit: null };
  private exited: (() => void) | null = null;
  private markStarted: (() => void) | null = null;
  /**
   * Resolves once the first thread has loaded and started its projector (or ended trying: its end is
   * logged and it is restarted): `serve` answers only after that, as it did with the projector in-thread.
   */
  readonly started: Promise<void> = new Promise((resolve) => (this.markStarted = resolve));

  constructor(private readonly options: ProjectorThreadOptions) {
    this.backoffMs = options.restart?.minMs ?? 1000;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  status(): ProjectorThreadStatus {
    return { ...this.state, lastExit: this.state.lastExit && { ...this.state.lastExit } };
  }

  start(): void {
    if (this.worker || this.stopRequested) return;
    const worker = spawnWorker(this.options.data);
    this.worker = worker;
    this.startedAt = performance.now();
    this.lastError = null;
    this.state.state = 'running';
    this.options.observer?.onThreadUp?.(true);
    worker.on('message', (m: ProjectorWorkerMessage) => this.onMessage(m));
    worker.on('error', (err) => {
      this.lastError = err;
      this.options.logger.error({ err }, 'projector thread: uncaught error');
    });
    worker.on('exit', (code) => this.onExit(worker, code));
  }

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.stopRequested = true;
      if (this.restartTimer) clearTimeout(this.restartTimer);
      const worker = this.worker;
      if (!worker) {
        this.state.state = 'stopped'; // it was waiting out a back-off
        return;
      }
      const exited = new Promise<void>((resolve) => (this.exited = resolve));
      worker.postMessage({ type: 'stop' } satisfies ProjectorWorkerCommand);
      const timer = setTimeout(() => {
        this.options.logger.error(
          { timeout_ms: STOP_TIMEOUT_MS },
          'projector thread: did not stop in time; terminated (its open batch rolls back)',
        );
        void worker.terminate();
      }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    })());
  }

  private onMessage(m: ProjectorWorkerMessage): void {
    const observer = this.options.observer;
    switch (m.type) {
      case 'batch':
        observer?.onBatch?.(m.projection, m.applied);
        break;
      case 'failure':
        observer?.onFailure?.(m.projection);
        break;
      case 'leadership':
        this.setLeader(m.leader);
        break;
      case 'log':
        this.relayLog(m.line);
        break;
      case 'started':
        this.markStarted?.();
        break;
      case 'stopped':
        break;
    }
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.options.observer?.onLeadership?.(leader);
  }

  /** One JSON line of the thread's pino, written again by the service's logger (its base, destination). */
  private relayLog(line: string): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.options.logger.warn({ line }, 'projector thread: unparsable log line');
      return;
    }
    const { level, msg, ...fields } = record;
    const method = LEVELS[typeof level === 'number' ? level : 30] ?? 'info';
    this.options.logger[method](fields, typeof msg === 'string' ? msg : '');
  }

  private onExit(worker: Worker, code: number): void {
    if (worker !== this.worker) return;
    this.worker = null;
    this.markStarted?.();
    this.state.state = this.stopRequested ? 'stopped' : 'restarting';
    this.setLeader(false);
    this.options.observer?.onThreadUp?.(false);
    if (this.stopRequested) {
      this.exited?.();
      return;
    }
    const ranMs = performance.now() - this.startedAt;
    const { minMs = 1000, maxMs = 30_000 } = this.options.restart ?? {};
    if (ranMs >= STABLE_MS) this.backoffMs = minMs;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(maxMs, this.backoffMs * 2);
    this.state.restarts++;
    this.state.lastExit = {
      at: new Date().toISOString(),
      code,
      ...(this.lastError ? { error: this.lastError.message } : {}),
    };
    this.options.observer?.onThreadCrash?.();
    this.options.logger.error(
      { exit_code: code, restart_in_ms: delay, restarts: this.state.restarts },
      'projector thread ended unexpectedly; restarting it',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.start();
    }, delay);
  }
}

/**
 * The thread, from the built JavaScript (dist/) or, when this module runs from its TypeScript source (tests
 * through tsx or jest, `npm run bench` before a build), from the source through tsx: a worker thread
 * inherits no module loader hooks of its parent.
 */
function spawnWorker(data: ProjectorWorkerData): Worker {
  const ext = extname(__filename);
  const entry = join(__dirname, `projectorWorker${ext}`);
  const name = 'costsim-guard projector';
  if (ext === '.js') return new Worker(entry, { workerData: data, name });
  const code = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(entry)});`;
  return new Worker(code, { eval: true, workerData: data, name });
}
