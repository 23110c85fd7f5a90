import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../support/monitoringQueries';
import { testUnless } from '../../support/skippedByName';
import { createTestDatabase } from '../../support/testDatabase';

/**
 * The container image: `docker build` of the Dockerfile, then deploy/ci/smoke-test-image.sh (the script
 * the hosted CI job `image` runs): ready on /health/ready against a real PostgreSQL, runs as `node`, its
 * HEALTHCHECK turns healthy. It needs a Docker engine; where there is none (this machine and its CI) the
 * test is skipped, by name, with the reason. COSTSIM_IMAGE_TEST=1 asks for it where Docker runs (a
 * build takes minutes, so it is not run by default there either).
 */
jest.setTimeout(15 * 60_000);

const run = promisify(execFile);
function dockerEngine(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
const hasDocker = dockerEngine();
const wanted = process.env.COSTSIM_IMAGE_TEST === '1';
const skipReason = !hasDocker
  ? 'no Docker engine on this machine (the hosted CI job `image` builds and smoke-tests it)'
  : !wanted
    ? 'set COSTSIM_IMAGE_TEST=1 to build the image here (the hosted CI job `image` does)'
    : null;

testUnless(skipReason, __filename)(
  'the image builds and answers /health/ready as a non-root user',
  async () => {
    const db = await createTestDatabase();
    try {
      await run('docker', ['build', '-t', 'costsim-guard:test', REPO_ROOT], { maxBuffer: 64 * 1024 * 1024 });
      const { stdout } = await run(
        'bash',
        [join(REPO_ROOT, 'deploy', 'ci', 'smoke-test-image.sh'), 'costsim-guard:test', db.url],
        { cwd: REPO_ROOT },
      );
      expect(stdout).toContain('HEALTHCHECK healthy');
    } finally {
      await db.drop();
    }
  },
);
