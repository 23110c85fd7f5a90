/**
 * One stream per breaker (docs/architecture.md): `breaker-<name>` for the global breaker,
 * `breaker-<name>@<tenant>` for a tenant's. Breaker names cannot contain `@` (docs/api.md name pattern), so the
 * first `@` always separates the tenant.
 */
const PREFIX = 'breaker-';

export const breakerStreamName = (name: string, tenantId: string | null): string =>
  tenantId === null ? `${PREFIX}${name}` : `${PREFIX}${name}@${tenantId}`;

/** Inverse of breakerStreamName; null for a stream that is not a breaker's. */
export function parseBreakerStreamName(stream: string): { name: string; tenant_id: string | null } | null {
  if (!stream.startsWith(PREFIX)) return null;
  const rest = stream.slice(PREFIX.length);
  const at = rest.indexOf('@');
  const name = at === -1 ? rest : rest.slice(0, at);
  if (name.length === 0) return null;
  return { name, tenant_id: at === -1 ? null : rest.slice(at + 1) };
}
