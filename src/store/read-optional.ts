/**
 * A read that may find nothing: the resource, or undefined when the store answers not-found (any
 * other failure is thrown). The store port's `read` throws on a missing resource because most
 * callers treat that as an error; these callers ask whether it is there.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Store, StoredResource, TenantId } from './port.ts';

export function isNotFound(err: unknown): boolean {
  return (err as { outcome?: { id?: string } } | undefined)?.outcome?.id === 'not-found';
}

export async function readOptional<T extends Resource>(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  type: T['resourceType'],
  id: string,
): Promise<(T & StoredResource) | undefined> {
  try {
    return (await store.resources.read(tenant, type, id)) as T & StoredResource;
  } catch (err) {
    if (isNotFound(err)) {
      return undefined;
    }
    throw err;
  }
}
