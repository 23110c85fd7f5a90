import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateWorkflow } from '@action-validator/core';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from '../../support/monitoringQueries';

/**
 * The hosted-CI and container files, checked offline: the workflow against GitHub's workflow schema
 * (@action-validator/core, SchemaStore's schema), compose.yaml against the compose-spec schema (dclint),
 * the Dockerfile with the Dockerfile language server's validator (dockerfile-utils); each validator is
 * also shown rejecting a broken copy. The image itself is built by test/e2e/deploy/containerImage.test.ts
 * where Docker runs, and by the hosted CI job `image`.
 */
const run = promisify(execFile);
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const bin = (name: string) => join(REPO_ROOT, 'node_modules', '.bin', name);

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  'runs-on': string;
  services?: Record<string, { image: string }>;
  steps: Step[];
}

describe('.github/workflows/ci.yml', () => {
  const text = read('.github/workflows/ci.yml');
  const workflow = parse(text) as { jobs: Record<string, Job> };

  test('validates against the GitHub workflow schema; a broken copy does not', () => {
    expect(validateWorkflow(text).errors).toEqual([]);
    const broken = structuredClone(workflow) as { jobs: Record<string, Partial<Job>> };
    delete broken.jobs.costsim!['runs-on'];
    expect(validateWorkflow(stringify(broken)).errors.length).toBeGreaterThan(0);
  });

  test('job costsim runs .ci/run on Node 24 beside PostgreSQL, with Alertmanager and Prometheus installed', () => {
    const job = workflow.jobs.costsim!;
    expect(job.services?.postgres?.image).toMatch(/^postgres:/);
    expect(job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with?.['node-version']).toBe(24);
    const commands = job.steps.map((s) => s.run ?? '').join('\n');
    expect(commands).toMatch(/apt-get install .*prometheus-alertmanager/);
    expect(commands).toMatch(/apt-get install .*\bprometheus\b/);
    expect(commands).toContain('bash .ci/run');
  });

  test('job image builds the Dockerfile and smoke-tests /health/ready', () => {
    const job = workflow.jobs.image!;
    expect(job.services?.postgres?.image).toMatch(/^postgres:/);
    expect(job.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'))?.with).toMatchObject({
      context: '.',
      load: true,
    });
    const smoke = job.steps.map((s) => s.run ?? '').find((r) => r.includes('smoke-test-image.sh'));
    expect(smoke).toContain('deploy/ci/smoke-test-image.sh costsim-guard:ci');
    accessSync(join(REPO_ROOT, 'deploy', 'ci', 'smoke-test-image.sh'), constants.X_OK);
    expect(read('deploy/ci/smoke-test-image.sh')).toContain('/health/ready');
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');

  test('is valid (dockerfile-utils); an unknown instruction is reported', () => {
    expect(validateDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    expect(validateDockerfile(`${text}\nFROBNICATE now\n`).length).toBeGreaterThan(0);
  });

  test('multi-stage: builds with npm run build, prunes dev dependencies, runs dist/ as node', () => {
    const stages = text.split(/^FROM /m).slice(1);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const [build, runtime] = [stages[0]!, stages[stages.length - 1]!];
    expect(build).toMatch(/npm ci/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm prune --omit=dev/);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/node_modules \.\/node_modules$/m);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*\/health\/ready/m);
    expect(runtime).toMatch(/^CMD \["node", "bin\/costsim-guard\.js", "serve"\]$/m);
    expect(runtime).not.toMatch(/npm (ci|install)/);
  });

  test('.dockerignore keeps what the build copies and leaves out the rest', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const needed of [
      'package.json',
      'package-lock.json',
      'bin',
      'src',
      'migrations',
      'docs',
      'tsconfig.json',
    ]) {
      expect(ignored).not.toContain(needed);
    }
    for (const left of ['node_modules', 'dist', '.git', 'test']) expect(ignored).toContain(left);
  });
});

describe('compose.yaml', () => {
  // merge: compose files use YAML merge keys (`<<: *anchor`), as Docker Compose reads them.
  const compose = parse(read('compose.yaml'), { merge: true }) as {
    services: Record<
      string,
      {
        build?: unknown;
        image?: string;
        volumes?: string[];
        ports?: string[];
        environment?: Record<string, string>;
      }
    >;
  };

  test('validates against the compose-spec schema (dclint, no warnings); a broken copy does not', async () => {
    await run(bin('dclint'), ['--max-warnings', '0', join(REPO_ROOT, 'compose.yaml')], { cwd: REPO_ROOT });
    const dir = await mkdtemp(join(tmpdir(), 'costsim-compose-'));
    try {
      const file = join(dir, 'compose.yaml');
      await writeFile(
        file,
        read('compose.yaml').replace('\n  postgres:\n', '\n  postgres:\n    not_a_compose_key: 1\n'),
      );
      const failed = await run(bin('dclint'), [file], { cwd: REPO_ROOT }).then(
        () => null,
        (err: { stdout: string; code: number }) => err,
      );
      expect(failed?.code).not.toBe(0);
      expect(failed?.stdout).toContain('invalid-schema');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('two replicas of the image, PostgreSQL, Alertmanager, Prometheus with the rules, Grafana with the dashboard', () => {
    const s = compose.services;
    for (const replica of ['costsim-1', 'costsim-2']) {
      expect(s[replica]?.build).toBe('.');
      expect(s[replica]?.environment?.DATABASE_URL).toContain('@postgres:5432/');
      expect(s[replica]?.environment?.ALERTMANAGER_URL).toBe('http://alertmanager:9093');
      expect(s[replica]?.environment?.COSTSIM_METRICS_DETAIL).toBe('true');
    }
    expect(s['costsim-1']?.environment?.INSTANCE_ID).not.toBe(s['costsim-2']?.environment?.INSTANCE_ID);
    expect(s.postgres?.image).toMatch(/^postgres:/);
    expect(s.alertmanager?.image).toMatch(/^prom\/alertmanager:/);
    expect(s.prometheus?.volumes).toContain(
      './deploy/prometheus/costsim-guard.rules.yml:/etc/prometheus/rules/costsim-guard.rules.yml:ro',
    );
    expect(s.grafana?.volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(s.grafana?.volumes).toContain(
      './deploy/grafana/costsim-guard.json:/var/lib/grafana/dashboards/costsim-guard.json:ro',
    );
    const prometheus = parse(read('deploy/prometheus/prometheus.compose.yml')) as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const job = prometheus.scrape_configs.find((c) => c.job_name === 'costsim-guard');
    expect(job?.static_configs.flatMap((c) => c.targets)).toEqual(['costsim-1:8000', 'costsim-2:8000']);
  });

  test('every bind-mounted file exists, and every port is published on loopback only', () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./'))
          expect({ volume, exists: existsSync(join(REPO_ROOT, source)) }).toEqual({ volume, exists: true });
      }
      for (const port of service.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });
});
