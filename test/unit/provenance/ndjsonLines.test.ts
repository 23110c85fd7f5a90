import { ndjsonLines } from '../../../src/commands/provenance/ndjsonLines';

async function lines(chunks: string[], max = 20) {
  const out = [];
  async function* source() {
    for (const c of chunks) yield Buffer.from(c);
  }
  for await (const l of ndjsonLines(source(), max)) out.push(l);
  return out;
}

describe('NDJSON line splitting', () => {
  test('lines across chunk boundaries, CRLF, blank lines counted but skipped, no final newline', async () => {
    expect(await lines(['{"a":', '1}\r\n\n{"b"', ':2}\n{"c":3}'])).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 3, text: '{"b":2}' },
      { line: 4, text: '{"c":3}' },
    ]);
  });

  test('a line over the cap is reported as too long and skipped to its end, never held', async () => {
    expect(await lines(['{"ok":1}\n', 'x'.repeat(15), 'y'.repeat(15), '\n{"ok":2}\n'], 20)).toEqual([
      { line: 1, text: '{"ok":1}' },
      { line: 2, tooLong: true, bytes: 30 },
      { line: 3, text: '{"ok":2}' },
    ]);
  });

  test('multi-byte characters split between chunks survive', async () => {
    const bytes = Buffer.from('{"s":"é€😀"}\n');
    async function* source() {
      for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
    }
    const out = [];
    for await (const l of ndjsonLines(source(), 100)) out.push(l);
    expect(out).toEqual([{ line: 1, text: '{"s":"é€😀"}' }]);
  });
});
