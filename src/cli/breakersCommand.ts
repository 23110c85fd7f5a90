import type { Command } from 'commander';
import type { z } from 'zod';
import { BreakerCommandService } from '../commands/breaker/breakerCommandService';
import { BreakerDeclarations } from '../commands/breaker/breakerDeclarations';
import { breakerPolicyFromConfig } from '../commands/breaker/breakerPolicyFromConfig';
import { disableCommand, enableCommand } from '../commands/breaker/breakerCommandInputs';
import { breakerName, disableBody, enableBody } from '../commands/breaker/breakerSchemas';
import { declareBody } from '../commands/breaker/breakerDeclarationRoutes';
import { commandErrorToProblem } from '../commands/commandErrors';
import { initialBreakerState } from '../domain/breaker';
import type { Config } from '../infra/config/config';
import { PostgresEventStore } from '../infra/eventStore/postgresEventStore';
import { tenantIdSchema } from '../infra/http/auth';
import { fieldErrors } from '../infra/http/validation';
import { migrateLatest } from '../infra/postgres/migrate';
import { createPool } from '../infra/postgres/pool';
import { breakerHistory } from '../projections/breaker/breakerHistory';
import { BreakerQueries } from '../projections/breaker/breakerQueries';
import {
  type BreakerStateView,
  breakerStateView,
  openIncidentView,
} from '../projections/breaker/breakerViews';
import {
  CliError,
  type DatabaseOptions,
  ExitCode,
  cliActor,
  output,
  positiveInt,
  withDatabase,
  withDatabaseOptions,
} from './cliContext';

/** Validates CLI input with the HTTP API's own schemas: the same rules, the same messages. */
function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const errors = fieldErrors(result.error, '').map((e) => `${e.path || what}: ${e.message}`);
    throw new CliError(`invalid ${what}: ${errors.join('; ')}`, ExitCode.usage);
  }
  return result.data;
}

interface Breakers {
  config: Config;
  service: BreakerCommandService;
  queries: BreakerQueries;
  declarations: BreakerDeclarations;
  store: PostgresEventStore;
}

/** The breaker's own command handlers and queries, in-process, on the database. */
async function withBreakers<T>(options: DatabaseOptions, work: (b: Breakers) => Promise<T>): Promise<T> {
  return withDatabase(options, async (url, config) => {
    await migrateLatest(url);
    const pool = createPool(url, { max: 4, applicationName: 'costsim-guard-cli' });
    try {
      const store = new PostgresEventStore(pool);
      const policy = breakerPolicyFromConfig(config);
      return await work({
        config,
        store,
        service: new BreakerCommandService(store, policy, { instance: config.instanceId }),
        queries: new BreakerQueries(pool, policy),
        declarations: new BreakerDeclarations(store, pool),
      });
    } catch (err) {
      const problem = commandErrorToProblem(err);
      if (problem)
        throw new CliError(problem.detail, problem.status === 412 ? ExitCode.failure : ExitCode.usage);
      throw err;
    } finally {
      await pool.end();
    }
  });
}

type RefOptions = DatabaseOptions & { tenant?: string };

function ref(name: string, options: RefOptions) {
  return {
    name: parse(breakerName, name, 'breaker name'),
    tenantId: options.tenant === undefined ? null : parse(tenantIdSchema, options.tenant, '--tenant'),
  };
}

async function requireDeclared(b: Breakers, name: string): Promise<void> {
  if (!(await b.declarations.isDeclared(name))) {
    throw new CliError(
      `Breaker not found: ${name} (declare it first: costsim-guard breakers declare ${name})`,
      ExitCode.notFound,
    );
  }
}

function printState(s: BreakerStateView): void {
  const rows: Array<[string, unknown]> = [
    ['breaker', s.tenant_id === null ? s.name : `${s.name} (tenant ${s.tenant_id})`],
    ['state', s.open ? 'OPEN (V2 disabled)' : 'closed (V2 may run)'],
    ['disabled by', s.disabled_by],
    ['reason', s.disabled_reason],
    ['disabled until', s.open ? (s.disabled_until ?? 'until enabled by hand') : null],
    ['incident', s.incident_id],
    ['consecutive failures', s.consecutive_failures],
    ['updated at', s.updated_at],
    ['version', s.version],
  ];
  for (const [k, v] of rows)
    if (v !== null && v !== undefined) process.stdout.write(`${k.padEnd(21)} ${String(v)}\n`);
}

const actorMetadata = () => ({ actor_key: cliActor(), source: 'cli' });

