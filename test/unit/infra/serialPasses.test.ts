import { SerialPasses } from '../../../src/infra/serialPasses';

/** A pass that waits until released, so a test decides when each pass ends. */
function gatedPasses() {
  const releases: Array<() => void> = [];
  let started = 0;
  const pass = () =>
    new Promise<void>((resolve) => {
      started++;
      releases.push(resolve);
    });
  const releaseNext = async () => {
    releases.shift()?.();
    // let the loop observe the end of the pass and start the next one
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { pass, releaseNext, started: () => started };
}

describe('SerialPasses', () => {
  it('runs one pass at a time: requests during a pass run exactly one more', async () => {
    const g = gatedPasses();
    const errors: unknown[] = [];
    const passes = new SerialPasses(g.pass, { onError: (e) => errors.push(e) });
    const first = passes.run();
    const during = [passes.run(), passes.run(), passes.run()];
    expect(g.started()).toBe(1);
    expect(during.every((p) => p === first)).toBe(true);
    await g.releaseNext();
    expect(g.started()).toBe(2); // the three requests: one more pass, not three
    await g.releaseNext();
    await first;
    expect(g.started()).toBe(2);
    expect(errors).toEqual([]);
  });

  it('a request after the run ended starts a new one', async () => {
    const g = gatedPasses();
    const passes = new SerialPasses(g.pass, { onError: () => undefined });
    const first = passes.run();
    await g.releaseNext();
    await first;
    const second = passes.run();
    expect(second).not.toBe(first);
    expect(g.started()).toBe(2);
    await g.releaseNext();
    await second;
  });

  it('a failed pass is reported, never rejected, and ends the run', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const passes = new SerialPasses(
      async () => {
        calls++;
        await Promise.resolve();
        throw new Error('boom');
      },
      { onError: (e) => errors.push(e) },
    );
    const run = passes.run();
    void passes.run(); // asked for one more, but the failure ends the run
    await expect(run).resolves.toBeUndefined();
    expect(calls).toBe(1);
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
  });

  it('once stopped, no extra pass starts; idle() waits for the running one', async () => {
    const g = gatedPasses();
    let stopped = false;
    const passes = new SerialPasses(g.pass, { onError: () => undefined, stopped: () => stopped });
    void passes.run();
    void passes.run();
    stopped = true;
    const idle = passes.idle();
    await g.releaseNext();
    await idle;
    expect(g.started()).toBe(1);
  });
});
