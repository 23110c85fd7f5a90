import type { JsonObject } from '../../infra/eventStore/eventStore';
import { isConnectionError } from '../../infra/postgres/pool';
import type { NewProvenanceRecord, ProvenanceWriter } from './provenanceWriter';

interface Pending {
  record: NewProvenanceRecord;
  resolve: (id: string) => void;
  reject: (err: unknown) => void;
}

export interface GroupCommitOptions {
  /** Records in one append at most. */
  maxBatch?: number;
  /** Appends under way at once; records arriving meanwhile gather for the next one. */
  maxInFlight?: number;
  /** Event metadata of every append (e.g. the actor). */
  metadata?: JsonObject;
}

/**
 * Group commit for provenance records written one at a time by concurrent requests (the sandbox): records
 * that arrive while an append is under way are gathered into the next append, one round trip for many
 * records. Each caller is answered only once its record is durably stored, with its real id — the same
 * guarantee as a write of its own (ProvenanceWriter.write), without its cost.
 *
 * One bad record must not fail its neighbours (it may hold text PostgreSQL cannot store): when an append
 * fails for any reason but a lost connection, it is split in halves and each written again, down to single
 * records, so only the bad one fails. A lost connection fails the whole group (every record would fail alike).
 */
export class ProvenanceGroupCommit {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly writer: ProvenanceWriter,
    private readonly options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.maxInFlight = options.maxInFlight ?? 2;
  }

  write(record: NewProvenanceRecord): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      // Start on the next turn of the event loop, not now: requests read in the same I/O phase join.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Records waiting for an append (not counting those under way). */
  get waiting(): number {
    return this.queue.length;
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    try {
      const ids = await this.writer.write(
        batch.map((p) => p.record),
        this.options.metadata,
      );
      batch.forEach((p, i) => p.resolve(ids[i]!));
    } catch (err) {
      if (batch.length === 1 || isConnectionError(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      // Isolate the record at fault by halves: a few appends more, not one per record.
      const half = Math.ceil(batch.length / 2);
      await Promise.all([this.flush(batch.slice(0, half)), this.flush(batch.slice(half))]);
    }
  }
}
