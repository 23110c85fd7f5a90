import type { Logger } from 'pino';
import { abortableSleep } from '../abortableSleep';
import { LeaderElector } from './leaderElector';

/**
 * A singleton job (docs/domain.md §7): one replica at a time, chosen by an advisory lock held on a dedicated
 * connection, runs `pass` every `intervalMs`. A failed pass is logged and retried next interval; losing the
 * lock (or stop()) ends the wait at once, and the next leader takes over.
 */
export class PeriodicLeaderJob {
  private readonly elector: LeaderElector;

  constructor(
    private readonly options: {
      connectionString: string;
      lockId: number;
      /** names the lock connection and the log lines */
      name: string;
      intervalMs: number;
      pass: () => Promise<unknown>;
      /** how often a standby tries for the lock (default: the elector's) */
      retryMs?: number;
      logger?: Logger;
    },
  ) {
    this.elector = new LeaderElector(options.connectionString, options.lockId, options.name, {
      ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
      onChange: (leader) =>
        options.logger?.info(
          { job: options.name, lock_id: options.lockId, leader },
          leader ? `${options.name}: leading` : `${options.name}: standing by`,
        ),
      onError: (err) => options.logger?.warn({ err }, `${options.name}: error`),
    });
  }

  start(): void {
    this.elector.start(async ({ signal }) => {
      while (!signal.aborted) {
        await this.options
          .pass()
          .catch((err: unknown) => this.options.logger?.warn({ err }, `${this.options.name}: pass failed`));
        await abortableSleep(this.options.intervalMs, signal);
      }
    });
  }

  stop(): Promise<void> {
    return this.elector.stop();
  }
}
