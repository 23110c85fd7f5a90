import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * How to reach a running `serve` on the embedded database: written to DATA_DIR/service.json (mode 0600,
 * its owner only: it holds the database URL with its password) when serve is up, removed when it stops.
 * CLI commands with no DATABASE_URL read it to work against the running service's database.
 */
export interface ServiceRecord {
  pid: number;
  database_url: string;
  http_url: string;
  started_at: string;
  version: string;
}

export const serviceRecordPath = (dataDir: string) => resolve(join(dataDir, 'service.json'));

export function writeServiceRecord(dataDir: string, record: ServiceRecord): string {
  const path = serviceRecordPath(dataDir);
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode on write
  return path;
}

export function readServiceRecord(dataDir: string): ServiceRecord | null {
  const path = serviceRecordPath(dataDir);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ServiceRecord;
  } catch {
    return null;
  }
}

/** Removes the record, only if it is this process's (a second serve must not remove the first's). */
export function removeServiceRecord(dataDir: string, pid = process.pid): void {
  if (readServiceRecord(dataDir)?.pid === pid) rmSync(serviceRecordPath(dataDir), { force: true });
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}
