import { rmSync } from 'node:fs';
import { startQuietServe } from './quietServe';
import { replicaEnv } from './replicaEnv';
import type { ServeProcess } from './serveProcess';

export interface ServeReplicas {
  procs: ServeProcess[];
  urls: string[];
  /** Lines the processes logged at warn or above (they run with LOG_LEVEL=warn), prefixed by process. */
  warnings(): string[];
  /** SIGTERM to every process (once); resolves with their exit codes, then removes their data directories. */
  stop(): Promise<Array<number | null>>;
}

/**
 * `count` real `costsim-guard serve` processes on one database (replicaEnv, plus `env`). Started together;
 * if one fails to start, those that did are stopped before the error is thrown.
 */
export async function startServeReplicas(
  databaseUrl: string,
  name: string,
  count: number,
  env: NodeJS.ProcessEnv = {},
): Promise<ServeReplicas> {
  const dirs: string[] = [];
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      startQuietServe({ ...replicaEnv(databaseUrl, name, i, dirs), ...env }),
    ),
  );
  const procs = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  let stopping: Promise<Array<number | null>> | null = null;
  const replicas: ServeReplicas = {
    procs,
    urls: procs.map((p) => p.url),
    warnings: () =>
      procs.flatMap((p, i) =>
        p
          .output()
          .split('\n')
          .filter((l) => /"level":(40|50|60)/.test(l))
          .map((l) => `process ${i}: ${l}`),
      ),
    stop: () =>
      (stopping ??= Promise.all(procs.map((p) => p.stop())).finally(() => {
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      })),
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await replicas.stop();
    throw failed.reason;
  }
  return replicas;
}
