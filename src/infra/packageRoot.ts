import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The directory of the package.json this code ships in, found from this file's own location: the same
 * answer from src/ (tsx, tests) and from dist/src/ (the build). Files that ship beside the code (docs/,
 * data files) are found from here, never from the working directory.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
