import type { Decider } from '../decider';
import type { DeclarationEvent, DeclarationState, DeclareBreaker } from './declarationEvents';

export const initialDeclarationState = (): DeclarationState => ({ status: 'undeclared' });

/** First declaration → BreakerDeclared; a new description → BreakerDescriptionChanged; else nothing. */
export function decideDeclaration(command: DeclareBreaker, state: DeclarationState): DeclarationEvent[] {
  const at = command.now.toISOString();
  if (state.status === 'undeclared') {
    return [
      {
        type: 'BreakerDeclared',
        data: { name: command.name, description: command.description ?? null, actor: command.actor, at },
      },
    ];
  }
  if (command.description === undefined || command.description === state.description) return [];
  return [
    {
      type: 'BreakerDescriptionChanged',
      data: {
        name: command.name,
        description: command.description,
        previous_description: state.description,
        actor: command.actor,
        at,
      },
    },
  ];
}

export function evolveDeclaration(state: DeclarationState, event: DeclarationEvent): DeclarationState {
  switch (event.type) {
    case 'BreakerDeclared':
      return {
        status: 'declared',
        name: event.data.name,
        description: event.data.description,
        declared_at: event.data.at,
        declared_by: event.data.actor,
      };
    case 'BreakerDescriptionChanged':
      return state.status === 'declared' ? { ...state, description: event.data.description } : state;
    default:
      return state;
  }
}

export const declarationDecider: Decider<DeclareBreaker, DeclarationEvent, DeclarationState> = {
  decide: decideDeclaration,
  evolve: evolveDeclaration,
  initialState: initialDeclarationState,
};
