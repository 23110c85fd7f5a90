// eslint-disable-next-line @typescript-eslint/no-require-imports
const discovery = require('./alertmanagerDiscovery.cjs') as {
  ENV: string;
  findBinary(env?: NodeJS.ProcessEnv): { path?: string; reason?: string };
};

export type AlertmanagerSource =
  { kind: 'binary'; path: string } | { kind: 'container'; image: string } | { kind: 'none'; reason: string };

/**
 * Where alert tests get their Alertmanager, as globalSetup found it (COSTSIM_TEST_ALERTMANAGER); a file run
 * without globalSetup looks for the binary itself.
 */
export function alertmanagerSource(): AlertmanagerSource {
  const found = process.env[discovery.ENV];
  if (found) return JSON.parse(found) as AlertmanagerSource;
  const binary = discovery.findBinary();
  return binary.path ? { kind: 'binary', path: binary.path } : { kind: 'none', reason: binary.reason! };
}

const skipped = (name: string, reason: string) => `${name} [skipped: ${reason}]`;

/**
 * `test` when an Alertmanager can run here; otherwise the test is registered as skipped, its name carrying
 * the reason (so it is listed, by name, and counted as skipped in the closing line; its file's beforeAll
 * hooks do not run when every test in it is skipped).
 */
export function testWithAlertmanager(name: string, fn: jest.ProvidesCallback, timeout?: number): void {
  const source = alertmanagerSource();
  if (source.kind === 'none') test.skip(skipped(name, source.reason), fn, timeout);
  else test(name, fn, timeout);
}

export function describeWithAlertmanager(name: string, fn: () => void): void {
  const source = alertmanagerSource();
  if (source.kind === 'none') describe.skip(skipped(name, source.reason), fn);
  else describe(name, fn);
}
