import { type BreakerCommand, createBreakerDecider, defaultBreakerPolicy } from '../../../src/domain/breaker';

/** Shared fixtures of the decider tests: a fixed clock, the default policy, a manual disable. */
export const T0 = '2025-03-01T12:00:00.000Z';

/** T0 plus a number of hours, as ISO. */
export const at = (hours: number): string => new Date(Date.parse(T0) + hours * 3_600_000).toISOString();

export const decider = createBreakerDecider(defaultBreakerPolicy);

export const disable = (
  over: Partial<Extract<BreakerCommand, { type: 'DisableBreaker' }>> = {},
): BreakerCommand => ({
  type: 'DisableBreaker',
  reason: 'Maintenance',
  actor: 'alice',
  incident_id: 'inc-00000001',
  now: T0,
  ...over,
});
