import { stringify } from 'lossless-json';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { V2Engine, V2Outcome, V2Request } from '../../domain/simulation/v2Engine';
import { parseV2Answer } from './v2AnswerSchema';

export interface HttpV2Options {
  /** COSTSIM_V2_URL: the external V2's simulate endpoint (POST) */
  url: string;
  /** COSTSIM_V2_TIMEOUT_MS: bounds the whole exchange (connect, headers, body) */
  timeoutMs: number;
  /** keep-alive connections to the external V2 (the pool's size) */
  connections?: number;
  logger?: Logger;
}

/** An answer larger than this is not V2's output (100 steps fit in a few kB): a schema error. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * An external V2 over HTTP (docs/domain.md §2.2): POSTs the simulation input — the plan exactly as the client
 * wrote it, numbers included — and expects V2's output fields back, validated by v2AnswerSchema. Connections
 * are kept alive in an undici Pool. Every failure is an outcome: a timeout (one signal for the whole
 * exchange), a non-2xx status, a refused connection, or an answer that is not V2's output (a schema error).
 */
export class HttpV2Engine implements V2Engine {
  readonly name = 'v2_http' as const;
  private readonly pool: Pool;
  private readonly path: string;

  constructor(private readonly options: HttpV2Options) {
    const url = new URL(options.url);
    this.path = `${url.pathname}${url.search}`;
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 32,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      // Our own signal bounds the exchange; undici's per-phase timers only as a backstop.
      headersTimeout: options.timeoutMs + 1000,
      bodyTimeout: options.timeoutMs + 1000,
      connectTimeout: options.timeoutMs + 1000,
    });
  }

  async run(request: V2Request): Promise<V2Outcome> {
    const { input } = request;
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    const body = stringify({
      plan: request.writtenPlan,
      budget_cents: input.budget_cents,
      allowed_skills: input.allowed_skills,
      risk_threshold: input.risk_threshold,
    });
    try {
      const response = await this.pool.request({
        method: 'POST',
        path: this.path,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'x-run-id': request.runId,
        },
        body: body ?? '{}',
        signal,
      });
      if (response.statusCode < 200 || response.statusCode > 299) {
        await response.body.dump({ limit: MAX_ANSWER_BYTES }).catch(() => undefined);
        this.options.logger?.warn(
          { status: response.statusCode, run_id: request.runId },
          'external V2: HTTP error',
        );
        return { kind: 'http_status', status: response.statusCode };
      }
      const text = await readLimited(response.body, MAX_ANSWER_BYTES);
      if (text === null) return this.invalid(request, 'body', 'answer larger than 1 MiB');
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        return this.invalid(request, 'body', 'answer is not JSON');
      }
      const parsed = parseV2Answer(answer, input.plan.length);
      if (!parsed.ok) return this.invalid(request, parsed.field, 'answer failed the schema');
      return { kind: 'answered', result: parsed.result };
    } catch (err) {
      if (signal.aborted) return { kind: 'timeout', timeoutMs: this.options.timeoutMs };
      this.options.logger?.warn({ err, run_id: request.runId }, 'external V2 unreachable');
      return { kind: 'unreachable' };
    }
  }

  private invalid(request: V2Request, field: string, why: string): V2Outcome {
    this.options.logger?.warn({ field, run_id: request.runId }, `external V2: ${why}`);
    return { kind: 'invalid_answer', field };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** The body as text, or null once it grows past `limit` bytes (the rest is not read). */
async function readLimited(body: AsyncIterable<Buffer>, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
