/**
 * @module store/sql/store
 * The store, assembled from the queries of each domain over one database (`Db`): the same
 * code for SQLite and PostgreSQL. A new table's queries get their own `<domain>.ts` here and
 * one line below.
 */

import type { SecretBox } from '../secret-box.ts';
import type { Store, StoreDeps } from '../types.ts';
import type { Db } from './db.ts';
import { appPasswordQueries } from './app-passwords.ts';
import { auditQueries } from './audit.ts';
import { enrollmentQueries, pendingAad } from './enrollment.ts';
import { federationQueries } from './federation.ts';
import { fraudQueries } from './fraud.ts';
import { methodAad, methodQueries } from './methods.ts';
import { recoveryQueries } from './recovery.ts';
import { reportOnlyQueries } from './report-only.ts';
import { rekeySessionTokens, revalidationQueries } from './revalidation.ts';
import { decisionTraceQueries } from './traces.ts';
import { regulationQueries } from './regulation.ts';
import { revocationQueries } from './revocations.ts';
import { sessionIndexQueries } from './session-index.ts';
import { sessionQueries } from './sessions.ts';
import { sourceThrottleQueries } from './source-throttle.ts';
import { tokenQueries } from './tokens.ts';
import { webauthnQueries } from './webauthn.ts';

export function sqlStore(db: Db, box: SecretBox, deps: StoreDeps): Store {
  return {
    ...methodQueries(db, box, deps),
    ...enrollmentQueries(db, box, deps),
    ...revocationQueries(db, deps),
    ...sessionQueries(db, deps),
    ...sessionIndexQueries(db, box, deps),
    ...revalidationQueries(db, box),
    ...regulationQueries(db, deps),
    ...sourceThrottleQueries(db, deps),
    ...auditQueries(db, deps),
    ...fraudQueries(db),
    ...federationQueries(db),
    ...tokenQueries(db, box, deps),
    ...appPasswordQueries(db, deps),
    ...recoveryQueries(db, deps),
    ...reportOnlyQueries(db),
    ...webauthnQueries(db, deps),
    ...decisionTraceQueries(db),

    // Each rewrite is conditional on the old ciphertext, so a row changed meanwhile is skipped.
    rekey: () =>
      db.tx('rekey', async (c) => {
        let n = 0;
        for (const { table, aad } of [
          { table: 'methods', aad: methodAad },
          { table: 'pending_enrollments', aad: pendingAad },
        ]) {
          for (const r of (await c.query<{ id: string; secret_sealed: string }>(`SELECT id, secret_sealed FROM ${table} ORDER BY id`))
            .rows) {
            if (box.keyIdOf(r.secret_sealed) === box.currentKeyId) continue;
            const resealed = box.seal(box.open(r.secret_sealed, aad(r.id)), aad(r.id));
            n += (
              await c.query(`UPDATE ${table} SET secret_sealed = ? WHERE id = ? AND secret_sealed = ?`, [resealed, r.id, r.secret_sealed])
            ).rowCount;
          }
        }
        return n + (await rekeySessionTokens(c, box));
      }),
    health: () => db.health(),
    close: () => db.close(),
  };
}
