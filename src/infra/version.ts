import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './packageRoot';

let cached: string | undefined;

/** The package version (package.json), as `--version`, /openapi.json and costsim_build_info report it. */
export function serviceVersion(): string {
  cached ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
  return cached;
}
