/**
 * One pass at a time; a request during a pass runs one more pass right after it, however many requests
 * came meanwhile. So a wake-up is never lost (what it announced is read by the next pass) and wake-ups
 * never pile up (a flood of them costs at most one extra pass). Used by every "read / send until caught
 * up" loop driven by both a timer and notifications (the V2 gate, the alert delivery worker).
 */
export class SerialPasses {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly options: {
      /** A failed pass ends the run (requests made during it included); the next request starts afresh. */
      onError: (err: unknown) => void;
      /** Checked before each extra pass: once stopped, no more passes start. */
      stopped?: () => boolean;
    },
  ) {}

  /** Starts a pass, or asks the running one for one more; resolves when that pass is done. Never rejects. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !(this.options.stopped?.() ?? false));
      } catch (err) {
        this.options.onError(err);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Resolves once no pass is running (what `stop()` of an owner waits for). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }
}
