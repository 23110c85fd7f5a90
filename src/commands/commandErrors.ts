import { DomainError } from '../domain/decider';
import { HttpProblem, problems } from '../infra/http/problem';
import { isConnectionError } from '../infra/postgres/pool';
import {
  ConcurrencyConflictError,
  PreconditionFailedError,
  StreamOverloadedError,
} from './deciderCommandRunner';

/** Maps command-side failures to problems; registered with the HTTP app's error handler. */
export function commandErrorToProblem(err: unknown): HttpProblem | null {
  if (err instanceof PreconditionFailedError) {
    return new HttpProblem({
      status: 412,
      title: 'Precondition Failed',
      detail: err.message,
      slug: 'precondition-failed',
      extensions: {
        current_version: err.actual,
      },
    });
  }
  if (err instanceof ConcurrencyConflictError) return problems.conflict(err.message);
  if (isConnectionError(err)) {
    // The command may or may not have been written before the connection broke; the log is the truth,
    // and a retry is decided on it (drift reports are not idempotent: retrying one counts it again).
    return new HttpProblem({
      status: 503,
      title: 'Service Unavailable',
      detail:
        'The database connection failed while handling this request; a command may or may not have been recorded',
      slug: 'database-unavailable',
      headers: { 'Retry-After': '1' },
    });
  }
  if (err instanceof StreamOverloadedError) {
    return new HttpProblem({
      status: 503,
      title: 'Service Unavailable',
      detail: err.message,
      slug: 'overloaded',
      headers: {
        'Retry-After': '1',
      },
    });
  }
  if (err instanceof DomainError) {
    const field = (err as DomainError & { field?: unknown }).field;
    return problems.validation([{ path: typeof field === 'string' ? field : '', message: err.message }]);
  }
  return null;
}
