/**
 * PostgreSQL advisory lock ids (docs/domain.md §7). 7001–7004 are the original service's; the rest are ours.
 */
export const LockIds = {
  canary: 7001,
  alertDelivery: 7002,
  provenanceRetention: 7003,
  baselineBackfill: 7004,
  migrations: 7000,
  projector: 7010,
  breakerRecovery: 7011,
  /** Class of the per-projection rebuild locks: (7012, hashtext(projection name)), two-key form. */
  projectionRebuild: 7012,
} as const;
