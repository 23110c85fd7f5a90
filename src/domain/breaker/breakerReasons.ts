/**
 * Reason texts, kept byte-for-byte with the original service (dashboards and alert rules match on them).
 * `${threshold}` prints a JS number the way Python's f-string printed the float for the usual values
 * (0.2 → "0.2", 5 → "5").
 */
export const driftTripReason = (score: number, threshold: number): string =>
  `Drift exceeded threshold: ${score.toFixed(4)} > ${threshold}`;

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
