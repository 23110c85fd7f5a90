import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import type { Logger } from '../logging/logger';
import type { ServiceMetrics } from '../metrics/metrics';
import { type KnownRoute, allowedMethods } from './allowedMethods';
import { HttpProblem, problems } from './problem';
import { requestContext } from './requestContext';
import { traceContext } from './traceContext';
import { accessLog, requestLogFields } from './accessLog';

/** Every body but a provenance write's (docs/api.md Conventions). */
export const MAX_BODY_BYTES = 1024 * 1024;

declare module 'express-serve-static-core' {
  interface Request {
    /** The JSON body's bytes as sent (application/json bodies parsed by the JSON parser). */
    rawBody?: Buffer;
  }
}

export interface HttpAppOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  /** Adds the feature routes; runs after the common middleware and before the 405/404/error handlers. */
  mount: (app: Express) => void;
  /** Routes that need no key (health, metrics, documents): mounted before authentication. */
  mountPublic?: (app: Express) => void;
  /**
   * Authentication of /costsim, run before any body is read or parsed (docs/api.md Conventions: an
   * unauthenticated request gets 401 whatever its body).
   */
  authenticate?: RequestHandler;
  /** The body limit of a request in bytes (default MAX_BODY_BYTES). */
  bodyLimit?: (req: Request) => number | undefined;
  /** True for requests whose route reads the body itself, as a stream (NDJSON ingest). */
  streamsBody?: (req: Request) => boolean;
  /** Every route the service has: a known path with another method gets 405 with `Allow`. */
  routes?: readonly KnownRoute[];
  /** Turn errors that feature code throws (domain errors, conflicts) into problems. */
  errorMappers?: ReadonlyArray<(err: unknown) => HttpProblem | null>;
}

export function sendProblem(res: Response, req: Request, problem: HttpProblem): void {
  for (const [k, v] of Object.entries(problem.headers)) res.setHeader(k, v);
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(JSON.stringify(problem.toBody(req.originalUrl)));
}

/** Body-parser errors carry a `type` and a 4xx `status`; map the ones clients can cause to problems. */
function bodyProblem(err: unknown, req: Request): HttpProblem | null {
  const e = err as { type?: unknown; status?: unknown; limit?: unknown; code?: unknown };
  const type = e?.type;
  if (type === 'entity.parse.failed') return problems.malformedJson('The request body is not valid JSON');
  if (type === 'entity.too.large') {
    return problems.tooLarge(`The request body exceeds ${String(e.limit ?? MAX_BODY_BYTES)} bytes`);
  }
  if (type === 'encoding.unsupported') {
    return problems.unsupportedMediaType(
      `Unsupported Content-Encoding "${req.get('content-encoding') ?? ''}" (identity, gzip, deflate or br)`,
    );
  }
  if (type === 'charset.unsupported') return problems.unsupportedMediaType('Unsupported body charset');
  if (type === 'request.aborted')
    return new HttpProblem({
      status: 400,
      title: 'Request aborted',
      detail: 'Client aborted the body',
      slug: 'aborted',
    });
  // zlib's errors when the body is not what its Content-Encoding says (body-parser answers them 400).
  if (typeof e?.code === 'string' && e.code.startsWith('Z_') && typeof e.status === 'number') {
    return new HttpProblem({
      status: 400,
      title: 'Bad Content-Encoding',
      detail: `The request body is not valid ${req.get('content-encoding') ?? ''} data`,
      slug: 'bad-content-encoding',
    });
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && typeof type === 'string') {
    return new HttpProblem({
      status: e.status,
      title: 'Bad Request body',
      detail: `The request body was refused (${type})`,
      slug: 'body',
    });
  }
  return null;
}

function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  return (length !== undefined && length !== '0') || req.get('transfer-encoding') !== undefined;
}

/**
 * Node keeps the first of repeated `Authorization` headers and drops the rest; which credential counts
 * must not depend on that, so a request with more than one is refused.
 */
function singleAuthorization(req: Request, _res: Response, next: NextFunction): void {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'authorization') count++;
  }
  if (count > 1) {
    return next(
      problems.validation([{ path: 'header.Authorization', message: 'must be sent once, not repeated' }]),
    );
  }
  next();
}

export function createHttpApp({
  logger,
  metrics,
  mount,
  mountPublic,
  authenticate,
  bodyLimit,
  streamsBody,
  routes = [],
  errorMappers = [],
}: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // our ETags are stream versions, set explicitly
  app.set('query parser', 'simple');
  app.use(requestContext);
  app.use(traceContext);
  app.use(accessLog(logger));
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      // One labelled series per request: the histogram's _count is the request counter.
      metrics.httpDuration.observe(
        { method: req.method, route, status: String(res.statusCode) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  });
  app.use(singleAuthorization);
  mountPublic?.(app);
  if (authenticate) app.use('/costsim', authenticate);

  // Bodies are parsed (and their content type checked) only where a method can carry one, after
  // authentication. One parser per limit, made on first use.
  const parsers = new Map<number, RequestHandler>();
  const parserFor = (limit: number) => {
    let parser = parsers.get(limit);
    if (!parser) {
      parser = express.json({
        limit,
        strict: false,
        type: 'application/json',
        // The bytes as sent, for a route that must see numbers as written (the simulation's input hash);
        // not kept for the large provenance batches, which have no use for them.
        ...(limit <= MAX_BODY_BYTES
          ? { verify: (req: Request, _res: Response, buf: Buffer) => void (req.rawBody = buf) }
          : {}),
      });
      parsers.set(limit, parser);
    }
    return parser;
  };
  app.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    if (streamsBody?.(req)) return next();
    if (hasBody(req) && !req.is('application/json')) {
      return next(problems.unsupportedMediaType('Request bodies must be application/json'));
    }
    parserFor(bodyLimit?.(req) ?? MAX_BODY_BYTES)(req, res, next);
  });

  mount(app);

  const allowed = allowedMethods(routes);
  app.use((req, _res, next) => {
    const allow = allowed(req.path);
    if (allow.length > 0 && !allow.includes(req.method)) {
      return next(
        new HttpProblem({
          status: 405,
          title: 'Method Not Allowed',
          detail: `${req.method} is not allowed on ${req.path}; allowed: ${allow.join(', ')}`,
          slug: 'method-not-allowed',
          headers: { Allow: allow.join(', ') },
        }),
      );
    }
    next(problems.notFound(`No route for ${req.method} ${req.path}`));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const problem =
      err instanceof HttpProblem
        ? err
        : (bodyProblem(err, req) ??
          errorMappers.reduce<HttpProblem | null>((found, map) => found ?? map(err), null));
    if (problem) return sendProblem(res, req, problem);
    // Never leak internals: log with the request id, answer with it.
    logger.error({ err, ...requestLogFields(req), url: req.originalUrl }, 'unhandled error');
    sendProblem(
      res,
      req,
      new HttpProblem({
        status: 500,
        title: 'Internal Server Error',
        detail: `Unexpected error (request id ${req.requestId})`,
        slug: 'internal',
      }),
    );
  });
  return app;
}
