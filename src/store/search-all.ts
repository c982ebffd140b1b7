/**
 * Every stored resource of a type that matches the filters, read page by page in id order, each
 * page starting after the last id of the one before (keyset paging: linear in the rows read, and a
 * concurrent write cannot make a row appear twice or shift another out of the read).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Store, StoreFilter, StoredResource, TenantId } from './port.ts';

const PAGE = 1000;

export async function searchAll<T extends Resource = Resource>(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  resourceType: T['resourceType'],
  filters: readonly StoreFilter[] = [],
  /** Stop after this many resources (a guard for unbounded reads); default unlimited. */
  limit = Number.POSITIVE_INFINITY,
): Promise<(T & StoredResource)[]> {
  const out: (T & StoredResource)[] = [];
  let afterId: string | undefined;
  while (out.length < limit) {
    const page = await store.resources.search(tenant, {
      resourceType,
      filters: [...filters],
      sort: [{ code: '_id', descending: false }],
      count: PAGE,
      offset: 0,
      ...(afterId !== undefined ? { afterId } : {}),
      total: false,
    });
    out.push(...(page.resources as (T & StoredResource)[]));
    afterId = page.resources.at(-1)?.id;
    if (page.resources.length < PAGE || afterId === undefined) {
      break;
    }
  }
  return out;
}
