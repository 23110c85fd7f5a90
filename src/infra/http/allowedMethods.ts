/** A route as the 405 handler sees it: a method and an Express path such as /costsim/breakers/:name. */
export interface KnownRoute {
  method: string;
  path: string;
}

/**
 * Which methods a path allows (RFC 9110 §15.5.6: a 405 must carry `Allow`), from the documented routes.
 * A path parameter matches one non-empty segment. HEAD comes with GET (Express answers it).
 */
export function allowedMethods(routes: readonly KnownRoute[]) {
  const patterns = routes.map((r) => ({
    method: r.method.toUpperCase(),
    regex: new RegExp(
      `^${r.path
        .split('/')
        .map((segment) =>
          segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('/')}/?$`,
    ),
  }));
  return (path: string): string[] => {
    const methods = new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method));
    if (methods.has('GET')) methods.add('HEAD');
    const order = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
    return [...methods].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  };
}
