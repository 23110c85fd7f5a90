import { eventTypeList } from '../decider';
import type { CanaryReport, CanaryTrigger } from './canaryReport';

/** One stream per run: `canary-<run_id>`; a scheduled run's id derives from its slot, so it runs once. */
export const canaryStream = (runId: string): string => `canary-${runId}`;

export interface CanaryRunStarted {
  type: 'CanaryRunStarted';
  data: {
    run_id: string;
    started_at: string;
    trigger: CanaryTrigger;
    /** provenance samples asked for */
    sample_count: number;
    /** null = every loaded dataset */
    dataset_ids: string[] | null;
    instance: string;
    /** a scheduled run's slot */
    scheduled_for?: string;
  };
}

export interface CanaryRunCompleted {
  type: 'CanaryRunCompleted';
  data: { report: CanaryReport };
}

export type CanaryEvent = CanaryRunStarted | CanaryRunCompleted;

export const CANARY_EVENT_TYPES = eventTypeList<CanaryEvent['type']>({
  CanaryRunStarted: true,
  CanaryRunCompleted: true,
});
