/**
 * Small reads the app's views share: resources by id (absent → undefined), people's names, and
 * what a scrub finding says in words.
 */
import type { HumanName, Patient, Resource } from '@medplum/fhirtypes';
import type { ScrubFinding } from '../../claims/types.ts';
import type { Store, StoredResource, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import type { FindingView } from '../view-types.ts';

export const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

export async function readOrUndefined<T extends Resource>(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  type: T['resourceType'],
  id: string,
): Promise<(T & StoredResource) | undefined> {
  if (!ID_RE.test(id)) {
    return undefined;
  }
  try {
    return (await store.resources.read(tenant, type, id)) as T & StoredResource;
  } catch (err) {
    if ((err as { outcome?: { id?: string } }).outcome?.id === 'not-found') {
      return undefined;
    }
    throw err;
  }
}

export function personName(name: readonly HumanName[] | undefined): string {
  const n = name?.find((x) => x.use === 'official') ?? name?.[0];
  if (!n) {
    return '';
  }
  return n.text ?? [...(n.given ?? []), n.family ?? ''].join(' ').trim();
}

/** Names of patients by "Patient/id" (one search for all of them). */
export async function patientNames(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  references: Iterable<string>,
): Promise<Map<string, string>> {
  const ids = [...new Set([...references].flatMap((r) => (r.startsWith('Patient/') ? [r.slice(8)] : [])))];
  const names = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const patients = await searchAll<Patient>(store, tenant, 'Patient', [
      { code: '_id', kind: 'token', values: ids.slice(i, i + 500).map((value) => ({ value })) },
    ]);
    for (const p of patients) {
      names.set(`Patient/${p.id}`, personName(p.name) || `Patient/${p.id}`);
    }
  }
  return names;
}

export function findingView(f: ScrubFinding): FindingView {
  return {
    severity: f.severity,
    rule: f.ruleId,
    message: f.message,
    fix: f.fix,
    overridable: f.overridable,
    source: f.source,
    ...(f.itemSequence !== undefined ? { line: f.itemSequence } : {}),
  };
}
