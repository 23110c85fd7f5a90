/** One line of an NDJSON body: its 1-based number, and its text or why it has none. */
export type NdjsonLine = { line: number; text: string } | { line: number; tooLong: true; bytes: number };

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines without ever holding more than one line (at most `maxLineBytes`) plus
 * one chunk: a longer line is skipped to its end and reported as too long, so one huge line cannot grow
 * memory. Blank lines are skipped (they still count for line numbers); a trailing \r is dropped.
 */
export async function* ndjsonLines(
  source: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
): AsyncGenerator<NdjsonLine> {
  let parts: Buffer[] = [];
  let length = 0;
  let overflow = 0; // bytes of the current line beyond the cap (0 = within it)
  let line = 0;
  const finish = function* (): Generator<NdjsonLine> {
    line++;
    if (overflow > 0) {
      yield { line, tooLong: true, bytes: length + overflow };
    } else {
      let text = Buffer.concat(parts, length).toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.trim() !== '') yield { line, text };
    }
    parts = [];
    length = 0;
    overflow = 0;
  };
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      const piece = chunk.subarray(start, end === -1 ? chunk.length : end);
      if (overflow > 0 || length + piece.length > maxLineBytes) {
        overflow += piece.length;
      } else if (piece.length > 0) {
        // copy: the chunk may be a view into a pooled buffer that the stream reuses
        parts.push(Buffer.from(piece));
        length += piece.length;
      }
      if (end === -1) break;
      yield* finish();
      start = end + 1;
    }
  }
  if (length > 0 || overflow > 0) yield* finish();
}
