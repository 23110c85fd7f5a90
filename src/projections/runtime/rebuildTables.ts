import pg from 'pg';
import type { Projection } from '../projection';

const quote = (identifier: string) => pg.escapeIdentifier(identifier);

/**
 * Where a blue/green rebuild of one projection lives: empty copies of its tables in a schema of its own
 * (`costsim_rebuild_<name>`, filled by the projection's own `apply` through search_path), its checkpoint
 * row `<name>@rebuild`, and the schema the live tables are moved to (and dropped with) at the swap.
 */
export interface RebuildLayout {
  projection: Projection;
  /** Quoted schema of the live tables. */
  live: string;
  /** Quoted schema of the copies. */
  rebuilt: string;
  /** Quoted schema the live tables leave through at the swap (dropped in the same transaction). */
  retired: string;
  checkpointName: string;
  /** search_path that resolves the projection's tables to the copies and everything else as usual. */
  searchPath: string;
}

export const rebuildCheckpointName = (projection: string) => `${projection}@rebuild`;

export async function rebuildLayout(
  db: pg.Pool | pg.ClientBase,
  projection: Projection,
): Promise<RebuildLayout> {
  const { rows } = await db.query<{ table_name: string; schema: string | null; search_path: string }>(
    `select t.name as table_name, n.nspname as schema, current_setting('search_path') as search_path
       from unnest($1::text[]) as t(name)
       left join pg_class c on c.oid = to_regclass(t.name)
       left join pg_namespace n on n.oid = c.relnamespace`,
    [projection.tables],
  );
  const missing = rows.filter((r) => r.schema === null).map((r) => r.table_name);
  if (rows.length === 0 || missing.length > 0) {
    throw new Error(
      `projection ${projection.name}: ${missing.length ? `table(s) ${missing.join(', ')} not found` : 'no tables declared'} (are the migrations applied?)`,
    );
  }
  const schemas = [...new Set(rows.map((r) => r.schema!))];
  if (schemas.length !== 1) {
    throw new Error(
      `projection ${projection.name}: its tables must live in one schema, found ${schemas.join(', ')}`,
    );
  }
  // Schema names are identifiers of at most 63 bytes; projection names are lower_snake_case.
  const rebuilt = quote(`costsim_rebuild_${projection.name}`.slice(0, 63));
  return {
    projection,
    live: quote(schemas[0]!),
    rebuilt,
    retired: quote(`costsim_retired_${projection.name}`.slice(0, 63)),
    checkpointName: rebuildCheckpointName(projection.name),
    searchPath: `${rebuilt}, ${rows[0]!.search_path}`,
  };
}

const qualified = (schema: string, table: string) => `${schema}.${quote(table)}`;

export const liveTables = (layout: RebuildLayout) =>
  layout.projection.tables.map((t) => qualified(layout.live, t)).join(', ');

/** What a killed rebuild left behind (its copies, its checkpoint). The live tables are never touched. */
export async function dropRebuildLeftovers(db: pg.ClientBase, layout: RebuildLayout): Promise<void> {
  await db.query(
    `drop schema if exists ${layout.rebuilt} cascade; drop schema if exists ${layout.retired} cascade`,
  );
  await db.query('delete from projection_checkpoints where name = $1', [layout.checkpointName]);
}

/**
 * Empty copies of the live tables (columns, defaults, generated columns, constraints, indexes), their
 * indexes renamed to the live ones' names so that, once swapped in, the tables look exactly like what the
 * migrations created (later migrations refer to indexes by name).
 */
export async function createTableCopies(tx: pg.ClientBase, layout: RebuildLayout): Promise<void> {
  await tx.query(`create schema ${layout.rebuilt}`);
  for (const table of layout.projection.tables) {
    const live = qualified(layout.live, table);
    const copy = qualified(layout.rebuilt, table);
    await tx.query(`create table ${copy} (like ${live} including all)`);
    const [liveIndexes, copyIndexes] = await Promise.all([indexesOf(tx, live), indexesOf(tx, copy)]);
    const renames: Array<{ from: string; to: string }> = [];
    for (const index of liveIndexes) {
      const match = copyIndexes.findIndex((c) => c.definition === index.definition);
      if (match === -1) throw new Error(`rebuild: index ${index.name} of ${live} was not copied`);
      renames.push({ from: copyIndexes[match]!.name, to: index.name });
      copyIndexes.splice(match, 1);
    }
    // Through temporary names: a copy's generated name may be another live index's name.
    for (const [i, r] of renames.entries()) {
      await tx.query(
        `alter index ${layout.rebuilt}.${quote(r.from)} rename to ${quote(`costsim_rebuild_${i}`)}`,
      );
    }
    for (const [i, r] of renames.entries()) {
      await tx.query(
        `alter index ${layout.rebuilt}.${quote(`costsim_rebuild_${i}`)} rename to ${quote(r.to)}`,
      );
    }
  }
}

async function indexesOf(tx: pg.ClientBase, table: string) {
  const { rows } = await tx.query<{ name: string; definition: string }>(
    `select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = $1::regclass order by c.relname`,
    [table],
  );
  // "CREATE [UNIQUE] INDEX <name> ON <schema>.<table> USING …": compared without the name and the table.
  return rows.map((r) => ({
    name: r.name,
    definition: r.definition.replace(/^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ /, 'CREATE $1INDEX ON '),
  }));
}

/** Fresh planner statistics for the copies, so queries plan well from the first read after the swap. */
export async function analyzeCopies(db: pg.Pool | pg.ClientBase, layout: RebuildLayout): Promise<void> {
  for (const table of layout.projection.tables) await db.query(`analyze ${qualified(layout.rebuilt, table)}`);
}

/**
 * The swap itself, inside the caller's transaction: the live tables move out (and are dropped), the copies
 * move in. Each move takes an ACCESS EXCLUSIVE lock, so readers wait for the commit and then see the new
 * tables, complete; a statement that was waiting re-resolves the name to the new table.
 */
export async function swapTablesIn(tx: pg.ClientBase, layout: RebuildLayout): Promise<void> {
  await tx.query(`create schema ${layout.retired}`);
  for (const table of layout.projection.tables) {
    await tx.query(`alter table ${qualified(layout.live, table)} set schema ${layout.retired}`);
    await tx.query(`alter table ${qualified(layout.rebuilt, table)} set schema ${layout.live}`);
  }
  await tx.query(`drop schema ${layout.retired} cascade; drop schema ${layout.rebuilt}`);
}
