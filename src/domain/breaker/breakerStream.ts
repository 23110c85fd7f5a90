/**
 * A breaker's identity: its name and its tenant (null = the global breaker). One value, and one spelling
 * of everything derived from it — its stream name, its read-model key, its cache key — so no code
 * re-encodes `name@tenant` or `tenant ?? ''` by hand.
 *
 * One stream per breaker (docs/architecture.md): `breaker-<name>` for the global breaker,
 * `breaker-<name>@<tenant>` for a tenant's. Breaker names cannot contain `@` (docs/api.md name pattern), so the
 * first `@` always separates the tenant.
 */
export interface BreakerId {
  readonly name: string;
  readonly tenantId: string | null;
}

const PREFIX = 'breaker-';

export const breakerId = (name: string, tenantId: string | null = null): BreakerId => ({ name, tenantId });

/** The event stream of a breaker; also the key the V2 gate holds its state under. */
export const breakerStream = (id: BreakerId): string =>
  id.tenantId === null ? `${PREFIX}${id.name}` : `${PREFIX}${id.name}@${id.tenantId}`;

/** cb_state.tenant_key / cb_incidents' tenant match: the global breaker's tenant is ''. */
export const tenantKey = (id: BreakerId): string => id.tenantId ?? '';

/** The order every breaker list is in (name, then tenant with the global breaker first), as cb_state's index. */
export const compareBreakerIds = (a: BreakerId, b: BreakerId): number =>
  a.name === b.name ? (tenantKey(a) < tenantKey(b) ? -1 : 1) : a.name < b.name ? -1 : 1;

/** Whether a stream is a breaker's (by its prefix; breakerIdOfStream also checks the name). */
export const isBreakerStream = (stream: string): boolean => stream.startsWith(PREFIX);

/** Inverse of breakerStream; null for a stream that is not a breaker's. */
export function breakerIdOfStream(stream: string): BreakerId | null {
  if (!stream.startsWith(PREFIX)) return null;
  const rest = stream.slice(PREFIX.length);
  const at = rest.indexOf('@');
  const name = at === -1 ? rest : rest.slice(0, at);
  if (name.length === 0) return null;
  return { name, tenantId: at === -1 ? null : rest.slice(at + 1) };
}

/** breakerStream for callers holding the two parts. */
export const breakerStreamName = (name: string, tenantId: string | null): string =>
  breakerStream(breakerId(name, tenantId));

/** breakerIdOfStream in the read models' spelling (`tenant_id`), for rows and API objects built from it. */
export function parseBreakerStreamName(stream: string): { name: string; tenant_id: string | null } | null {
  const id = breakerIdOfStream(stream);
  return id && { name: id.name, tenant_id: id.tenantId };
}
