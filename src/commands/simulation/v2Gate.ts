import type { BreakerStateCache } from '../../projections/breaker/breakerStateCache';
import type { BreakerRef } from './shadowSimulation';

const SANDBOX_BREAKER = 'costsim_v2';
const keyOf = (name: string, tenantId: string | null) => (tenantId === null ? name : `${name}@${tenantId}`);

/**
 * The V2 gate of this instance: the breaker slice's cache (every replica's view, from the read model,
 * within about a second) plus the trips this instance has just written itself. Without the second part, the
 * requests between this instance's trip and the cache's next reload would still call V2 — the kill switch
 * would be open for up to a second on the very instance that pulled it. A trip seen here counts until the
 * cache has reached the stream version it was written at; from then on the cache is the truth (an enable
 * written later is then visible through it).
 */
export class V2Gate {
  private readonly openedHere = new Map<string, number>();

  constructor(private readonly cache: BreakerStateCache) {}

  /** A command this instance ran on a breaker: remember it if it left the breaker open. */
  observe(ref: BreakerRef, after: { open: boolean }, version: number): void {
    if (after.open) this.openedHere.set(keyOf(ref.name, ref.tenantId), version);
  }

  isV2Disabled(tenantId: string | null): boolean {
    return (
      this.cache.isV2Disabled(tenantId) ||
      this.openedHereOnly(null) ||
      (tenantId !== null && this.openedHereOnly(tenantId))
    );
  }

  private openedHereOnly(tenantId: string | null): boolean {
    const key = keyOf(SANDBOX_BREAKER, tenantId);
    const version = this.openedHere.get(key);
    if (version === undefined) return false;
    const cached = this.cache.snapshot(SANDBOX_BREAKER, tenantId);
    if (cached && cached.version >= version) {
      this.openedHere.delete(key);
      return false;
    }
    return true;
  }
}
