import { DomainError } from '../decider';
import { MAX_AMOUNT, findUnstorable, formatPath, parseStorableInstant, textProblem } from '../storableValues';
import type { ProvenanceRecord } from './provenanceRecorded';

/** A provenance record that the read model could not hold; `field` names the culprit. */
export class InvalidProvenanceRecordError extends DomainError {
  override readonly code = 'provenance.invalid_record';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const TEXT_FIELDS = [
  'variant_slug',
  'source',
  'run_id',
  'tenant_id',
  'model_version',
  'adapter_version',
  'commit_sha',
  'input_hash',
  'output_hash',
  'verdict',
] as const;
const NUMBER_FIELDS = ['v1_cost', 'v2_cost', 'drift_score', 'runtime_ms'] as const;

/**
 * Checks that a record can be stored and projected (docs/limits.md): the provenance projection casts its
 * fields to text, float8 and timestamptz, so one it cannot cast would stop it. The HTTP schemas check the
 * same and more (allowed values, lengths); this makes a record built in-process (simulation, backfill)
 * just as safe.
 */
export function assertStorableRecord(
  record: Omit<ProvenanceRecord, 'id' | 'cost_delta' | 'created_at'> & { created_at?: string },
): void {
  const fail = (field: string, message: string): never => {
    throw new InvalidProvenanceRecordError(field, `${field} ${message}`);
  };
  for (const field of TEXT_FIELDS) {
    const value = record[field];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') fail(field, 'must be a string');
    const problem = textProblem(value as string);
    if (problem) fail(field, problem);
  }
  for (const field of NUMBER_FIELDS) {
    const value = record[field];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_AMOUNT) {
      fail(field, `must be a finite number within ±${MAX_AMOUNT}`);
    }
  }
  const [problem] = findUnstorable(record.payload ?? {});
  if (problem) fail(formatPath(['payload', ...problem.path]), problem.message);
  if (record.created_at !== undefined) {
    const parsed = parseStorableInstant(record.created_at);
    if (!parsed.ok) fail('created_at', parsed.message);
  }
}
