/**
 * The attending provider of an institutional claim: X12 837I loop 2310A (NM1*71, "required when
 * the claim contains any services other than non-scheduled transportation", 005010X223A2), UB-04
 * form locator 76. Taken from the Encounter's participant of type ATND (HL7 v3 ParticipationType
 * "attender"), else from the practitioner who ordered the administrations the claim bills
 * (MedicationRequest.requester; the most frequent one, then the smallest id). `attendingOf` is
 * pure; `loadAttending` reads what it needs through `read`.
 */
import type {
  Encounter,
  MedicationAdministration,
  MedicationRequest,
  Practitioner,
  Resource,
} from '@medplum/fhirtypes';

export const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';

export interface AttendingChoice {
  /** "Practitioner/id" of the attending, when one is named. */
  readonly reference?: string;
  readonly source: 'encounter' | 'order' | 'none';
}

function practitionerRef(reference: string | undefined): string | undefined {
  const match = /(?:^|\/)(Practitioner\/[A-Za-z0-9\-.]{1,64})$/.exec(reference ?? '');
  return match?.[1];
}

/** Which practitioner attends: the encounters' ATND participant, else the ordering practitioner. */
export function attendingOf(
  encounters: readonly Encounter[],
  administrations: readonly MedicationAdministration[],
  requests: readonly MedicationRequest[],
): AttendingChoice {
  for (const encounter of [...encounters].sort((a, b) => (a.id ?? '').localeCompare(b.id ?? ''))) {
    for (const participant of encounter.participant ?? []) {
      const attends = (participant.type ?? []).some((t) =>
        (t.coding ?? []).some(
          (c) => c.code === 'ATND' && (c.system ?? PARTICIPATION_TYPE) === PARTICIPATION_TYPE,
        ),
      );
      const reference = practitionerRef(participant.individual?.reference);
      if (attends && reference) {
        return { reference, source: 'encounter' };
      }
    }
  }
  const requestById = new Map(requests.map((r) => [`MedicationRequest/${r.id ?? ''}`, r]));
  const counts = new Map<string, number>();
  for (const administration of administrations) {
    if (administration.status === 'entered-in-error' || administration.status === 'not-done') {
      continue;
    }
    const request = requestById.get(
      /(MedicationRequest\/[^/]+)$/.exec(administration.request?.reference ?? '')?.[1] ?? '',
    );
    const reference = practitionerRef(request?.requester?.reference);
    if (reference) {
      counts.set(reference, (counts.get(reference) ?? 0) + 1);
    }
  }
  const [best] = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return best ? { reference: best[0], source: 'order' } : { source: 'none' };
}

/**
 * The attending Practitioner of these encounters as stored (undefined when none is named or the
 * named one is not on file), and the orders read to find it.
 */
export async function loadAttending(
  read: (type: 'MedicationRequest' | 'Practitioner', id: string) => Promise<Resource | undefined>,
  encounters: readonly Encounter[],
  administrations: readonly MedicationAdministration[],
): Promise<{ attending?: Practitioner; requests: MedicationRequest[] }> {
  const requests: MedicationRequest[] = [];
  const requestIds = new Set(
    administrations
      .map((a) => /MedicationRequest\/([^/]+)$/.exec(a.request?.reference ?? '')?.[1])
      .filter((id): id is string => id !== undefined),
  );
  for (const id of [...requestIds].sort()) {
    const request = await read('MedicationRequest', id);
    if (request?.resourceType === 'MedicationRequest') {
      requests.push(request);
    }
  }
  const choice = attendingOf(encounters, administrations, requests);
  const id = choice.reference?.slice('Practitioner/'.length);
  const found = id ? await read('Practitioner', id) : undefined;
  return {
    requests,
    ...(found?.resourceType === 'Practitioner' ? { attending: found } : {}),
  };
}
