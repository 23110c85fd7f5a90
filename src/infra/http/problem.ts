/**
 * RFC 9457 problem details. Every 4xx/5xx leaves the service in this shape; `errors` names each bad field.
 */
export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly slug: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }

  toBody(instance?: string): ProblemBody {
    return {
      type: `https://costsim-guard.dev/problems/${this.slug}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(instance ? { instance } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
      ...this.extensions,
    };
  }
}

export const problems = {
  validation: (errors: FieldError[]) =>
    new HttpProblem(
      400,
      'Invalid request',
      `Invalid ${errors.map((e) => e.path || '(body)').join(', ')}: ${errors.map((e) => e.message).join('; ')}`,
      'validation',
      errors,
    ),
  malformedJson: (detail: string) => new HttpProblem(400, 'Malformed JSON', detail, 'malformed-json'),
  unauthorized: (detail = 'A valid API key is required: Authorization: Bearer <key>') =>
    new HttpProblem(401, 'Unauthorized', detail, 'unauthorized', undefined, { 'WWW-Authenticate': 'Bearer' }),
  forbidden: (detail: string) => new HttpProblem(403, 'Forbidden', detail, 'forbidden'),
  notFound: (detail: string) => new HttpProblem(404, 'Not Found', detail, 'not-found'),
  conflict: (detail: string) => new HttpProblem(409, 'Conflict', detail, 'conflict'),
  preconditionFailed: (detail: string) =>
    new HttpProblem(412, 'Precondition Failed', detail, 'precondition-failed'),
  tooLarge: (detail: string) => new HttpProblem(413, 'Payload Too Large', detail, 'payload-too-large'),
  unsupportedMediaType: (detail: string) =>
    new HttpProblem(415, 'Unsupported Media Type', detail, 'unsupported-media-type'),
  unavailable: (detail: string, extensions: Record<string, unknown> = {}) =>
    new HttpProblem(503, 'Service Unavailable', detail, 'unavailable', undefined, {}, extensions),
};
