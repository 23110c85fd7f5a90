import { floatRepr, formatFixed } from '../simulation/pythonFormat';

/**
 * Reason texts, kept byte-for-byte with the original service (dashboards and alert rules match on them).
 * The drift trip is the original's f-string `f"{score:.4f} > {threshold}"` over floats: the score rounded
 * as Python does (exact ties to even: 0.28125 → "0.2812", where toFixed gives "0.2813") and the threshold
 * as Python's float repr (0.2 → "0.2", a threshold of 1 → "1.0").
 */
export const driftTripReason = (score: number, threshold: number): string =>
  `Drift exceeded threshold: ${formatFixed(score, 4)} > ${floatRepr(threshold)}`;

export const schemaTripReason = (count: number, threshold: number): string =>
  `Schema error threshold exceeded: ${count} >= ${threshold}`;

/** A canary trip names every failed run that led to it, oldest first. */
export const canaryTripReason = (runIds: readonly string[], threshold: number): string =>
  `Canary failed ${runIds.length} consecutive runs (threshold ${threshold}): ${runIds.join(', ')}`;

export const HALF_OPEN_REASON =
  'TTL expired: half-open, V2 stays off until a canary run passes (COSTSIM_RECOVERY_REQUIRES_CANARY)';

export const canaryRecoveredNotes = (runId: string): string =>
  `Recovered: canary run ${runId} passed after the TTL expired`;

export const recoveryDeferredReason = (runId: string, status: string, until: string): string =>
  `Recovery blocked: canary run ${runId} ended ${status}; V2 stays off, TTL extended to ${until}`;

/** Suppressed trips keep the trip text (same alert wording) and say why nothing was disabled. */
export const driftTripSuppressedReason = (score: number, threshold: number): string =>
  `${driftTripReason(score, threshold)} (auto-disable is off; V2 stays enabled)`;
