// Writes docs/openapi.json: the OpenAPI document the service serves at /openapi.json, generated from the
// same schemas (npm run openapi; test/e2e/openapi.test.ts fails when the file is out of date).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allRouteDocs } from '../src/features';
import { buildOpenApi } from '../src/infra/http/openapi';
import { packageRoot } from '../src/infra/packageRoot';
import { serviceVersion } from '../src/infra/version';

const path = join(packageRoot(), 'docs', 'openapi.json');
writeFileSync(path, `${JSON.stringify(buildOpenApi(allRouteDocs(), serviceVersion()), null, 2)}\n`);
process.stdout.write(`wrote ${path}\n`);
