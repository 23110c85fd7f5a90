import { Agent, type Dispatcher, request } from 'undici';

/** One alert as Alertmanager's API v2 takes it (`postableAlert`). */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

export type DeliveryResult = { ok: true } | { ok: false; error: string; retryable: boolean };

export interface AlertmanagerClientOptions {
  /** Bounds the whole exchange: connect, request, response headers and body. */
  timeoutMs: number;
  /** Shared connection pool; when given, the caller owns it and `close()` leaves it open. */
  dispatcher?: Dispatcher;
}

// Error texts land in the delivery queue's `last_error` column (product spec), so they stay short.
const MAX_BODY_IN_ERROR = 200;
// A body larger than this is not worth reading just to keep the connection: undici drops the socket.
const MAX_DRAINED_BODY = 1024 * 1024;

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Posts alerts to Alertmanager's API v2 and reports the outcome as data, for a retrying delivery queue. */
export class AlertmanagerClient {
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;

  constructor(options: AlertmanagerClientOptions) {
    this.timeoutMs = options.timeoutMs;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent();
  }

  /** POST {baseUrl}/api/v2/alerts (baseUrl may or may not end with '/'). Never throws. */
  async post(baseUrl: string, alerts: readonly AlertmanagerAlert[]): Promise<DeliveryResult> {
    const base = baseUrl.replace(/\/+$/, '');
    // One signal for the whole exchange: undici's headersTimeout/bodyTimeout are per phase (and per
    // chunk for the body), so a server trickling bytes could otherwise hold a delivery indefinitely.
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const { statusCode, body } = await request(`${base}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
        dispatcher: this.dispatcher,
        signal,
      });
      if (statusCode >= 200 && statusCode < 300) {
        // Read to the end, or undici cannot hand the connection to the next request. dump() settles even
        // if the body then fails: the 2xx already says Alertmanager took the alerts.
        await body.dump({ limit: MAX_DRAINED_BODY });
        return { ok: true };
      }
      const text = (await body.text()).trim();
      return {
        ok: false,
        error: `HTTP ${statusCode}: ${text.slice(0, MAX_BODY_IN_ERROR)}`,
        // Alertmanager rejects a malformed payload with 400; sending it again can never succeed. 408 and
        // 429 are the server asking us to come back later.
        retryable: !(statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429),
      };
    } catch (err) {
      if (signal.aborted || isTimeoutError(err)) {
        return {
          ok: false,
          error: `Timeout: no answer from ${base} within ${this.timeoutMs} ms`,
          retryable: true,
        };
      }
      return { ok: false, error: errorText(err), retryable: true };
    }
  }

  /** Closes the connection pool this client created; a dispatcher passed in belongs to its owner. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

function isTimeoutError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TIMEOUT_CODES.has(code);
}

function errorText(err: unknown): string {
  // Duck-typed, not `instanceof Error`: errors raised by Node internals come from another realm under a
  // VM (Jest), and String() would prefix them with "Error: ".
  const { message, code, errors } = (typeof err === 'object' && err !== null ? err : {}) as {
    message?: unknown;
    code?: unknown;
    errors?: unknown;
  };
  if (typeof message === 'string' && message) return message;
  // Connecting to a name with several addresses (localhost: ::1 and 127.0.0.1) fails with an
  // AggregateError whose own message is empty; the per-address errors say what happened.
  if (Array.isArray(errors) && errors.length > 0) return errors.map(errorText).join('; ');
  if (typeof code === 'string') return code;
  return String(err);
}
