import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../logging/logger';
import type { ServiceMetrics } from '../metrics/metrics';
import { HttpProblem, problems } from './problem';
import { requestContext } from './requestContext';
import { accessLog } from './accessLog';

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
  /** Adds the feature routes; runs after the common middleware and before the 404/error handlers. */
  mount: (app: Express) => void;
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

/** Body-parser errors carry a `type`; map the ones clients can cause to problems. */
function bodyProblem(err: unknown): HttpProblem | null {
  const type = (err as { type?: unknown })?.type;
  if (type === 'entity.parse.failed') return problems.malformedJson('The request body is not valid JSON');
  if (type === 'entity.too.large')
    return problems.tooLarge(`The request body exceeds ${MAX_BODY_BYTES} bytes`);
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return problems.unsupportedMediaType('Unsupported body encoding or charset');
  }
  if (type === 'request.aborted')
    return new HttpProblem(400, 'Request aborted', 'Client aborted the body', 'aborted');
  return null;
}

function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  return (length !== undefined && length !== '0') || req.get('transfer-encoding') !== undefined;
}

export function createHttpApp({ logger, metrics, mount, errorMappers = [] }: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // our ETags are stream versions, set explicitly
  app.set('query parser', 'simple');
  app.use(requestContext);
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
  // Bodies are parsed (and their content type checked) only where a method can carry one.
  const json = express.json({
    limit: MAX_BODY_BYTES,
    strict: false,
    type: 'application/json',
    // The bytes as sent, for a route that must see numbers as written (the simulation's input hash).
    verify: (req, _res, buf) => void ((req as Request).rawBody = buf),
  });
  app.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    if (hasBody(req) && !req.is('application/json')) {
      return next(problems.unsupportedMediaType('Request bodies must be application/json'));
    }
    json(req, res, next);
  });

  mount(app);

  app.use((req, _res, next) => next(problems.notFound(`No route for ${req.method} ${req.path}`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const problem =
      err instanceof HttpProblem
        ? err
        : (bodyProblem(err) ??
          errorMappers.reduce<HttpProblem | null>((found, map) => found ?? map(err), null));
    if (problem) return sendProblem(res, req, problem);
    // Never leak internals: log with the request id, answer with it.
    logger.error({ err, request_id: req.requestId, url: req.originalUrl }, 'unhandled error');
    sendProblem(
      res,
      req,
      new HttpProblem(
        500,
        'Internal Server Error',
        `Unexpected error (request id ${req.requestId})`,
        'internal',
      ),
    );
  });
  return app;
}
