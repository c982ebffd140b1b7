/**
 * Who the insured (subscriber) of a coverage is, read once for the scrubber and the 837 writer.
 * Pure.
 *
 * X12 005010 837P/837I (X222A1 / X223A2), loops 2000B/2010BA and 2000C/2010CA:
 * - the patient is the subscriber (Coverage.relationship `self`, or no relationship and no other
 *   subscriber): SBR02 = 18, 2010BA is the patient (name, address, DMG), no 2000C;
 * - someone else is (spouse, child, other…): SBR02 empty, 2010BA names the subscriber (a Patient or
 *   RelatedPerson, Coverage.subscriber), and a 2000C loop follows with PAT01 = the patient's
 *   relationship to the subscriber and 2010CA = the patient (name, address and DMG required).
 *
 * What a claim cannot go without is reported as `missing` (one phrase per gap) so the scrubber can
 * hold the claim naming it, and the writer refuses it with the same words. It lives with the 837
 * writer because these are the 837's loop rules; the scrubber (src/claims) reads them from here.
 */
import type { Address, Coverage, HumanName, Patient, RelatedPerson } from '@medplum/fhirtypes';

/** Individual relationship code (X12 element 1069) of the patient to the subscriber, for PAT01. */
export const PATIENT_RELATIONSHIP: Readonly<Record<string, string>> = {
  spouse: '01',
  child: '19',
  common: '53',
  parent: 'G8',
  other: 'G8',
  injured: 'G8',
};

export type Insured =
  | { readonly kind: 'patient' }
  | {
      readonly kind: 'other';
      /** PAT01. */
      readonly relationship: string;
      readonly name: HumanName;
      readonly address?: Address;
    };

/** Something the claim cannot go without, and whose it is. */
export interface Gap {
  readonly party: 'subscriber' | 'patient';
  readonly text: string;
}

export type SubscriberReading =
  { readonly ok: true; readonly insured: Insured } | { readonly ok: false; readonly missing: readonly Gap[] };

export function preferredName(names: readonly HumanName[] | undefined): HumanName | undefined {
  return names?.find((n) => n.use === 'official') ?? names?.find((n) => n.use === 'usual') ?? names?.[0];
}

export function preferredAddress(addresses: readonly Address[] | undefined): Address | undefined {
  return addresses?.find((a) => a.use === 'home') ?? addresses?.[0];
}

function relationshipCode(coverage: Coverage): string | undefined {
  return coverage.relationship?.coding?.find((c) => c.code !== undefined)?.code;
}

/** The reference Coverage.subscriber names, when it is not the patient. */
function otherSubscriberReference(coverage: Coverage, patient: Patient): string | undefined {
  const ref = coverage.subscriber?.reference;
  return ref && ref !== `Patient/${patient.id ?? ''}` ? ref : undefined;
}

/** What an 837 address (N3/N4) cannot go without: street, city, and for the US a state and a 5/9-digit ZIP. */
export function addressGaps(address: Address | undefined): string[] {
  if (!address?.line?.[0]?.trim() || !address.city?.trim()) {
    return ['street address and city'];
  }
  const foreign = address.country !== undefined && !/^(US|USA)$/i.test(address.country);
  const gaps: string[] = [];
  if (!foreign && !/^[A-Za-z]{2}$/.test(address.state ?? '')) {
    gaps.push('state');
  }
  if (!foreign && !/^(\d{5}|\d{9})$/.test((address.postalCode ?? '').replace(/[\s-]/g, ''))) {
    gaps.push('5- or 9-digit ZIP code');
  }
  return gaps;
}

/**
 * The resource Coverage.subscriber names when it is someone other than the patient (a RelatedPerson
 * or another Patient) — what a claim must have on file to name the insured.
 */
export function otherSubscriberOf(
  coverage: Coverage | undefined,
  patientRef: string | undefined,
): { type: 'Patient' | 'RelatedPerson'; id: string } | undefined {
  const match = /(?:^|\/)(Patient|RelatedPerson)\/([A-Za-z0-9\-.]{1,64})$/.exec(
    coverage?.subscriber?.reference ?? '',
  );
  if (!match || `${match[1]}/${match[2]}` === patientRef) {
    return undefined;
  }
  return { type: match[1] as 'Patient' | 'RelatedPerson', id: match[2] ?? '' };
}

/** The patient data every 837 needs (2010BA when the patient is the subscriber, else 2010CA). */
function patientGaps(patient: Patient): Gap[] {
  const missing: string[] = [];
  if (!preferredName(patient.name)?.family?.trim()) {
    missing.push("the patient's family name (Patient.name.family)");
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(patient.birthDate ?? '')) {
    missing.push("the patient's birth date (Patient.birthDate)");
  }
  const address = addressGaps(preferredAddress(patient.address));
  if (address.length > 0) {
    missing.push(`the patient's ${address.join(', ')} (Patient.address)`);
  }
  return missing.map((text) => ({ party: 'patient', text }));
}

/**
 * The insured of `coverage` for a claim of `patient`. `subscriber` is the resource
 * Coverage.subscriber names, when it is on file (undefined otherwise).
 */
export function readSubscriber(
  coverage: Coverage,
  patient: Patient,
  subscriber: Patient | RelatedPerson | undefined,
): SubscriberReading {
  const code = relationshipCode(coverage);
  const otherRef = otherSubscriberReference(coverage, patient);
  if (code === 'self' || (code === undefined && otherRef === undefined)) {
    const missing = patientGaps(patient);
    return missing.length > 0 ? { ok: false, missing } : { ok: true, insured: { kind: 'patient' } };
  }
  // Only the resource the coverage names counts (a context may carry another coverage's subscriber).
  const named =
    subscriber && otherRef === `${subscriber.resourceType}/${subscriber.id ?? ''}` ? subscriber : undefined;
  const missing: Gap[] = [];
  const gap = (text: string): void => void missing.push({ party: 'subscriber', text });
  if (code === undefined) {
    gap(`how the patient is related to the subscriber ${otherRef ?? ''} (Coverage.relationship)`);
  }
  const what = code ? `the subscriber (relationship ${code})` : 'the subscriber';
  const name = named ? preferredName(named.name) : undefined;
  if (!otherRef) {
    gap(
      `${what}: Coverage.subscriber ${coverage.subscriber?.reference ? 'names the patient' : 'names no one'}`,
    );
  } else if (!named) {
    gap(`${what}: ${otherRef} is not on file`);
  } else if (!name?.family?.trim()) {
    gap(`${what}: ${otherRef} has no family name`);
  }
  missing.push(...patientGaps(patient));
  if (missing.length > 0 || !name) {
    return { ok: false, missing };
  }
  const address = named ? preferredAddress(named.address) : undefined;
  return {
    ok: true,
    insured: {
      kind: 'other',
      relationship: PATIENT_RELATIONSHIP[code ?? 'other'] ?? 'G8',
      name,
      ...(address ? { address } : {}),
    },
  };
}
