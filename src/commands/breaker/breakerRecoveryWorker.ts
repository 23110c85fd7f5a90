import type { Logger } from 'pino';
import { AUTO_RECOVER_ACTOR, breakerId } from '../../domain/breaker';
import { PeriodicLeaderJob } from '../../infra/postgres/periodicLeaderJob';
import type { BreakerQueries } from '../../projections/breaker/breakerQueries';
import type { BreakerCommandService } from './breakerCommandService';

/**
 * Writes TTL recoveries (docs/domain.md §3). One replica sweeps (advisory lock 7011) so replicas do not all
 * race for the same breakers; exactly-once does not depend on that lock: the decider emits a recovery
 * only for an open breaker whose TTL passed, and the append's expected version lets only one such
 * decision land per trip.
 */
export class BreakerRecoveryWorker {
  private readonly job: PeriodicLeaderJob;

  constructor(
    connectionString: string,
    lockId: number,
    private readonly queries: BreakerQueries,
    private readonly service: BreakerCommandService,
    private readonly pollMs: number,
    private readonly logger?: Logger,
  ) {
    this.job = new PeriodicLeaderJob({
      connectionString,
      lockId,
      name: 'breaker-recovery',
      intervalMs: pollMs,
      retryMs: Math.max(pollMs, 500),
      pass: () => this.sweep(),
      ...(logger ? { logger } : {}),
    });
  }

  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** One pass: every breaker the read model shows open past its TTL gets a RecoverExpiredBreaker. */
  async sweep(now = new Date()): Promise<number> {
    let recovered = 0;
    for (const ref of await this.queries.expired(now)) {
      const outcome = await this.service.execute(
        breakerId(ref.name, ref.tenant_id),
        (at) => ({ type: 'RecoverExpiredBreaker', now: at }),
        { metadata: { actor_key: AUTO_RECOVER_ACTOR } },
      );
      if (outcome.changed) recovered++;
    }
    if (recovered > 0) this.logger?.info({ recovered }, 'breaker recovery: TTL recoveries written');
    return recovered;
  }
}
