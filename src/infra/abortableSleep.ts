/**
 * Waits `ms`, or less if `signal` aborts. Resolves at once when the signal has already aborted: an abort
 * that happened while the caller was busy never fires again, and a plain listener would then sleep the
 * whole interval (this stalled shutdown behind a 6-hour retention wait).
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener('abort', wake, { once: true });
  });
}
