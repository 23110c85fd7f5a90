import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;

/**
 * URL-safe random ids of a fixed length, cut from a pool of random bytes refilled 4 KiB at a time: every
 * command carries a would-be incident id, and one `randomBytes` call per command showed up as 2–3 % of a
 * drift report's CPU (the same trick Node's own `randomUUID` uses).
 */
export function randomIdGenerator(bytesPerId: number): () => string {
  const pool = Buffer.alloc(POOL_BYTES - (POOL_BYTES % bytesPerId));
  let offset = pool.length;
  return () => {
    if (offset === pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const id = pool.toString('base64url', offset, offset + bytesPerId);
    offset += bytesPerId;
    return id;
  };
}
