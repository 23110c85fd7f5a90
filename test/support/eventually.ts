/**
 * Polls until `check` passes (returns without throwing), or rethrows its last failure at the deadline.
 * Event-store readers wait for every older transaction in the cluster (snapshot xmin), including other
 * test files' — so delivery is "soon", never "on the next read".
 */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 15_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** 'done' when `work` settles within `ms`, else 'hung'; the timer never outlives the race. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<'done' | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  try {
    return await Promise.race([work.then(() => 'done' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
