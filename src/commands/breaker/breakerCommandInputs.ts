import type { z } from 'zod';
import type { BreakerCommand } from '../../domain/breaker';
import type { disableBody } from './breakerSchemas';

/** The disable command for a validated input (HTTP body or CLI options), time and incident id given later. */
export const disableCommand =
  (input: z.infer<typeof disableBody>, actor: string) =>
  (now: Date, incidentId: string): BreakerCommand => ({
    type: 'DisableBreaker',
    reason: input.reason,
    actor,
    ttl_hours: input.ttl_hours ?? null,
    disabled_until: input.disabled_until ?? null,
    incident_id: incidentId,
    now,
  });

/** The enable command; an empty reason means none ("Manual reset"). */
export const enableCommand =
  (reason: string | undefined, actor: string) =>
  (now: Date): BreakerCommand => ({ type: 'EnableBreaker', actor, reason: reason || null, now });
