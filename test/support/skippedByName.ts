import { relative } from 'node:path';

/**
 * `test` or `test.skip`, and for a skip a line naming the test and why on stderr at collection time:
 * Jest lists no names of a file whose tests are all skipped (and none outside --verbose), and the brief
 * wants every test that cannot run here to say so by name in the output.
 */
export function testUnless(
  skipReason: string | null,
  file: string,
): (name: string, fn: jest.ProvidesCallback) => void {
  return (name, fn) => {
    if (skipReason === null) return test(name, fn);
    const title = `${name} — SKIPPED: ${skipReason}`;
    process.stderr.write(`skipped: ${relative(process.cwd(), file)}: ${title}\n`);
    test.skip(title, fn);
  };
}
