/**
 * Sorting by a token parameter of a mutable type reads the parameter's index rows, not a sort key
 * of its own: the key would be the smallest of the token values (../search-index.ts keepSmallest),
 * which `idx_token` already holds, reachable by resource through `idx_token_res` (res, code) —
 * an index the append-only types do not have (./schema.ts, migration 4), so they keep their keys.
 * Why: a sort key is one more row and B-tree insert per parameter per version written, and
 * nothing in Dripline sorts by these (status, code, class, intent, priority…): a charge-capture
 * visit wrote ~26 of them (its ChargeItems', Task's, and the Encounter and administration
 * copies'), about a tenth of its index rows. Writes leave them out (./index-rows.ts) and sorts read
 * the rows (./search-sql.ts), by this one rule; keys written before stay, unread.
 */
import { isAppendOnlyType } from '../append-only.ts';
import { SEARCH_PARAMETERS } from '../search-parameters.ts';

/** Token parameters by type, for the mutable types. */
const TOKEN_CODES: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries(SEARCH_PARAMETERS)
    .filter(([type]) => !isAppendOnlyType(type))
    .map(([type, definitions]) => [
      type,
      new Set(definitions.filter((d) => d.kind === 'token').map((d) => d.code)),
    ]),
);

/** Whether a sort by `code` (as indexed: an alias already mapped) on `type` reads the token rows. */
export function sortsByTokenRows(type: string, code: string): boolean {
  return TOKEN_CODES.get(type)?.has(code) ?? false;
}
