import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { ApiKey } from '../src/infra/http/auth';
import { authenticate, requireScope } from '../src/infra/http/auth';
import { createHttpApp } from '../src/infra/http/httpApp';
import { createExpressServer } from '../src/infra/http/httpServer';
import { createLogger } from '../src/infra/logging/logger';
import { ServiceMetrics } from '../src/infra/metrics/metrics';

export interface HttpFloor {
  url: string;
  stop(): Promise<void>;
}

/**
 * The service's own HTTP floor for one route (issue #13's fair baseline for an HTTP command): the same
 * Express app, middleware (request ids, trace context, access log, request metrics, authentication, the
 * JSON body parser that keeps the raw bytes) and node:http server settings as `serve`, with a handler at
 * `path` that does no work and answers `answer(body)` (the real answer to that body, captured before, so
 * the response's serialisation and write are the same). What a command costs beyond this is its own work.
 */
export async function startHttpFloor(
  path: string,
  answer: (body: unknown) => unknown,
  apiKeys: ApiKey[],
): Promise<HttpFloor> {
  const app = createHttpApp({
    logger: createLogger('silent'),
    metrics: new ServiceMetrics(),
    authenticate: authenticate(apiKeys),
    routes: [{ method: 'post', path }],
    mount: (express) => {
      express.post(path, requireScope('write'), (req, res) => void res.json(answer(req.body)));
    },
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = createExpressServer(app);
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
