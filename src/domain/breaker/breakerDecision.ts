import type { BreakerEvent } from './breakerEvents';

/** What an HTTP handler reports about a decision. */
export interface BreakerDecisionSummary {
  /** the breaker opened, closed or had its disable amended (observations alone are not a change). */
  readonly changed: boolean;
  /** an automatic trip (drift or schema errors); a manual disable is `changed`, not `tripped`. */
  readonly tripped: boolean;
  /** the incident this decision opened or amended (the last one, if several), else null. */
  readonly incident_id: string | null;
}

export function summarizeDecision(events: readonly BreakerEvent[]): BreakerDecisionSummary {
  let changed = false;
  let tripped = false;
  let incidentId: string | null = null;
  for (const event of events) {
    switch (event.type) {
      case 'BreakerTripped':
        changed = true;
        tripped ||= event.data.trigger !== 'manual';
        incidentId = event.data.incident_id;
        break;
      case 'BreakerDisableAmended':
        changed = true;
        incidentId = event.data.incident_id;
        break;
      case 'BreakerEnabled':
      case 'BreakerAutoRecovered':
        changed = true;
        break;
      default:
        break;
    }
  }
  return { changed, tripped, incident_id: incidentId };
}
