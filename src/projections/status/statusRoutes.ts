import { randomBytes } from 'node:crypto';
import express, { type Express, type Request, type Response } from 'express';
import {
  type ApiKey,
  type Principal,
  hasScope,
  identifyKey,
  principalOf,
  principalOfKey,
  requireScope,
} from '../../infra/http/auth';
import { statusFragment } from './statusHtml';
import { statusPage, statusPageCsp } from './statusPage';
import { type StatusSources, readStatusSnapshot } from './statusSnapshot';

function sendPage(res: Response, status: number, render: (nonce: string) => string): void {
  const nonce = randomBytes(16).toString('base64');
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': statusPageCsp(nonce),
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
    })
    .send(render(nonce));
}

/** Public: the page itself. GET is the shell (no data without a key); POST is the no-JS reading. */
export function mountStatusPage(app: Express, keys: readonly ApiKey[], sources: StatusSources): void {
  const identify = identifyKey(keys);
  app.get('/', (_req, res) => sendPage(res, 200, (nonce) => statusPage({ nonce }).html));

  // The key in a form body (never a URL or cookie); the answer is the page with the data in it.
  const form = express.urlencoded({ extended: false, limit: 4096, parameterLimit: 10 });
  app.post('/', form, async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const presented = typeof body.key === 'string' ? body.key.trim() : '';
    const key = presented ? identify(presented) : undefined;
    if (!key) {
      return sendPage(res, 401, (nonce) => statusPage({ nonce, message: 'Unknown API key.' }).html);
    }
    const principal: Principal = principalOfKey(key);
    if (!hasScope(principal, 'read')) {
      return sendPage(
        res,
        403,
        (nonce) => statusPage({ nonce, message: 'This key has no read scope.' }).html,
      );
    }
    const snapshot = await readStatusSnapshot(sources, principal);
    sendPage(
      res,
      200,
      (nonce) => statusPage({ nonce, fragment: statusFragment(snapshot, { actions: false }) }).html,
    );
  });
}

/** GET /costsim/status: the page's data, server-rendered (the script swaps it in). */
export function mountStatusFragmentRoute(app: Express, sources: StatusSources): void {
  app.get('/costsim/status', requireScope('read'), async (req, res) => {
    const snapshot = await readStatusSnapshot(sources, principalOf(req));
    res
      .status(200)
      .set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
      .send(statusFragment(snapshot, { actions: true }).html);
  });
}
