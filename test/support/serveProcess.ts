import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * The CLI as tests run it: the TypeScript sources through tsx (test/support/devCli.js), so tests need no
 * build. The built entry, bin/costsim-guard.js, is what `npm start` and `npx costsim-guard` run.
 */
export const CLI = join(__dirname, 'devCli.js');
export const BUILT_CLI = join(__dirname, '..', '..', 'bin', 'costsim-guard.js');

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `costsim-guard serve` as a real process and waits for its "serving" log line. */
export async function startServe(env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in time:\n${out}`)), timeoutMs);
    const onData = () => {
      const m = /"url":"(http:\/\/[^"]+)".*"msg":"costsim-guard serving"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
