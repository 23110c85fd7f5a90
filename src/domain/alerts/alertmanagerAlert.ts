/**
 * An alert as Alertmanager's API v2 takes it (`POST /api/v2/alerts`). Alertmanager identifies an alert by
 * its label set: the same labels re-sent refresh it, the same labels with `endsAt` in the past resolve it.
 */
export interface AlertmanagerAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}
