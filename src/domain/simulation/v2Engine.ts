import type { SimulationInput } from './simulationInput';
import type { V2Result } from './v2Simulator';

/**
 * The port V2 is reached through (docs/domain.md §2.2 "V2 must also be pluggable"): the built-in coefficient
 * model, or an external V2 over HTTP. Every way V2 can fail is an outcome, never an exception, so the
 * caller can answer V1 whatever happens on the V2 side.
 */
export type V2Outcome =
  | { readonly kind: 'answered'; readonly result: V2Result }
  /** no answer within the configured time */
  | { readonly kind: 'timeout'; readonly timeoutMs: number }
  /** answered with a non-2xx status */
  | { readonly kind: 'http_status'; readonly status: number }
  /** refused connection, reset, DNS failure: nothing was answered */
  | { readonly kind: 'unreachable' }
  /** answered, but not V2's output fields: a schema error (reported to the breaker's schema-error path) */
  | { readonly kind: 'invalid_answer'; readonly field: string }
  /** the built-in model threw (a bug): the details are in the log only */
  | { readonly kind: 'failed' };

export interface V2Request {
  readonly input: SimulationInput;
  /** the plan exactly as the client wrote it (lossless numbers), which an external V2 receives */
  readonly writtenPlan: unknown;
  readonly runId: string;
}

/** `engine` label of costsim_v2_simulation_duration_seconds (bounded). */
export type V2EngineName = 'v2_builtin' | 'v2_http';

export interface V2Engine {
  readonly name: V2EngineName;
  run(request: V2Request): Promise<V2Outcome>;
  /** An in-process engine may answer synchronously too (the canary prices thousands of samples in a row). */
  runSync?(request: V2Request): V2Outcome;
  close?(): Promise<void>;
}

/**
 * The fixed, documented `v2_error` text of each failure kind (docs/simulation.md). Details (error messages,
 * bodies) go to the log only: clients never see internal text.
 */
export function v2ErrorText(outcome: Exclude<V2Outcome, { kind: 'answered' }>): string {
  switch (outcome.kind) {
    case 'timeout':
      return `V2 timed out after ${outcome.timeoutMs} ms`;
    case 'http_status':
      return `V2 answered HTTP ${outcome.status}`;
    case 'unreachable':
      return 'V2 unreachable';
    case 'invalid_answer':
      return `V2 answer failed the schema: ${outcome.field}`;
    case 'failed':
      return 'V2 failed';
  }
}

export const V2_DISABLED_TEXT = 'V2 disabled by circuit breaker';
export const PROVENANCE_NOT_RECORDED_TEXT = 'provenance not recorded';
export const DRIFT_NOT_RECORDED_TEXT = 'drift not recorded';
export const SCHEMA_ERROR_NOT_RECORDED_TEXT = 'schema error not recorded';
/** The original's text when the drift report this request made tripped the breaker. */
export const breakerTrippedText = (reason: string): string => `Circuit breaker tripped: ${reason}`;
