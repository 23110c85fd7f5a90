import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { LosslessNumber, parse } from 'lossless-json';
import Assembler from 'stream-json/Assembler';
import { parser } from 'stream-json';

/** One item of a backfill file: its value (numbers lossless) or why it could not be read. */
export type SourceItem =
  { readonly where: string; readonly value: unknown } | { readonly where: string; readonly error: string };

/** Files named on the command line; a directory contributes its .json/.jsonl/.ndjson files, sorted. */
export async function backfillFiles(
  paths: readonly string[],
): Promise<Array<{ path: string; bytes: number }>> {
  const files: Array<{ path: string; bytes: number }> = [];
  for (const path of paths) {
    const info = await stat(path);
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => /\.(json|jsonl|ndjson)$/i.test(n)).sort();
      for (const name of names)
        files.push({ path: join(path, name), bytes: (await stat(join(path, name))).size });
    } else files.push({ path, bytes: info.size });
  }
  return files;
}

/** Counts the bytes flowing through (for the progress bar). */
function byteCounter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}

/** The first non-blank character of a file: '[' means a JSON array, anything else JSON Lines. */
async function firstChar(path: string): Promise<string | null> {
  for await (const chunk of createReadStream(path, { start: 0, end: 4095, encoding: 'utf8' })) {
    const m = /[^\s\ufeff]/.exec(chunk as string);
    if (m) return m[0];
  }
  return null;
}

/**
 * Every item of a file, streamed: memory stays bounded by one item, whatever the file's size. A JSON
 * array (`[...]`, any layout) is read by stream-json's tokenizer, its elements assembled with numbers kept
 * as their text (lossless, like the HTTP route's input hash); JSON Lines are read line by line with
 * lossless-json, and a bad line is one error, not the end of the file.
 */
export async function* readBackfillFile(
  path: string,
  onBytes: (n: number) => void,
): AsyncGenerator<SourceItem> {
  if ((await firstChar(path)) === '[') yield* readArray(path, onBytes);
  else yield* readLines(path, onBytes);
}

async function* readLines(path: string, onBytes: (n: number) => void): AsyncGenerator<SourceItem> {
  const lines = createInterface({
    input: createReadStream(path).pipe(byteCounter(onBytes)),
    crlfDelay: Infinity,
  });
  let n = 0;
  for await (const line of lines) {
    n++;
    const text = n === 1 ? line.replace(/^\ufeff/, '') : line;
    if (text.trim() === '') continue;
    try {
      yield { where: `${path}:${n}`, value: parse(text) };
    } catch (err) {
      yield { where: `${path}:${n}`, error: `not valid JSON (${(err as Error).message.slice(0, 120)})` };
    }
  }
}

/** stream-json's Assembler, with numbers kept as lossless-json numbers instead of parseFloat. */
class LosslessAssembler extends Assembler {
  numberValue(value: string): void {
    (this as unknown as { _saveValue(v: unknown): void })._saveValue(new LosslessNumber(value));
  }
}

async function* readArray(path: string, onBytes: (n: number) => void): AsyncGenerator<SourceItem> {
  const tokens = createReadStream(path)
    .pipe(byteCounter(onBytes))
    .pipe(parser({ packValues: true, streamValues: false }));
  const assembler = new LosslessAssembler();
  let index = 0;
  try {
    for await (const token of tokens as AsyncIterable<Parameters<Assembler['consume']>[0]>) {
      assembler.consume(token);
      // depth 1: inside the top-level array, an element has just been completed
      const top = assembler.current as unknown[] | null;
      if (assembler.depth === 1 && Array.isArray(top) && top.length > 0) {
        yield { where: `${path}[${index}]`, value: top.pop() };
        index++;
      }
    }
  } catch (err) {
    // A syntax error ends the file: nothing after it can be located reliably.
    yield {
      where: `${path}[${index}]`,
      error: `not valid JSON (${(err as Error).message.slice(0, 120)}); rest of file skipped`,
    };
  }
}
