import type { BreakerPolicy } from './breakerPolicy';
import { addHours } from './breakerTime';

/** How long a disable lasts: `disabled_until` (null = until enabled) and the TTL it came from. */
export interface DisableWindow {
  readonly disabled_until: string | null;
  readonly ttl_hours: number | null;
}

/**
 * The window of a trip or amendment decided at `now`: the given ttl_hours (0 = until enabled), else the
 * given disabled_until (taken as is, even in the past), else the policy's TTL (0 = until enabled).
 */
export function disableWindow(
  now: string,
  given: { ttl_hours: number | null; disabled_until: string | null },
  policy: Pick<BreakerPolicy, 'disableTtlHours'>,
): DisableWindow {
  if (given.ttl_hours !== null) return fromTtl(now, given.ttl_hours, 'ttl_hours');
  if (given.disabled_until !== null) return { disabled_until: given.disabled_until, ttl_hours: null };
  return fromTtl(now, policy.disableTtlHours, 'disableTtlHours');
}

const fromTtl = (now: string, hours: number, field: string): DisableWindow => ({
  disabled_until: hours === 0 ? null : addHours(now, hours, field),
  ttl_hours: hours,
});
