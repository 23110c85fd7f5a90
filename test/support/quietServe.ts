import { spawn } from 'node:child_process';
import net from 'node:net';
import { CLI, type ServeProcess } from './serveProcess';

/** A loopback port that was free a moment ago (the OS hands out ports round-robin, so reuse is unlikely). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `costsim-guard serve` as a real process on a port chosen here, so it works at any LOG_LEVEL
 * (startServe waits for the info-level "serving" line, which LOG_LEVEL=warn suppresses): the process is
 * up once GET /health/live answers 200. `stop` sends SIGTERM and, after `killAfterMs`, SIGKILL.
 */
export async function startQuietServe(
  env: NodeJS.ProcessEnv,
  { timeoutMs = 60_000, killAfterMs = 20_000 } = {},
): Promise<ServeProcess> {
  const port = await freePort();
  const host = env.HOST ?? '127.0.0.1';
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  const url = `http://${host}:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`serve exited with ${exitCode}:\n${out}`);
    const live = await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (live === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve did not answer /health/live within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}
