import net from 'node:net';

/**
 * Sends `request` as raw bytes (what fetch cannot send: repeated headers, broken request lines, slow
 * clients) and resolves with everything the server wrote until it closed the connection or `timeoutMs`.
 */
export function rawHttp(
  url: string,
  request: string | Buffer,
  { timeoutMs = 5000, endAfterWrite = false } = {},
): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (d) => (received += d.toString('utf8')));
    socket.on('close', done);
    socket.on('error', (err) => (received ? done() : reject(err)));
    socket.write(request, () => {
      if (endAfterWrite) socket.end();
    });
  });
}

/** Status line, headers (lower-case names) and body of a raw HTTP/1.1 response. */
export function parseRawResponse(raw: string): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}
