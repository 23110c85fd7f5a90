import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { request } from 'undici';

/**
 * What the support modules for real servers (Alertmanager, Prometheus) share: finding the binary, running
 * it as a child with its output kept for error messages, waiting for its readiness URL, stopping it.
 */

/** The first executable of: `envPath`, each of `paths`, then each of `names` on PATH; null if none. */
export function findExecutable(envPath: string | undefined, paths: string[], names: string[]): string | null {
  const candidates = [
    envPath,
    ...paths,
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .flatMap((dir) => (dir ? names.map((name) => join(dir, name)) : [])),
  ];
  return candidates.find((path): path is string => !!path && isExecutable(path)) ?? null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const KILL_AFTER_MS = 5_000;

export interface Daemon {
  readonly alive: boolean;
  /** stdout and stderr so far. */
  output(): string;
  /** SIGTERM (SIGKILL after 5 s) or SIGKILL; resolves when it has exited. */
  halt(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Spawns `bin args` and resolves once `readyUrl` answers 200. If it exits first or is not ready within
 * `timeoutMs`, it is killed and the error carries its output.
 */
export async function startDaemon(opts: {
  name: string;
  bin: string;
  args: string[];
  readyUrl: string;
  timeoutMs?: number;
}): Promise<Daemon> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let output = '';
  let alive = true;
  let failure: string | undefined;
  const child: ChildProcess = spawn(opts.bin, opts.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => {
    child.on('error', (err) => {
      alive = false;
      failure = `could not run ${opts.bin}: ${err.message}`;
      resolve();
    });
    child.on('exit', (code, signal) => {
      alive = false;
      failure ??= `exited with ${code ?? signal}`;
      resolve();
    });
  });
  const daemon: Daemon = {
    get alive() {
      return alive;
    },
    output: () => output,
    async halt(signal) {
      if (!alive) return exited;
      child.kill(signal);
      const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (failure) throw new Error(`${opts.name} ${failure}:\n${output}`);
    if ((await statusOf(opts.readyUrl)) === 200) return daemon;
    if (Date.now() > deadline) {
      await daemon.halt('SIGKILL');
      throw new Error(`${opts.name} did not answer ${opts.readyUrl} within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The status of GET `url`, or 0 while nothing listens yet. */
async function statusOf(url: string): Promise<number> {
  try {
    const { statusCode, body } = await request(url, { signal: AbortSignal.timeout(1_000) });
    await body.dump();
    return statusCode;
  } catch {
    return 0;
  }
}
