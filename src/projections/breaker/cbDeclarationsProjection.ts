import type pg from 'pg';
import {
  type DeclarationEvent,
  declarationEventTypes,
} from '../../domain/breakerDeclaration/declarationEvents';
import { type Decoded, type Projection, defineProjection, neverPark } from '../projection';

/** cb_declarations: one row per declared breaker; idempotent by stream version (replays, rebuilds). */
export const cbDeclarationsProjection: Projection = defineProjection<DeclarationEvent>({
  name: 'cb_declarations',
  handles: declarationEventTypes,
  tables: ['cb_declarations'],
  // Written by global admins only (declarations); a failure is a bug to fix, not data to set aside.
  mayPark: neverPark,
  async apply(tx: pg.ClientBase, events: readonly Decoded<DeclarationEvent>[]) {
    for (const stored of events) {
      const { event } = stored;
      if (event.type === 'BreakerDeclared') {
        await tx.query(
          `insert into cb_declarations (name, description, declared_at, declared_by, updated_at, version)
           values ($1, $2, $3, $4, $3, $5)
           on conflict (name) do nothing`,
          [event.data.name, event.data.description, event.data.at, event.data.actor, stored.streamVersion],
        );
      } else if (event.type === 'BreakerDescriptionChanged') {
        await tx.query(
          `update cb_declarations set description = $2, updated_at = $3, version = $4
            where name = $1 and version < $4`,
          [event.data.name, event.data.description, event.data.at, stored.streamVersion],
        );
      }
    }
  },
});
