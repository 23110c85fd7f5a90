import type { Express, NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { principalOf, requireScope } from '../../infra/http/auth';
import { problems } from '../../infra/http/problem';
import { parseOrThrow } from '../../infra/http/validation';
import type { BreakerDeclarations } from './breakerDeclarations';
import { parseBreakerName } from './breakerSchemas';

export const declareBody = z
  .object({ description: z.string().trim().min(1).max(500, 'at most 500 characters').nullable().optional() })
  .strict();

export const declarationResponse = z.object({
  name: z.string(),
  description: z.string().nullable(),
  declared_at: z.string().nullable(),
});

/**
 * docs/api.md "Breakers": every route on an undeclared breaker name answers 404 and writes nothing (mounted
 * before the breaker's own routes); PUT declares one (global admin key; 201 the first time, 200 after).
 */
export function mountBreakerDeclarationRoutes(app: Express, declarations: BreakerDeclarations): void {
  const requireDeclared = async (req: Request, _res: Response, next: NextFunction) => {
    try {
      const name = parseBreakerName(req.params.name);
      // Mounted with app.use: req.path is what follows /costsim/breakers/<name>.
      const declaring = req.method === 'PUT' && (req.path === '/' || req.path === '');
      if (!declaring && !(await declarations.isDeclared(name))) {
        return next(problems.notFound(`Breaker not found: ${name}`));
      }
      next();
    } catch (err) {
      next(err);
    }
  };
  app.use('/costsim/breakers/:name', requireDeclared);

  app.put('/costsim/breakers/:name', requireScope('admin'), async (req, res) => {
    const principal = principalOf(req);
    if (principal.keyTenant !== null) {
      throw problems.forbidden('Declaring a breaker needs a global (not tenant-bound) admin key');
    }
    const name = parseBreakerName(req.params.name);
    const input = parseOrThrow(declareBody, req.body === undefined ? {} : req.body, 'body');
    const result = await declarations.declare(name, input.description, principal.keyId, {
      actor_key: principal.keyId,
      request_id: req.requestId,
      correlation_id: req.correlationId,
    });
    res.status(result.created ? 201 : 200).json(result.declaration);
  });
}
