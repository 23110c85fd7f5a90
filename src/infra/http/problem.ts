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

/** What a problem is built from: the status line, the words, and the optional parts named. */
export interface HttpProblemOptions {
  status: number;
  title: string;
  detail: string;
  /** The last segment of its `type` URI. */
  slug: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members of the body (RFC 9457 extensions), e.g. `current_version`. */
  extensions?: Record<string, unknown>;
}

export class HttpProblem extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly slug: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(options: HttpProblemOptions) {
    super(options.detail);
    this.name = 'HttpProblem';
    this.status = options.status;
    this.title = options.title;
    this.detail = options.detail;
    this.slug = options.slug;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
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
    new HttpProblem({
      status: 400,
      title: 'Invalid request',
      detail: `Invalid ${errors.map((e) => e.path || '(body)').join(', ')}: ${errors.map((e) => e.message).join('; ')}`,
      slug: 'validation',
      errors,
    }),
  malformedJson: (detail: string) =>
    new HttpProblem({ status: 400, title: 'Malformed JSON', detail, slug: 'malformed-json' }),
  unauthorized: (detail = 'A valid API key is required: Authorization: Bearer <key>') =>
    new HttpProblem({
      status: 401,
      title: 'Unauthorized',
      detail,
      slug: 'unauthorized',
      headers: { 'WWW-Authenticate': 'Bearer' },
    }),
  forbidden: (detail: string) =>
    new HttpProblem({ status: 403, title: 'Forbidden', detail, slug: 'forbidden' }),
  notFound: (detail: string) =>
    new HttpProblem({ status: 404, title: 'Not Found', detail, slug: 'not-found' }),
  conflict: (detail: string) => new HttpProblem({ status: 409, title: 'Conflict', detail, slug: 'conflict' }),
  preconditionFailed: (detail: string) =>
    new HttpProblem({ status: 412, title: 'Precondition Failed', detail, slug: 'precondition-failed' }),
  tooLarge: (detail: string) =>
    new HttpProblem({ status: 413, title: 'Payload Too Large', detail, slug: 'payload-too-large' }),
  unsupportedMediaType: (detail: string) =>
    new HttpProblem({ status: 415, title: 'Unsupported Media Type', detail, slug: 'unsupported-media-type' }),
  unavailable: (detail: string, extensions: Record<string, unknown> = {}) =>
    new HttpProblem({ status: 503, title: 'Service Unavailable', detail, slug: 'unavailable', extensions }),
};
