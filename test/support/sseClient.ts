/** One Server-Sent Event as received (comments are counted, not kept). */
export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
  /** performance.now() when its block was complete. */
  receivedAt: number;
}

export interface SseClient {
  status: number;
  contentType: string | null;
  events: SseEvent[];
  /** Comment lines received (heartbeats). */
  comments: number;
  /** The id of the last event that carried one (what a browser sends back as Last-Event-ID). */
  lastId: string | null;
  /** Resolves when the server ends the stream (or it breaks). */
  ended: Promise<void>;
  /** Called for each event as it arrives. */
  onEvent?: (event: SseEvent) => void;
  close(): void;
}

/**
 * A minimal SSE client over fetch (as the status page's script does it: EventSource cannot send an
 * Authorization header). Parses `id`, `event`, `data` and comments per the WHATWG rules we rely on.
 */
export async function openSse(
  url: string,
  headers: Record<string, string> = {},
  onEvent?: (event: SseEvent) => void,
): Promise<SseClient & { body: string }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const client: SseClient & { body: string } = {
    status: res.status,
    contentType: res.headers.get('content-type'),
    events: [],
    comments: 0,
    lastId: null,
    ended: Promise.resolve(),
    body: '',
    close: () => controller.abort(),
    ...(onEvent ? { onEvent } : {}),
  };
  if (!res.ok || !res.body) {
    client.body = await res.text();
    return client;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  client.ended = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id: string | null = null;
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              client.comments++;
              continue;
            }
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') id = v;
            else if (field === 'event') event = v;
            else if (field === 'data') data.push(v);
          }
          if (id !== null) client.lastId = id;
          if (data.length === 0) continue;
          const received = { id, event, data: data.join('\n'), receivedAt: performance.now() };
          client.events.push(received);
          client.onEvent?.(received);
        }
      }
    } catch {
      /* aborted by close(), or the connection broke: the stream has ended either way */
    }
  })();
  return client;
}
