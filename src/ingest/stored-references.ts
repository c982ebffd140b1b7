/**
 * What the ingest worker knows to be stored already, so fetch-back does not read the store again
 * for a patient, encounter or drug that every administration of a visit references.
 *
 * Sound because the set of stored resources only grows: Dripline never deletes a resource from
 * its store (a copy the EHR deleted is tagged, ./copies.ts DELETED_AT_SOURCE; history is
 * evidence), so a resource once seen stored stays stored, whatever another process writes. Only
 * "stored" is remembered, never "missing": a missing reference is always looked up.
 *
 * Bounded: the oldest entries are forgotten first (a forgotten one costs one store read again).
 */
export class StoredReferences {
  readonly #limit: number;
  readonly #known = new Set<string>();

  constructor(limit = 50_000) {
    this.#limit = limit;
  }

  /** Whether `Type/id` of the tenant is known to be stored. */
  has(tenant: string, reference: string): boolean {
    return this.#known.has(`${tenant}|${reference}`);
  }

  /** Remembers that `Type/id` of the tenant is stored. */
  add(tenant: string, reference: string): void {
    const key = `${tenant}|${reference}`;
    if (this.#known.has(key)) {
      return;
    }
    this.#known.add(key);
    if (this.#known.size > this.#limit) {
      const oldest = this.#known.values().next();
      if (!oldest.done) {
        this.#known.delete(oldest.value);
      }
    }
  }
}
