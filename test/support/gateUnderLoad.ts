import { createHash, randomUUID } from 'node:crypto';
import { testKeys } from './serviceHarness';

/**
 * Load and observation for the V2 gate across replicas (the e2e gateUnderFlood test and bench/breaker.ts):
 * a provenance flood over HTTP, sandbox simulate traffic that records whether V2 ran, and disable/enable
 * cycles timed from the operator's acknowledgement to each replica's `GET /costsim/v2/status` showing it.
 */

const INPUT_HASH = createHash('sha256').update('flood').digest('hex');

async function post(url: string, key: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

export interface Flood {
  /** Records acknowledged (201) so far. */
  written(): number;
  /** Non-201 answers, with their text. */
  failures: string[];
  /** Resolves when the flood has written its records (or was stopped). */
  done: Promise<void>;
  /** Milliseconds from start to the last acknowledged batch. */
  elapsedMs(): number;
  stop(): void;
}

export interface FloodOptions {
  /** At least this many records, even when stopped earlier. */
  records: number;
  /** Keep writing past `records` until stopped, up to this many. Default: `records` (stop there). */
  upTo?: number;
  batch?: number;
  clients?: number;
  key?: string;
}

/**
 * One tenant writing provenance as fast as it can: `clients` loops, each POSTing batches of `batch`
 * records round-robin over the replicas, until `records` are acknowledged (or, with `upTo`, until
 * stopped once `records` are).
 */
export function provenanceFlood(
  urls: readonly string[],
  { records, upTo = records, batch = 5000, clients = 4, key = testKeys.tenantA }: FloodOptions,
): Flood {
  let acknowledged = 0;
  let reserved = 0;
  let stopped = false;
  let lastAt = 0;
  const started = performance.now();
  const failures: string[] = [];
  const more = () => reserved < records || (!stopped && reserved < upTo);
  const client = async (c: number) => {
    for (let n = 0; more(); n++) {
      const size = Math.min(batch, (reserved < records ? records : upTo) - reserved);
      reserved += size;
      const body = {
        records: Array.from({ length: size }, (_, i) => ({
          run_id: `flood-${c}-${n}-${i}`,
          variant_slug: 'v1',
          source: 'backfill',
          input_hash: INPUT_HASH,
          v1_cost: i % 100,
          payload: {},
        })),
      };
      const send = () =>
        post(`${urls[(c + n) % urls.length]}/costsim/provenance`, key, body).catch((err: unknown) => ({
          status: 0,
          text: describeError(err),
        }));
      // A connection the server closed as idle (keep-alive timeout) just as this client reused it fails
      // before the request is read: a real client sends such a request again, and so does the flood (at
      // most twice). Every other failure, and an HTTP error of any kind, is recorded.
      let res = await send();
      for (let retry = 0; retry < 2 && res.status === 0; retry++) res = await send();
      if (res.status === 201) {
        acknowledged += size;
        lastAt = performance.now();
      } else failures.push(`${res.status}: ${res.text.slice(0, 300)}`);
    }
  };
  const done = Promise.all(Array.from({ length: clients }, (_, c) => client(c))).then(() => undefined);
  return {
    written: () => acknowledged,
    failures,
    done,
    elapsedMs: () => lastAt - started,
    stop: () => void (stopped = true),
  };
}

export interface SimulateRecord {
  sentAt: number;
  /** when its answer arrived: the replica decided on V2 somewhere between sentAt and this */
  answeredAt: number;
  runId: string;
  status: number;
  /** V2 ran for this request (the answer carries its result). */
  v2: boolean;
  /** No answer at all (status 0): why the request failed. */
  error?: string;
}

/** A request that failed because its keep-alive connection was closed under it (before any answer). */
export const connectionClosed = (error: string | undefined): boolean =>
  error !== undefined && /UND_ERR_SOCKET|ECONNRESET|other side closed|socket hang up/.test(error);

const describeError = (err: unknown): string =>
  `${String(err)}${err instanceof Error && err.cause ? ` (${String(err.cause)})` : ''}`;

/** Sandbox simulate requests in a loop on every replica, each remembered with when it was sent. */
export function simulateTraffic(urls: readonly string[], key = testKeys.write) {
  const sent: SimulateRecord[] = [];
  let stopped = false;
  const loop = async (url: string) => {
    while (!stopped) {
      const runId = `gate-${randomUUID()}`;
      const sentAt = Date.now();
      const res = await post(`${url}/costsim/v2/simulate`, key, {
        plan: [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }],
        run_id: runId,
      }).catch((err: unknown) => ({ status: 0, text: describeError(err) }));
      const body = (res.status === 200 ? JSON.parse(res.text) : {}) as { v2_result?: unknown };
      // A failed request is kept too: its run id is still checked in provenance (the replica may have
      // run it), and the loop goes on with a new request, as a client would.
      sent.push({
        sentAt,
        answeredAt: Date.now(),
        runId,
        status: res.status,
        v2: body.v2_result !== undefined,
        ...(res.status === 0 ? { error: res.text } : {}),
      });
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const done = Promise.all(urls.map((u) => loop(u)));
  return {
    sent,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** One replica's gate as GET /costsim/v2/status tells it (null: no answer). */
async function statusOpen(url: string): Promise<boolean | null> {
  const res = await fetch(`${url}/costsim/v2/status`, {
    headers: { Authorization: `Bearer ${testKeys.read}` },
  }).catch(() => null);
  const body = res ? ((await res.json()) as { circuit_breaker_open?: boolean }) : {};
  return body.circuit_breaker_open ?? null;
}

/** Polls one replica's gate until it says `open`; the answer's arrival time. */
async function seenAt(url: string, open: boolean, deadline: number): Promise<number | null> {
  while (Date.now() < deadline) {
    if ((await statusOpen(url)) === open) return Date.now();
    await new Promise((r) => setTimeout(r, 2));
  }
  return null;
}

export interface StatusAnswer {
  replica: number;
  sentAt: number;
  open: boolean | null;
}

export interface GateCycle {
  /** When the disable (then the enable) was acknowledged, ms since the epoch. */
  disabledAt: number;
  enableSentAt: number;
  enabledAt: number;
  /** Per replica: acknowledgement → its gate shows it, ms (null: not within the deadline). */
  disableMs: Array<number | null>;
  enableMs: Array<number | null>;
  /** Status answers to requests sent while the disable was held. */
  statusWhileDisabled: StatusAnswer[];
  errors: string[];
  /** Each change a replica did not show within the deadline, with what its /health/ready said then. */
  notSeen: string[];
}

/** What a replica that never showed a change says about its gate (the v2_gate readiness check). */
async function readiness(url: string): Promise<string> {
  const res = await fetch(`${url}/health/ready`).catch((err: unknown) => String(err));
  return typeof res === 'string' ? res : `${res.status} ${(await res.text()).slice(0, 600)}`;
}

/**
 * `cycles` times: disable costsim_v2 (through replica i mod n), wait until every replica's gate shows it,
 * keep it disabled until `holdMs(i)` after the acknowledgement, enable it (through the next replica), wait
 * until every gate shows that. Staleness is timed from the acknowledgement to the status answer that
 * first shows the change (an upper bound: it includes that request's own round trip).
 */
export async function gateCycles(
  urls: readonly string[],
  {
    cycles,
    holdMs = () => 0,
    giveUpMs = 10_000,
  }: { cycles: number; holdMs?: (cycle: number) => number; giveUpMs?: number },
): Promise<GateCycle[]> {
  const out: GateCycle[] = [];
  for (let c = 0; c < cycles; c++) {
    const errors: string[] = [];
    const disable = await post(
      `${urls[c % urls.length]}/costsim/breakers/costsim_v2/disable`,
      testKeys.admin,
      {
        reason: `gate cycle ${c}`,
        ttl_hours: 0,
      },
    );
    const disabledAt = Date.now();
    if (disable.status !== 200) errors.push(`disable ${disable.status}: ${disable.text}`);
    const disableSeen = await Promise.all(urls.map((u) => seenAt(u, true, disabledAt + giveUpMs)));
    // While it is held, every replica keeps being asked: each answer is kept with when it was asked.
    const holdUntil = disabledAt + holdMs(c);
    const statusWhileDisabled: StatusAnswer[] = [];
    await Promise.all(
      urls.map(async (u, replica) => {
        while (Date.now() < holdUntil) {
          const sentAt = Date.now();
          const open = await statusOpen(u);
          statusWhileDisabled.push({ replica, sentAt, open });
          await new Promise((r) => setTimeout(r, 10));
        }
      }),
    );
    const enableSentAt = Date.now();
    const enable = await post(
      `${urls[(c + 1) % urls.length]}/costsim/breakers/costsim_v2/enable`,
      testKeys.admin,
      {
        reason: `gate cycle ${c} over`,
      },
    );
    const enabledAt = Date.now();
    if (enable.status !== 200) errors.push(`enable ${enable.status}: ${enable.text}`);
    const enableSeen = await Promise.all(urls.map((u) => seenAt(u, false, enabledAt + giveUpMs)));
    const notSeen = await Promise.all(
      [
        ...disableSeen.map((t, r) => ['disable', t, r] as const),
        ...enableSeen.map((t, r) => ['enable', t, r] as const),
      ]
        .filter(([, t]) => t === null)
        .map(async ([change, , r]) => `cycle ${c} ${change}, replica ${r}: ${await readiness(urls[r]!)}`),
    );
    out.push({
      disabledAt,
      enableSentAt,
      enabledAt,
      disableMs: disableSeen.map((t) => (t === null ? null : t - disabledAt)),
      enableMs: enableSeen.map((t) => (t === null ? null : t - enabledAt)),
      statusWhileDisabled,
      errors,
      notSeen,
    });
  }
  return out;
}

/**
 * Simulates that ran while V2 had to be off — sent after an acknowledged disable + `graceMs` and answered
 * before the enable was sent — and the ones among them that still ran V2. The whole request must fall in
 * the window: the replica decides when it handles the request, and one sent just before the enable but
 * handled after it (a busy replica's queue) may run V2 as it should.
 */
export function v2RunsWhileDisabled(
  cycles: readonly GateCycle[],
  sent: readonly SimulateRecord[],
  graceMs = 1000,
): { checked: SimulateRecord[]; ranV2: SimulateRecord[] } {
  const checked = sent.filter((s) =>
    cycles.some((c) => s.sentAt > c.disabledAt + graceMs && s.answeredAt < c.enableSentAt),
  );
  return { checked, ranV2: checked.filter((s) => s.v2) };
}

/**
 * Status requests sent `graceMs` or more after an acknowledged disable (and before the enable) that did
 * not answer "open". Timing-independent: such a request is processed after the grace, and by then the
 * gate has either read the disable or has not read for longer than its staleness limit and fails closed.
 */
export function statusNotOpenAfterGrace(cycles: readonly GateCycle[], graceMs = 1000): StatusAnswer[] {
  return cycles.flatMap((c) =>
    c.statusWhileDisabled.filter((a) => a.sentAt > c.disabledAt + graceMs && a.open !== true),
  );
}

/** p-quantile of a list of numbers (nearest rank). */
export function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}
