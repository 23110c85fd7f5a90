import { abortableSleep } from '../../../src/infra/abortableSleep';

/** Whichever comes first: the sleep ending, or `ms` passing (the timer is always cleared). */
async function within(sleep: Promise<void>, ms: number): Promise<'woke' | 'still sleeping'> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'still sleeping'>((resolve) => {
    timer = setTimeout(() => resolve('still sleeping'), ms);
  });
  try {
    return await Promise.race([sleep.then(() => 'woke' as const), limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe('abortableSleep', () => {
  test('an abort that already happened ends the wait at once (it will never fire again)', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await within(abortableSleep(60_000, controller.signal), 200)).toBe('woke');
  });

  test('an abort during the wait ends it; otherwise it lasts the interval', async () => {
    const controller = new AbortController();
    const sleeping = abortableSleep(60_000, controller.signal);
    setTimeout(() => controller.abort(), 10);
    expect(await within(sleeping, 2000)).toBe('woke');
    const quiet = new AbortController();
    expect(await within(abortableSleep(1000, quiet.signal), 50)).toBe('still sleeping');
    expect(await within(abortableSleep(20, quiet.signal), 2000)).toBe('woke');
    quiet.abort(); // ends the 1 s sleep above, so no timer outlives the test
  });
});
