/**
 * Engine output → FHIR: one ChargeItem per line (profile dripline-chargeitem, stable id from the
 * line's key), a draft Claim whose items carry code, modifiers, units, date, NDC and the rationale,
 * and an OperationOutcome of the documentation issues. Pure: `now` and references are passed in.
 */
import { createHash } from 'node:crypto';
import type {
  Coverage,
  Organization,
  Patient,
  Practitioner,
  PractitionerRole,
  ChargeItem,
  Claim,
  ClaimItem,
  Coding,
  Extension,
  OperationOutcome,
  OperationOutcomeIssue,
  Reference,
} from '@medplum/fhirtypes';
import type { CareSetting, ChargeLine, CodingResult, LineRationale } from '../types.ts';
import { SYSTEMS } from './extract.ts';
import {
  CS_CODING_ISSUE,
  CS_NDC_UNIT_QUALIFIER,
  EXT_CHARGE_LINE_KEY,
  EXT_CHARGE_MODIFIER,
  EXT_CODING_RATIONALE,
  EXT_NDC_QUANTITY,
  EXT_REVENUE_CODE,
  PROFILE_CHARGE_ITEM,
} from '../../contract/canonical.ts';

/** Modifiers (CPT Level I and HCPCS Level II) are both in the HCPCS code system. */
const MODIFIER_SYSTEM = SYSTEMS.hcpcs;

/**
 * ChargeItem id for a line: stable across recomputation (charge capture upserts by it). Its
 * encounter's hash leads, so a visit's charges sit side by side in every index keyed by their id
 * (the id index, the Provenance targets and AuditEvent entities naming them): one page of each
 * written per visit, where a hash of the line alone put each charge on a page of its own (a
 * finished visit wrote 47.5 → 33.7 pages after 10,000 visits). Charges stored under the id lines
 * had before (`legacyChargeItemId`) keep it: charge capture matches them by their line key.
 */
export function chargeItemId(line: Pick<ChargeLine, 'key' | 'encounterId'>): string {
  const encounter = createHash('sha256').update(line.encounterId).digest('hex').slice(0, 12);
  return `ci-${encounter}-${createHash('sha256').update(line.key).digest('hex').slice(0, 28)}`;
}

/** The id a line's ChargeItem was given before `chargeItemId` led with its encounter. */
export function legacyChargeItemId(line: Pick<ChargeLine, 'key'>): string {
  return `ci-${createHash('sha256').update(line.key).digest('hex').slice(0, 40)}`;
}

function codeCoding(line: ChargeLine): Coding {
  return {
    system: line.code.system === 'CPT' ? SYSTEMS.cpt : SYSTEMS.hcpcs,
    code: line.code.code,
    display: line.code.label,
  };
}

export function rationaleExtension(r: LineRationale): Extension {
  return {
    url: EXT_CODING_RATIONALE,
    extension: [
      { url: 'rule', valueString: r.rule },
      ...r.sources.map((s) => ({ url: 'source', valueString: s })),
      { url: 'text', valueString: r.text },
      ...(r.minutes !== undefined ? [{ url: 'minutes', valueDecimal: r.minutes }] : []),
      ...Object.entries(r.amounts ?? {}).map(([name, value]) => ({
        url: 'amount',
        extension: [
          { url: 'name', valueString: name },
          { url: 'value', valueDecimal: value },
        ],
      })),
    ],
  };
}

function lineExtensions(line: ChargeLine): Extension[] {
  return [
    { url: EXT_CHARGE_LINE_KEY, valueString: line.key },
    ...line.modifiers.map((m) => ({
      url: EXT_CHARGE_MODIFIER,
      valueCoding: { system: MODIFIER_SYSTEM, code: m },
    })),
    ...(line.ndc
      ? [
          {
            url: EXT_NDC_QUANTITY,
            valueQuantity: {
              value: line.ndc.quantity,
              unit: line.ndc.unit,
              system: CS_NDC_UNIT_QUALIFIER,
              code: line.ndc.unit,
            },
          },
        ]
      : []),
    ...(line.revenueCode
      ? [
          {
            url: EXT_REVENUE_CODE,
            valueCoding: { system: 'https://www.nubc.org/CodeSystem/RevenueCodes', code: line.revenueCode },
          },
        ]
      : []),
    rationaleExtension(line.rationale),
  ];
}

export interface EmitContext {
  readonly patient: Reference<Patient>;
  readonly setting: CareSetting;
  readonly now: Date;
  readonly coverage?: Reference<Coverage>;
  readonly provider?: Reference<Organization | Practitioner | PractitionerRole>;
  readonly insurer?: Reference<Organization>;
}