export function registerBreakersCommand(program: Command): Command {
  const breakers = program.command('breakers').description('inspect, declare, disable and enable breakers');

  withDatabaseOptions(
    breakers
      .command('list')
      .description('every declared breaker and its state')
      .option('--tenant <id>', "a tenant's breakers and the global ones"),
  ).action((options: RefOptions) =>
    withBreakers(options, async (b) => {
      const tenant =
        options.tenant === undefined ? undefined : parse(tenantIdSchema, options.tenant, '--tenant');
      const listed = await b.queries.list(tenant);
      const seen = new Set(listed.filter((s) => s.tenant_id === null).map((s) => s.name));
      const policy = breakerPolicyFromConfig(b.config);
      const declared = (await b.declarations.list()).filter((d) => !seen.has(d.name));
      const all = [
        ...listed,
        ...declared.map((d) => breakerStateView(d.name, null, initialBreakerState(), new Date(), policy)),
      ].sort((x, y) => x.name.localeCompare(y.name));
      output(options, { breakers: all }, () =>
        console.table(
          all.map((s) => ({
            breaker: s.name,
            tenant: s.tenant_id ?? '',
            state: s.open ? 'OPEN' : 'closed',
            disabled_by: s.disabled_by ?? '',
            reason: s.disabled_reason ?? '',
            until: s.open ? (s.disabled_until ?? 'manual') : '',
            version: s.version,
          })),
        ),
      );
    }),
  );

  withDatabaseOptions(
    breakers
      .command('show')
      .description("one breaker's state (from the read model)")
      .argument('<name>')
      .option('--tenant <id>', "the tenant's breaker of that name"),
  ).action((name: string, options: RefOptions) =>
    withBreakers(options, async (b) => {
      const r = ref(name, options);
      await requireDeclared(b, r.name);
      const state = await b.queries.getFromTable(r.name, r.tenantId);
      output(options, state, () => printState(state));
    }),
  );

  withDatabaseOptions(
    breakers
      .command('declare')
      .description('declare a breaker (a no-op if it is declared already)')
      .argument('<name>')
      .option('--description <text>', 'what the breaker gates'),
  ).action((name: string, options: DatabaseOptions & { description?: string }) =>
    withBreakers(options, async (b) => {
      const n = parse(breakerName, name, 'breaker name');
      const input = parse(
        declareBody,
        options.description === undefined ? {} : { description: options.description },
        'description',
      );
      const result = await b.declarations.declare(n, input.description, cliActor(), actorMetadata());
      output(options, { ...result.declaration, created: result.created }, () =>
        process.stdout.write(
          `${result.created ? 'declared' : result.changed ? 'updated' : 'already declared'}: ${n}` +
            `${result.declaration.description ? ` (${result.declaration.description})` : ''}\n`,
        ),
      );
    }),
  );

  withDatabaseOptions(
    breakers
      .command('disable')
      .description('open a breaker by hand (V2 off; P2 incident and alert)')
      .argument('<name>')
      .requiredOption('--reason <text>', 'why (1..500 characters)')
      .option('--ttl-hours <n>', 'hours until it re-enables itself (0 = until enabled)', Number)
      .option('--until <iso>', 're-enable at this instant instead')
      .option('--tenant <id>', "the tenant's breaker of that name")
      .option('--if-match <version>', 'only if the breaker is still at this version', positiveInt),
  ).action(
    (
      name: string,
      options: RefOptions & { reason: string; ttlHours?: number; until?: string; ifMatch?: number },
    ) =>
      withBreakers(options, async (b) => {
        const r = ref(name, options);
        const input = parse(
          disableBody,
          {
            reason: options.reason,
            ...(options.ttlHours !== undefined ? { ttl_hours: options.ttlHours } : {}),
            ...(options.until !== undefined ? { disabled_until: options.until } : {}),
          },
          'disable',
        );
        await requireDeclared(b, r.name);
        const actor = cliActor();
        const outcome = await b.service.execute(r, disableCommand(input, actor), {
          metadata: actorMetadata(),
          ...(options.ifMatch !== undefined ? { ifMatch: options.ifMatch } : {}),
        });
        const state = breakerStateView(r.name, r.tenantId, outcome.after, new Date(), b.service.policy);
        const incident = outcome.changed ? openIncidentView(r.name, r.tenantId, outcome.after) : null;
        output(options, { changed: outcome.changed, state, incident }, () => {
          process.stdout.write(
            outcome.changed ? 'disabled\n' : 'no change: already disabled with this reason and TTL\n',
          );
          printState(state);
        });
      }),
  );

  withDatabaseOptions(
    breakers
      .command('enable')
      .description('close a breaker (V2 back on; the incident resolved, the alert resolved)')
      .argument('<name>')
      .option('--reason <text>', 'resolution notes')
      .option('--tenant <id>', "the tenant's breaker of that name"),
  ).action((name: string, options: RefOptions & { reason?: string }) =>
    withBreakers(options, async (b) => {
      const r = ref(name, options);
      const input = parse(
        enableBody,
        options.reason === undefined ? {} : { reason: options.reason },
        'enable',
      );
      await requireDeclared(b, r.name);
      const actor = cliActor();
      const outcome = await b.service.execute(r, enableCommand(input.reason, actor), {
        metadata: actorMetadata(),
      });
      const state = breakerStateView(r.name, r.tenantId, outcome.after, new Date(), b.service.policy);
      output(options, { changed: outcome.changed, state }, () => {
        process.stdout.write(outcome.changed ? 'enabled\n' : 'no change: the breaker was not open\n');
        printState(state);
      });
    }),
  );

  withDatabaseOptions(
    breakers
      .command('history')
      .description("a breaker's events and its state at an instant, from the events alone")
      .argument('<name>')
      .option('--tenant <id>', "the tenant's breaker of that name")
      .option('--until <iso>', 'as of this instant (default now)')
      .option('--limit <n>', 'the last n events (default 100)', positiveInt),
  ).action((name: string, options: RefOptions & { until?: string; limit?: number }) =>
    withBreakers(options, async (b) => {
      const r = ref(name, options);
      await requireDeclared(b, r.name);
      const until = options.until === undefined ? new Date() : new Date(options.until);
      if (Number.isNaN(until.getTime()))
        throw new CliError(`--until: not a timestamp: ${options.until}`, ExitCode.usage);
      const history = await breakerHistory(b.store, b.service.policy, r, until, options.limit ?? 100);
      output(options, history, () => {
        console.table(
          history.events.map((e) => ({
            position: e.position,
            recorded_at: e.recorded_at,
            type: e.type,
            actor: e.actor ?? '',
            reason: typeof e.data.reason === 'string' ? e.data.reason : '',
          })),
        );
        process.stdout.write(`state at ${until.toISOString()} (${history.total} events):\n`);
        printState(history.state_at_until);
      });
    }),
  );
  return breakers;
}
