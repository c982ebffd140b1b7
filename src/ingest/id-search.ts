/**
 * Reading several resources of one type from an EHR in one request: the FHIR R4 search
 * `GET [base]/Type?_id=a,b,c` (search.html: `_id` is the resource's logical id; a comma-separated
 * list of values matches any of them), paged by the Bundle's `next` links. Only where the EHR's
 * CapabilityStatement declares the `_id` search parameter for the type (on the type, or for every
 * type at the `rest` level): an EHR is not asked for what it does not say it supports. Ids the
 * search does not return (deleted, never there, not visible to Dripline) are the caller's to read
 * one at a time, so a 404/410 or a refusal is handled as a read's.
 */
import type { CapabilityStatement, Resource } from '@medplum/fhirtypes';
import type { EhrPort } from './ehr-port.ts';

/** Ids per search: keeps the URL short (well under the 8 KB many servers and proxies accept). */
export const MAX_IDS_PER_SEARCH = 50;

/** How long what a CapabilityStatement declares is believed before it is read again. */
const CAPABILITIES_TTL_MS = 60 * 60_000;
/** After the CapabilityStatement could not be read, or an `_id` search was refused: reads only, for this long. */
const FALLBACK_TTL_MS = 60_000;

/** A FHIR logical id (R4 2.24.0.1 id): what may go in an `_id` list, which has no escaping of its own. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Whether the CapabilityStatement declares the `_id` search parameter for `resourceType`. */
export function declaresIdSearch(capability: CapabilityStatement, resourceType: string): boolean {
  return (capability.rest ?? [])
    .filter((rest) => rest.mode === 'server')
    .some(
      (rest) =>
        (rest.searchParam ?? []).some((p) => p.name === '_id') ||
        (rest.resource ?? []).some(
          (r) => r.type === resourceType && (r.searchParam ?? []).some((p) => p.name === '_id'),
        ),
    );
}

interface Declared {
  /** Undefined when the CapabilityStatement could not be read: reads only, until `until`. */
  readonly capability: CapabilityStatement | undefined;
  /** Types whose `_id` search the EHR refused although it declared it. */
  readonly refused: ReadonlySet<string>;
  readonly until: number;
}

/**
 * What each connection's EHR declares: its CapabilityStatement read once per connection (again
 * after an hour, so an upgraded EHR is noticed), one read shared by concurrent batches.
 */
export class IdSearchSupport {
  readonly #now: () => Date;
  readonly #declared = new Map<string, Declared>();
  readonly #reading = new Map<string, Promise<Declared>>();

  constructor(now: () => Date) {
    this.#now = now;
  }

  /** Whether `resourceType` may be read by `_id` search on this connection's EHR. */
  async supports(connectionId: string, ehr: EhrPort, resourceType: string): Promise<boolean> {
    const declared = await this.#declaredBy(connectionId, ehr);
    return (
      declared.capability !== undefined &&
      !declared.refused.has(resourceType) &&
      declaresIdSearch(declared.capability, resourceType)
    );
  }

  /** The EHR refused (or ignored) an `_id` search it declared: reads only for that type, for a while. */
  refused(connectionId: string, resourceType: string): void {
    const declared = this.#declared.get(connectionId);
    if (declared) {
      this.#declared.set(connectionId, {
        ...declared,
        refused: new Set([...declared.refused, resourceType]),
        until: Math.min(declared.until, this.#now().getTime() + FALLBACK_TTL_MS),
      });
    }
  }

  #declaredBy(connectionId: string, ehr: EhrPort): Promise<Declared> {
    const known = this.#declared.get(connectionId);
    if (known && known.until > this.#now().getTime()) {
      return Promise.resolve(known);
    }
    let reading = this.#reading.get(connectionId);
    if (!reading) {
      reading = ehr
        .capabilities()
        .then(
          (capability): Declared => ({
            capability,
            refused: new Set(),
            until: this.#now().getTime() + CAPABILITIES_TTL_MS,
          }),
          // Unreadable (down, or no metadata): reads work without it; ask again in a minute.
          (): Declared => ({
            capability: undefined,
            refused: new Set(),
            until: this.#now().getTime() + FALLBACK_TTL_MS,
          }),
        )
        .then((declared) => {
          this.#declared.set(connectionId, declared);
          return declared;
        })
        .finally(() => this.#reading.delete(connectionId));
      this.#reading.set(connectionId, reading);
    }
    return reading;
  }
}

/** The EHR answered an `_id` search with resources it was not asked for: it ignored `_id`. */
export class IdSearchIgnoredError extends Error {
  override readonly name = 'IdSearchIgnoredError';
  /** Not the EHR saying "later": the caller reads one at a time instead. */
  readonly retryable = false;

  constructor(resourceType: string) {
    super(`the EHR answered a ${resourceType} _id search with resources not asked for`);
  }
}

/** "Type/id" of a reference that is exactly that, relative or under `fhirBaseUrl`; else undefined. */
export function plainTarget(
  reference: string,
  fhirBaseUrl: string,
): { resourceType: string; id: string } | undefined {
  const base = `${fhirBaseUrl.replace(/\/+$/, '')}/`;
  const relative = reference.startsWith(base) ? reference.slice(base.length) : reference;
  const match = /^([A-Z][A-Za-z]{1,63})\/([^/]+)$/.exec(relative);
  if (!match || !FHIR_ID.test(match[2] ?? '')) {
    return undefined;
  }
  return { resourceType: match[1] ?? '', id: match[2] ?? '' };
}

/**
 * The resources of `resourceType` with these ids that the EHR returns to an `_id` search, by id,
 * in searches of at most MAX_IDS_PER_SEARCH ids each, all in flight at once: the worker reads its
 * next batch this way while it writes the batch in hand, and with its thread busy each answer
 * waits for a turn of the event loop; asked one after another, the next batch's reads finished
 * after the batch in hand (bench:ingest id-only saturation: the worker waited ~7.6 ms a batch for
 * them; ~4 ms at once). Throws what a search threw, or IdSearchIgnoredError.
 */
export async function readByIds(
  ehr: EhrPort,
  resourceType: string,
  ids: readonly string[],
): Promise<Map<string, Resource>> {
  const found = new Map<string, Resource>();
  const unique = [...new Set(ids)];
  const chunks: string[][] = [];
  for (let at = 0; at < unique.length; at += MAX_IDS_PER_SEARCH) {
    chunks.push(unique.slice(at, at + MAX_IDS_PER_SEARCH));
  }
  const answers = await Promise.all(
    chunks.map((chunk) =>
      ehr.searchAll(resourceType, { _id: chunk.join(','), _count: String(chunk.length) }),
    ),
  );
  answers.forEach(({ resources }, i) => {
    const wanted = new Set(chunks[i]);
    for (const resource of resources) {
      if (!resource.id || !wanted.has(resource.id)) {
        // A server that ignores `_id` answers with its whole type: nothing of that is used.
        throw new IdSearchIgnoredError(resourceType);
      }
      found.set(resource.id, resource);
    }
  });
  return found;
}
