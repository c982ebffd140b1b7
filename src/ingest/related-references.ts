/**
 * The references whose targets Dripline needs to bill a resource (fetched back when not stored
 * yet): an administration's encounter, patient, drug and order; an encounter's patient, provider,
 * parent, diagnoses, locations and attending; an order's; a coverage's payors and subscriber.
 * Pure; shared by fetch-back (./fetch-back.ts) and the batch's read-ahead (./batch-bookkeeping.ts).
 */
import type { Reference, Resource } from '@medplum/fhirtypes';

/** References whose targets Dripline needs to bill a resource, fetched when not yet stored. */
export function relatedReferences(resource: Resource): string[] {
  const refs: (Reference | undefined)[] = [];
  switch (resource.resourceType) {
    case 'MedicationAdministration':
      refs.push(resource.context, resource.subject, resource.medicationReference, resource.request);
      break;
    case 'Encounter':
      refs.push(
        resource.subject,
        resource.serviceProvider,
        resource.partOf,
        ...(resource.reasonReference ?? []),
        ...(resource.diagnosis ?? []).map((d) => d.condition),
        ...(resource.location ?? []).map((l) => l.location),
        // The attending of an institutional claim (837I loop 2310A).
        ...(resource.participant ?? [])
          .map((p) => p.individual)
          .filter((r) => r?.reference?.includes('Practitioner/')),
      );
      break;
    case 'MedicationRequest':
      refs.push(
        resource.medicationReference,
        resource.subject,
        resource.encounter,
        ...(resource.reasonReference ?? []),
        // The ordering practitioner: the attending when the encounter names none.
        resource.requester?.reference?.includes('Practitioner/') ? resource.requester : undefined,
      );
      break;
    case 'Coverage':
      // The subscriber when it is not the patient (a RelatedPerson): 837 loop 2010BA.
      refs.push(...(resource.payor ?? []), resource.subscriber);
      break;
    default:
      break;
  }
  return refs.map((r) => r?.reference).filter((r): r is string => typeof r === 'string' && r !== '');
}
