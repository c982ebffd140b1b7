/**
 * What an eligibility check is about besides the patient: the date of service asked about, the care
 * setting and whether the therapy is chemotherapy (which service types to ask, ./service-types.ts),
 * the drugs ordered (asked item by item over FHIR), and whether the visit is still on. Read from
 * the encounter and the order that started the check; the store reads are the caller's.
 */
import type { CodeableConcept, Encounter, Medication, MedicationRequest } from '@medplum/fhirtypes';
import { settingOf, SYSTEMS } from '../../coding/fhir/extract.ts';
import { EXT_ADMINISTRATION_CATEGORY } from '../../contract/canonical.ts';
import { findDrug } from '../../coding/tables/find-drug.ts';
import type { CodingTables } from '../../coding/tables/types.ts';
import type { CareSetting } from '../../coding/types.ts';
import { localDate } from '../../time/zone.ts';

export interface VisitContext {
  /** The date of service asked about (YYYY-MM-DD, the tenant's calendar). */
  readonly date: string;
  readonly setting?: CareSetting;
  readonly chemotherapy: boolean;
  /** HCPCS codes of the drugs ordered. */
  readonly procedures: readonly string[];
  /** The visit was cancelled (or entered in error): nothing to check for it. */
  readonly cancelled: boolean;
}

function hcpcsOf(concept: CodeableConcept | undefined): string | undefined {
  return concept?.coding
    ?.find((c) => (c.system === SYSTEMS.hcpcs || c.system === SYSTEMS.hcpcsAlt) && c.code)
    ?.code?.toUpperCase();
}

function ndcOf(concept: CodeableConcept | undefined): string | undefined {
  return concept?.coding?.find((c) => c.system === SYSTEMS.ndc && c.code)?.code;
}

export function visitContext(input: {
  readonly encounter?: Encounter;
  readonly order?: MedicationRequest;
  readonly medication?: Medication;
  /** The visit's day, when the job names it (a pre-visit check). */
  readonly visitDate?: string;
  readonly tables: CodingTables;
  readonly zone: string;
  readonly now: Date;
}): VisitContext {
  const { encounter, order, medication, tables } = input;
  const concept = medication?.code ?? order?.medicationCodeableConcept;
  const hcpcs = hcpcsOf(concept);
  const ndc = ndcOf(concept);
  const drug =
    hcpcs !== undefined || ndc !== undefined
      ? findDrug(tables, { ...(ndc ? { ndc } : {}), ...(hcpcs ? { hcpcs } : {}) })?.drug
      : undefined;
  const documented = [...(order?.extension ?? []), ...(medication?.extension ?? [])].find(
    (e) => e.url === EXT_ADMINISTRATION_CATEGORY,
  )?.valueCode;
  const start = encounter?.period?.start;
  const setting = encounter ? settingOf(encounter) : undefined;
  return {
    date: input.visitDate ?? (start ? localDate(start, input.zone) : localDate(input.now, input.zone)),
    ...(setting ? { setting } : {}),
    chemotherapy:
      documented === 'chemo-complex' ||
      (documented === undefined &&
        (drug?.therapyClass === 'chemotherapy' || drug?.family === 'chemo-complex')),
    procedures: [...new Set([hcpcs ?? drug?.hcpcs].filter((c): c is string => c !== undefined))],
    cancelled: encounter?.status === 'cancelled' || encounter?.status === 'entered-in-error',
  };
}
