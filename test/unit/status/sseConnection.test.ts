import { Writable } from 'node:stream';
import { SseConnection } from '../../../src/projections/status/sseConnection';

/** A client that reads nothing: every write stays queued in the stream (writableLength grows). */
function stalledClient() {
  return new Writable({ highWaterMark: 16, write: () => {} });
}

/** A client that reads everything at once. */
function readingClient(chunks: string[]) {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
}

describe('SseConnection', () => {
  test('formats events with and without an id', () => {
    const chunks: string[] = [];
    const c = new SseConnection(readingClient(chunks), { heartbeatMs: 60_000, maxBufferedBytes: 1 << 20 });
    c.event('ready', '{"after":0}');
    c.event('BreakerTripped', '{"position":7}', 7);
    c.close();
    expect(chunks).toEqual([
      'event: ready\ndata: {"after":0}\n\n',
      'id: 7\nevent: BreakerTripped\ndata: {"position":7}\n\n',
    ]);
  });

  test('a client that does not read is disconnected once its unsent bytes pass the bound', () => {
    const sink = stalledClient();
    const slow: number[] = [];
    let closed = 0;
    const c = new SseConnection(sink, {
      heartbeatMs: 60_000,
      maxBufferedBytes: 4096,
      onSlow: (n) => slow.push(n),
    });
    c.onClose(() => closed++);
    const data = JSON.stringify({ pad: 'x'.repeat(1000) });
    let sent = 0;
    while (!c.isClosed && sent < 100) c.event('DriftObserved', data, ++sent);
    expect(c.isClosed).toBe(true);
    expect(sent).toBeLessThan(10); // ~4 KiB, not 100 KiB
    expect(slow).toHaveLength(1);
    expect(slow[0]).toBeGreaterThan(4096);
    expect(closed).toBe(1);
    expect(sink.destroyed).toBe(true);
    c.event('DriftObserved', data, ++sent); // after close: nothing more is written
    expect(slow).toHaveLength(1);
  });

  test('heartbeats while idle; none after close', () => {
    jest.useFakeTimers();
    try {
      const chunks: string[] = [];
      const c = new SseConnection(readingClient(chunks), { heartbeatMs: 1000, maxBufferedBytes: 1 << 20 });
      jest.advanceTimersByTime(3000);
      expect(chunks).toEqual([': heartbeat\n\n', ': heartbeat\n\n', ': heartbeat\n\n']);
      c.close();
      jest.advanceTimersByTime(3000);
      expect(chunks).toHaveLength(3);
    } finally {
      jest.useRealTimers();
    }
  });

  test('closing from the client side runs the close hooks once', () => {
    const sink = readingClient([]);
    const c = new SseConnection(sink, { heartbeatMs: 60_000, maxBufferedBytes: 1 << 20 });
    let closed = 0;
    c.onClose(() => closed++);
    sink.destroy();
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(c.isClosed).toBe(true);
        expect(closed).toBe(1);
        resolve();
      }),
    );
  });

  test('drained(): at once for a reader that keeps up; a stalled one holds it until it reads or closes', async () => {
    const reading = new SseConnection(readingClient([]), { heartbeatMs: 60_000, maxBufferedBytes: 8192 });
    await reading.drained();
    reading.close();

    let release: (err?: Error | null) => void = () => {};
    const sink = new Writable({ highWaterMark: 16, write: (_c, _e, done) => (release = done) });
    const stalled = new SseConnection(sink, { heartbeatMs: 60_000, maxBufferedBytes: 8192 });
    for (let i = 0; i < 6; i++) stalled.send('x'.repeat(1000)); // 6 000 bytes unsent: over half the bound
    let drained = false;
    const waiting = stalled.drained().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);
    // The client reads everything: 'drain'.
    for (let i = 0; i < 6; i++) {
      release();
      await new Promise((r) => setImmediate(r));
    }
    await waiting;
    expect(drained).toBe(true);
    stalled.close();
  });
});
