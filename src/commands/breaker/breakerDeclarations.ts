import type pg from 'pg';
import { declarationDecider } from '../../domain/breakerDeclaration/declarationDecider';
import {
  DEFAULT_DECLARED_BREAKER,
  type DeclarationEvent,
  type DeclarationState,
  type DeclareBreaker,
  declarationStreamName,
} from '../../domain/breakerDeclaration/declarationEvents';
import type { EventStore, JsonObject } from '../../infra/eventStore/eventStore';
import { DeciderCommandRunner } from '../deciderCommandRunner';

export interface BreakerDeclaration {
  name: string;
  description: string | null;
  /** null for costsim_v2 when nobody has declared it explicitly: it always exists. */
  declared_at: string | null;
}

/** Who declares the breakers of COSTSIM_BREAKERS (recorded as the events' actor). */
export const CONFIG_ACTOR = 'config:COSTSIM_BREAKERS';

/**
 * The declared breakers (docs/api.md "Breakers"). Declaring is a command on the name's declaration stream
 * (decider in src/domain/breakerDeclaration); whether a name is declared is answered from memory for names
 * seen declared, else from the event store itself (one indexed read, never stale), so a breaker declared on
 * one replica is usable on every other at once, without waiting for a projection.
 */
export class BreakerDeclarations {
  private readonly runner: DeciderCommandRunner<DeclareBreaker, DeclarationEvent, DeclarationState>;
  /** Names known to be declared; a declaration is never withdrawn, so this only grows. */
  private readonly known = new Set<string>([DEFAULT_DECLARED_BREAKER]);

  constructor(
    private readonly store: EventStore,
    private readonly pool: pg.Pool,
    private readonly configured: readonly string[] = [],
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.runner = new DeciderCommandRunner(store, declarationDecider, { clock });
  }

  /** Declares the configured breakers (a no-op for those declared already: replicas may all do it). */
  async start(): Promise<void> {
    for (const name of this.configured) {
      await this.declare(name, undefined, CONFIG_ACTOR, { actor_key: CONFIG_ACTOR });
    }
  }

  async declare(
    name: string,
    description: string | null | undefined,
    actor: string,
    metadata: JsonObject = {},
  ): Promise<{ created: boolean; changed: boolean; declaration: BreakerDeclaration }> {
    const outcome = await this.runner.run(
      declarationStreamName(name),
      (now) => ({ type: 'DeclareBreaker', name, description, actor, now }),
      { metadata: { ...metadata, breaker: name } },
    );
    this.known.add(name);
    const after = outcome.after;
    return {
      // costsim_v2 always existed: recording its description creates nothing.
      created: outcome.events.some((e) => e.type === 'BreakerDeclared') && name !== DEFAULT_DECLARED_BREAKER,
      changed: outcome.events.length > 0,
      declaration:
        after.status === 'declared'
          ? { name, description: after.description, declared_at: after.declared_at }
          : { name, description: null, declared_at: null },
    };
  }

  async isDeclared(name: string): Promise<boolean> {
    if (this.known.has(name)) return true;
    if ((await this.store.streamVersion(declarationStreamName(name))) === 0) return false;
    this.known.add(name);
    return true;
  }

  /** Every declared breaker, by name: the projection, plus what this replica knows that it has not shown yet. */
  async list(): Promise<BreakerDeclaration[]> {
    const { rows } = await this.pool.query<{ name: string; description: string | null; declared_at: Date }>(
      'select name, description, declared_at from cb_declarations order by name',
    );
    const byName = new Map<string, BreakerDeclaration>(
      rows.map((r) => [
        r.name,
        { name: r.name, description: r.description, declared_at: r.declared_at.toISOString() },
      ]),
    );
    for (const name of [...this.known, ...this.configured]) {
      if (!byName.has(name)) byName.set(name, { name, description: null, declared_at: null });
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
