import { type DomainEvent, eventTypeList } from '../decider';

/**
 * A breaker exists once declared (docs/api.md "Breakers"): `costsim_v2` always, others by an operator or by
 * COSTSIM_BREAKERS. Declarations are their own aggregate, one stream per name, so a typo in a command can
 * never bring a breaker into being: commands on an undeclared name are refused before anything is written.
 */
export const DEFAULT_DECLARED_BREAKER = 'costsim_v2';

const PREFIX = 'breaker_declaration-';
/** Not `breaker-…`: those streams are breakers' own (parseBreakerStreamName). */
export const declarationStreamName = (name: string): string => `${PREFIX}${name}`;

export type BreakerDeclared = DomainEvent<
  'BreakerDeclared',
  { readonly name: string; readonly description: string | null; readonly actor: string; readonly at: string }
>;

export type BreakerDescriptionChanged = DomainEvent<
  'BreakerDescriptionChanged',
  {
    readonly name: string;
    readonly description: string | null;
    readonly previous_description: string | null;
    readonly actor: string;
    readonly at: string;
  }
>;

export type DeclarationEvent = BreakerDeclared | BreakerDescriptionChanged;
export const declarationEventTypes = eventTypeList<DeclarationEvent['type']>({
  BreakerDeclared: true,
  BreakerDescriptionChanged: true,
});

export interface DeclareBreaker {
  readonly type: 'DeclareBreaker';
  readonly name: string;
  /** undefined: keep the current description (null on a first declaration). */
  readonly description: string | null | undefined;
  readonly actor: string;
  readonly now: Date;
}

export type DeclarationState =
  | { readonly status: 'undeclared' }
  | {
      readonly status: 'declared';
      readonly name: string;
      readonly description: string | null;
      readonly declared_at: string;
      readonly declared_by: string;
    };
