import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { problems } from './problem';

export type Scope = 'read' | 'write' | 'admin';

export interface ApiKey {
  id: string;
  key_sha256: string;
  tenant_id: string | null;
  scopes: Scope[];
}

export interface Principal {
  keyId: string;
  /** The key's own tenant; null for a global key. */
  keyTenant: string | null;
  scopes: ReadonlySet<Scope>;
  /** The tenant this request acts for: the key's, or (global keys) X-Tenant-ID; null = global. */
  tenantId: string | null;
}

/**
 * Which tenants' breakers a principal may read, decided here once for every read path (lists, the
 * status page, the event stream): `undefined` = every tenant's (a global key not acting for a tenant),
 * otherwise the global breakers and those of the returned tenant.
 */
export const readableTenant = (p: Principal): string | null | undefined =>
  p.keyTenant === null && p.tenantId === null ? undefined : p.tenantId;

/** Whether a breaker of `tenantId` (null = global) is visible under `scope` (a readableTenant result). */
export const tenantVisible = (scope: string | null | undefined, tenantId: string | null): boolean =>
  scope === undefined || tenantId === null || tenantId === scope;

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A tenant id in a request (query or body). */
export const tenantIdSchema = z.string().regex(TENANT_ID, 'invalid tenant id');

const apiKeysSchema = z.array(
  z
    .object({
      id: z.string().min(1).max(100),
      key_sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'must be 64 hex chars (SHA-256 of the key)'),
      tenant_id: z.string().regex(TENANT_ID).nullable(),
      scopes: z.array(z.enum(['read', 'write', 'admin'])).min(1),
    })
    .strict(),
);

export class ApiKeyConfigError extends Error {}

export const sha256Hex = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

export interface LoadedKeys {
  keys: ApiKey[];
  /** Set when no keys were configured and an admin key was generated on this start (print it once). */
  generatedKey?: string;
  /** True when keys come from configuration (the service may then listen beyond loopback). */
  configured: boolean;
}

/**
 * Keys from COSTSIM_API_KEYS (JSON) or COSTSIM_API_KEYS_FILE. With none configured, an admin key is
 * generated once and kept in the data directory (mode 600); it is printed only when first created.
 */
export function loadApiKeys(opts: {
  json?: string | undefined;
  file?: string | undefined;
  dataDir: string;
}): LoadedKeys {
  const source = opts.json?.trim() ? opts.json : opts.file ? readFileSync(opts.file, 'utf8') : undefined;
  if (source !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(source);
    } catch {
      throw new ApiKeyConfigError(
        `${opts.json ? 'COSTSIM_API_KEYS' : 'COSTSIM_API_KEYS_FILE'}: not valid JSON`,
      );
    }
    const parsed = apiKeysSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ApiKeyConfigError(
        `API keys: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    // An empty list configures nothing: fall through to the generated key (and loopback-only binding).
    if (parsed.data.length > 0) {
      return {
        keys: parsed.data.map((k) => ({ ...k, key_sha256: k.key_sha256.toLowerCase() })),
        configured: true,
      };
    }
  }
  const path = join(opts.dataDir, 'admin-api-key');
  let generatedKey: string | undefined;
  let key: string;
  if (existsSync(path)) {
    key = readFileSync(path, 'utf8').trim();
  } else {
    key = `csg_${randomBytes(32).toString('base64url')}`;
    mkdirSync(opts.dataDir, { recursive: true });
    writeFileSync(path, `${key}\n`, { mode: 0o600 });
    generatedKey = key;
  }
  return {
    keys: [
      {
        id: 'generated-admin',
        key_sha256: sha256Hex(key),
        tenant_id: null,
        scopes: ['admin', 'write', 'read'],
      },
    ],
    configured: false,
    ...(generatedKey ? { generatedKey } : {}),
  };
}

/**
 * The configured key a presented one is, if any. The presented key is hashed and compared with EVERY
 * configured hash in constant time, so neither the comparison nor the number of comparisons depends on
 * which key (if any) matched.
 */
export function identifyKey(keys: readonly ApiKey[]): (presentedKey: string) => ApiKey | undefined {
  const hashes = keys.map((k) => Buffer.from(k.key_sha256, 'hex'));
  return (presentedKey) => {
    const presented = createHash('sha256').update(presentedKey, 'utf8').digest();
    let found: ApiKey | undefined;
    hashes.forEach((hash, i) => {
      if (timingSafeEqual(hash, presented) && !found) found = keys[i];
    });
    return found;
  };
}

/** The principal of a key presented without any request headers (the status page's form). */
export const principalOfKey = (key: ApiKey): Principal => ({
  keyId: key.id,
  keyTenant: key.tenant_id,
  scopes: new Set(key.scopes),
  tenantId: key.tenant_id,
});

/** Bearer authentication of /costsim (identifyKey), then the tenant the request acts for. */
export function authenticate(keys: readonly ApiKey[]) {
  const identify = identifyKey(keys);
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return next(problems.unauthorized());
    const found = identify(match[1]!);
    if (!found) return next(problems.unauthorized('Unknown API key'));

    const header_tenant = req.get('x-tenant-id');
    if (header_tenant !== undefined && !TENANT_ID.test(header_tenant)) {
      return next(problems.validation([{ path: 'header.X-Tenant-ID', message: 'invalid tenant id' }]));
    }
    if (found.tenant_id !== null && header_tenant !== undefined && header_tenant !== found.tenant_id) {
      return next(
        problems.forbidden(
          `This key belongs to tenant ${found.tenant_id}; it cannot act for ${header_tenant}`,
        ),
      );
    }
    req.principal = {
      keyId: found.id,
      keyTenant: found.tenant_id,
      scopes: new Set(found.scopes),
      tenantId: found.tenant_id ?? header_tenant ?? null,
    };
    next();
  };
}

/** The authenticated principal of a request under /costsim (401 if authentication did not run or failed). */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw problems.unauthorized();
  return req.principal;
}

/** admin implies write and read; write does not imply read (a sandbox reporter need not read). */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}

export function requireScope(scope: Scope) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!req.principal) return next(problems.unauthorized());
    if (!hasScope(req.principal, scope))
      return next(problems.forbidden(`This route needs the "${scope}" scope`));
    next();
  };
}

/**
 * The tenant a request addresses: an explicit `tenant_id` (query or body) must match a tenant key's own
 * tenant (403 otherwise); a global key may name any tenant. Without one, the request's tenant applies.
 */
export function addressedTenant(principal: Principal, explicit: string | null | undefined): string | null {
  if (explicit === undefined || explicit === null) return principal.tenantId;
  if (principal.keyTenant !== null && explicit !== principal.keyTenant) {
    throw problems.forbidden(
      `This key belongs to tenant ${principal.keyTenant}; it cannot address ${explicit}`,
    );
  }
  return explicit;
}
