/**
 * Every stored resource of a type that matches the filters, read page by page in id order (so a
 * concurrent write cannot make a row appear twice or be skipped between pages of one read).
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
  for (let offset = 0; out.length < limit; offset += PAGE) {
    const page = await store.resources.search(tenant, {
      resourceType,
      filters: [...filters],
      sort: [{ code: '_id', descending: false }],
      count: PAGE,
      offset,
      total: false,
    });
    out.push(...(page.resources as (T & StoredResource)[]));
    if (page.resources.length < PAGE) {
      break;
    }
  }
  return out;
}
