import { randomUUID } from 'node:crypto';
import type { JsonObject, NewEvent } from './eventStore';

/** One append's events as es_append's arrays (migration 061), in stream order. */
export interface AppendParameters {
  ids: string[];
  types: string[];
  /**
   * Each event's data as JSON text: PostgreSQL parses it once, as a jsonb[] element (bound as
   * jsonbArrayLiteral(data)).
   */
  data: string[];
  /** null when no event has metadata (the usual case): es_append stores '{}' for each. */
  metadata: string[] | null;
  /** What was given, with the ids filled in: the in-transaction append returns these as stored. */
  given: Array<{ id: string; type: string; data: object; metadata: JsonObject }>;
}

export function appendParameters(events: readonly NewEvent[]): AppendParameters {
  const n = events.length;
  const ids = new Array<string>(n);
  const types = new Array<string>(n);
  const data = new Array<string>(n);
  const given = new Array<AppendParameters['given'][number]>(n);
  let metadata: string[] | null = null;
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    const id = e.id ?? randomUUID();
    ids[i] = id;
    types[i] = e.type;
    data[i] = JSON.stringify(e.data);
    given[i] = { id, type: e.type, data: e.data, metadata: e.metadata ?? {} };
    if (e.metadata !== undefined) {
      metadata ??= new Array<string>(n).fill('{}');
      metadata[i] = JSON.stringify(e.metadata);
    }
  }
  return { ids, types, data, metadata, given };
}

/**
 * JSON texts as ONE PostgreSQL array literal, for a `$n::jsonb[]` parameter (a big append's data and
 * metadata).
 *
 * Why: node-postgres encodes a string[] parameter element by element, with two regular-expression passes
 * over each; for one 5 000-event append (2.5 MB of JSON) that took 60–130 ms of the event loop in one
 * piece, which under a bulk provenance flood kept the replica's V2 gate from reading past its 1 s limit
 * (docs/gate.md). JSON.stringify of the array takes ~6 ms and gives the same literal: inside a quoted array
 * element only `"` and `\` need a backslash, which is what JSON quoting escapes, and JSON quoting escapes
 * nothing else in a JSON text — JSON.stringify's output holds no control characters and no lone surrogates
 * (test/unit/infra/jsonbArrayLiteral.test.ts compares it with node-postgres's own encoding).
 */
export function jsonbArrayLiteral(texts: readonly string[]): string {
  const json = JSON.stringify(texts); // ["…","…"]
  return `{${json.slice(1, -1)}}`;
}
