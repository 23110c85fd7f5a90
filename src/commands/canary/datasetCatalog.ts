import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { GoldenDataset } from '../../domain/canary/goldenDataset';
import { fieldErrors } from '../../infra/http/validation';
import { packageRoot } from '../../infra/packageRoot';
import { goldenDatasetFile } from './datasetSchema';

/** A dataset file that could not be loaded: named, with the field that is wrong. */
export interface DatasetProblem {
  readonly file: string;
  readonly message: string;
}

export interface DatasetCatalog {
  /** By id, built-in ones first, in file-name order. */
  readonly datasets: ReadonlyMap<string, GoldenDataset>;
  readonly problems: readonly DatasetProblem[];
}

/** The five datasets that ship with the service (datasets/ beside package.json, also in the image). */
export const builtinDatasetsDir = (): string => join(packageRoot(), 'datasets');

const jsonFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));

/** One file → a dataset, or a problem naming the field (e.g. `samples[3].budget_cents: ...`). */
export function loadDatasetFile(file: string): GoldenDataset | DatasetProblem {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { file, message: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = goldenDatasetFile.safeParse(raw);
  if (!parsed.success) {
    return {
      file,
      message: fieldErrors(parsed.error, '')
        .map((e) => `${e.path || '(file)'}: ${e.message}`)
        .join('; '),
    };
  }
  return parsed.data as GoldenDataset;
}

/**
 * The built-in datasets plus every `*.json` in `extraDir` (COSTSIM_DATASETS_DIR). A bad file is reported
 * (by name, with the wrong field) and left out; the others load, so the service still starts. A file whose
 * id is already taken is reported too (the first one wins: a built-in cannot be replaced by accident).
 */
export function loadDatasetCatalog(
  extraDir: string | undefined,
  builtinDir: string = builtinDatasetsDir(),
): DatasetCatalog {
  const datasets = new Map<string, GoldenDataset>();
  const problems: DatasetProblem[] = [];
  const dirs = [builtinDir, ...(extraDir ? [extraDir] : [])];
  for (const dir of dirs) {
    let files: string[];
    try {
      files = jsonFiles(dir);
    } catch (err) {
      problems.push({ file: dir, message: `cannot read the directory: ${(err as Error).message}` });
      continue;
    }
    for (const file of files) {
      const loaded = loadDatasetFile(file);
      if ('message' in loaded) {
        problems.push(loaded);
      } else if (datasets.has(loaded.id)) {
        problems.push({ file, message: `id: "${loaded.id}" is already loaded (${basename(file)} skipped)` });
      } else {
        datasets.set(loaded.id, loaded);
      }
    }
  }
  return { datasets, problems };
}
