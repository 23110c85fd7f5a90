/** What an SSE connection writes to: an http.ServerResponse (a stream.Writable in tests). */
export interface SseSink {
  write(chunk: string): boolean;
  end(): void;
  destroy(): void;
  readonly writableLength: number;
  on(event: 'close', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

export interface SseConnectionOptions {
  heartbeatMs: number;
  /** Unsent bytes past which the client counts as too slow and is disconnected. */
  maxBufferedBytes: number;
  /** Told when a slow client is let go (for the log). */
  onSlow?: (unsentBytes: number) => void;
}

/**
 * One client of an event stream: heartbeats while idle, and a bound on what it may leave unread. Each
 * connection writes on its own (no shared queue), so a slow reader delays nobody; once Node holds more
 * than `maxBufferedBytes` for it, it is destroyed — it reconnects with Last-Event-ID and misses nothing,
 * and the server holds no unbounded memory for it.
 */
export class SseConnection {
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly closers: Array<() => void> = [];

  constructor(
    private readonly sink: SseSink,
    private readonly options: SseConnectionOptions,
  ) {
    this.heartbeat = setInterval(() => this.send(': heartbeat\n\n'), options.heartbeatMs);
    sink.on('close', () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs when the connection closes, whoever closes it. */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  /** An event; `id` null leaves the client's Last-Event-ID as it is. `data` must be one line (JSON). */
  event(type: string, data: string, id: number | null = null): void {
    this.send(`${id === null ? '' : `id: ${id}\n`}event: ${type}\ndata: ${data}\n\n`);
  }

  send(chunk: string): void {
    if (this.closed) return;
    this.sink.write(chunk);
    const unsent = this.sink.writableLength;
    if (unsent > this.options.maxBufferedBytes) {
      this.options.onSlow?.(unsent);
      this.close();
      this.sink.destroy();
    }
  }

  /**
   * Resolves once the client has read enough that half the bound is free (at once if it has), or the
   * connection closed: how a replay waits for its reader instead of filling memory.
   */
  drained(): Promise<void> {
    if (this.closed || this.sink.writableLength <= this.options.maxBufferedBytes / 2)
      return Promise.resolve();
    return new Promise((resolve) => {
      this.sink.once('drain', resolve);
      this.onClose(resolve);
    });
  }

  /** Ends the stream (the client reconnects after its retry delay). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const fn of this.closers.splice(0)) fn();
    this.sink.end();
  }
}