export function toChargeItems(result: CodingResult, ctx: EmitContext): (ChargeItem & { id: string })[] {
  return result.lines.map((line) => ({
    resourceType: 'ChargeItem',
    id: chargeItemId(line),
    meta: { profile: [PROFILE_CHARGE_ITEM] },
    extension: lineExtensions(line),
    // A held line (units unknown) is recorded, not billable: the claim waits for it (R9.1).
    status: line.hold ? 'planned' : 'billable',
    code: { coding: [codeCoding(line)], text: line.code.label },
    subject: ctx.patient,
    context: { reference: `Encounter/${line.encounterId}` },
    occurrenceDateTime: line.dateOfService,
    quantity: { value: line.units },
    enteredDate: ctx.now.toISOString(),
    ...(line.ndc
      ? { productCodeableConcept: { coding: [{ system: SYSTEMS.ndc, code: line.ndc.ndc11 }] } }
      : {}),
    ...(line.diagnoses.length > 0
      ? { reason: line.diagnoses.map((code) => ({ coding: [{ system: SYSTEMS.icd10cm, code }] })) }
      : {}),
    service: line.administrationIds.map((id) => ({ reference: `MedicationAdministration/${id}` })),
  }));
}

export function toDraftClaim(result: CodingResult, ctx: EmitContext): Claim {
  const diagnoses: string[] = [];
  for (const line of result.lines) {
    for (const d of line.diagnoses) {
      if (!diagnoses.includes(d)) {
        diagnoses.push(d);
      }
    }
  }
  const dates = result.lines.map((l) => l.dateOfService).sort();
  const institutional = ctx.setting === 'hospital-outpatient';
  const items: ClaimItem[] = result.lines
    .filter((line) => !line.hold)
    .map((line, i) => ({
      sequence: i + 1,
      extension: [{ url: EXT_CHARGE_LINE_KEY, valueString: line.key }, rationaleExtension(line.rationale)],
      ...(line.diagnoses.length > 0
        ? { diagnosisSequence: line.diagnoses.slice(0, 4).map((d) => diagnoses.indexOf(d) + 1) }
        : {}),
      ...(institutional && line.revenueCode
        ? {
            revenue: {
              coding: [{ system: 'https://www.nubc.org/CodeSystem/RevenueCodes', code: line.revenueCode }],
            },
          }
        : {}),
      productOrService: { coding: [codeCoding(line)], text: line.code.label },
      ...(line.modifiers.length > 0
        ? { modifier: line.modifiers.map((m) => ({ coding: [{ system: MODIFIER_SYSTEM, code: m }] })) }
        : {}),
      servicedDate: line.dateOfService,
      quantity: { value: line.units },
      encounter: [{ reference: `Encounter/${line.encounterId}` }],
      ...(line.ndc
        ? {
            detail: [
              {
                sequence: 1,
                productOrService: { coding: [{ system: SYSTEMS.ndc, code: line.ndc.ndc11 }] },
                quantity: {
                  value: line.ndc.quantity,
                  unit: line.ndc.unit,
                  system: CS_NDC_UNIT_QUALIFIER,
                  code: line.ndc.unit,
                },
              },
            ],
          }
        : {}),
    }));
  return {
    resourceType: 'Claim',
    status: 'draft',
    type: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/claim-type',
          code: institutional ? 'institutional' : 'professional',
        },
      ],
    },
    use: 'claim',
    patient: ctx.patient,
    created: ctx.now.toISOString(),
    ...(dates.length > 0 ? { billablePeriod: { start: dates[0], end: dates[dates.length - 1] } } : {}),
    provider: ctx.provider ?? { display: 'Billing provider (from tenant configuration)' },
    ...(ctx.insurer ? { insurer: ctx.insurer } : {}),
    priority: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
    },
    diagnosis: diagnoses.map((code, i) => ({
      sequence: i + 1,
      diagnosisCodeableConcept: { coding: [{ system: SYSTEMS.icd10cm, code }] },
    })),
    insurance: [
      {
        sequence: 1,
        focal: true,
        coverage: ctx.coverage ?? { display: 'Coverage not provided' },
      },
    ],
    item: items,
  };
}

export function toOutcome(result: CodingResult): OperationOutcome {
  const issue: OperationOutcomeIssue[] = result.issues.map((i) => ({
    severity: i.severity,
    code: i.severity === 'information' ? 'informational' : 'business-rule',
    details: {
      coding: [{ system: CS_CODING_ISSUE, code: i.code }],
      text: i.message,
    },
    ...(i.administrationId
      ? { expression: [`MedicationAdministration/${i.administrationId}`] }
      : i.encounterId
        ? { expression: [`Encounter/${i.encounterId}`] }
        : {}),
    ...(i.rule ? { diagnostics: `rule ${i.rule}` } : {}),
  }));
  return {
    resourceType: 'OperationOutcome',
    issue:
      issue.length > 0
        ? issue
        : [{ severity: 'information', code: 'informational', details: { text: 'No documentation issues' } }],
  };
}
