// Finds the Alertmanager that alert tests run against, once per `jest` run (globalSetup), and says why
// when there is none. Plain CommonJS so that globalSetup.mjs and the TypeScript helpers share it.
const { accessSync, constants } = require('node:fs');
const { delimiter, join } = require('node:path');

const INSTALL_HINT = 'apt-get install -y prometheus-alertmanager (or set ALERTMANAGER_BIN)';
const NAMES = ['alertmanager', 'prometheus-alertmanager'];
const ENV = 'COSTSIM_TEST_ALERTMANAGER';

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * ALERTMANAGER_BIN when set (and only it: a broken explicit setting is reported, not worked around), else
 * `alertmanager` or `prometheus-alertmanager` (Debian's name, /usr/bin) on PATH.
 */
function findBinary(env = process.env) {
  if (env.ALERTMANAGER_BIN) {
    return isExecutable(env.ALERTMANAGER_BIN)
      ? { path: env.ALERTMANAGER_BIN }
      : { reason: `ALERTMANAGER_BIN=${env.ALERTMANAGER_BIN} is not an executable file` };
  }
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    for (const name of NAMES) {
      if (isExecutable(join(dir, name))) return { path: join(dir, name) };
    }
  }
  return { reason: `no ${NAMES.join(' or ')} on PATH (${dirs.length ? dirs.join(delimiter) : 'empty'})` };
}

/** Whether testcontainers finds a container runtime (Docker or Podman) that answers, within `ms`. */
async function probeContainerRuntime(ms = 5000) {
  let timer;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    await Promise.race([getContainerRuntimeClient(), timeout]);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: String(err instanceof Error ? err.message : err).split('\n')[0] };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * {kind: 'binary', path} | {kind: 'container', image} | {kind: 'none', reason}: the binary first, else
 * the prom/alertmanager image through testcontainers where a container runtime answers, else none.
 */
async function discoverAlertmanager(env = process.env) {
  const binary = findBinary(env);
  if (binary.path) return { kind: 'binary', path: binary.path };
  const runtime = await probeContainerRuntime();
  if (runtime.ok) return { kind: 'container', image: 'prom/alertmanager' };
  return {
    kind: 'none',
    reason: `no Alertmanager: ${binary.reason}; no container runtime (${runtime.reason}); install: ${INSTALL_HINT}`,
  };
}

module.exports = { ENV, INSTALL_HINT, findBinary, discoverAlertmanager };
