/**
 * Claim building: an encounter's billable ChargeItems → one FHIR R4 Claim (profile `dripline-claim`).
 *
 * - professional (CMS-1500 / 837P) for office and home infusion, institutional (UB-04 / 837I) for
 *   hospital outpatient, with the UB-04 type of bill 013x in `subType` (x = frequency: 1 original,
 *   7 replacement, 8 void) and the frequency code in extension `claim-frequency` for both forms;
 * - the billing provider as a contained Organization (NPI, EIN, address; NUCC taxonomy on careTeam)
 *   and, on institutional claims, the attending practitioner (./attending.ts) as a contained
 *   Practitioner on the care team (role attending);
 * - the payer as `insurer` (identifier = payer id), one `insurance` per Coverage (primary focal,
 *   prior authorization numbers on the focal one);
 * - ICD-10-CM diagnoses, principal first (encounter diagnoses by rank, then the lines' reasons, then
 *   the other given conditions), and up to 4 pointers per line;
 * - one item per ChargeItem: code, modifiers, units, date, CMS place of service, revenue code
 *   (institutional), encounter, NDC detail, and an extension pointing back at the ChargeItem;
 * - charges from the tenant chargemaster (./chargemaster.ts): `item.unitPrice` (per unit of the
 *   code) and `item.net` (unit price × units, cents) in USD, and `Claim.total` = the sum of the nets.
 *
 * Pure and deterministic: the same input gives the same Claim, whatever the order of the charges.
 */
import type {
  ChargeItem,
  Claim,
  ClaimDiagnosis,
  ClaimInsurance,
  ClaimItem,
  CodeableConcept,
  Coding,
  Condition,
  Coverage,
  Encounter,
  Extension,
  Organization,
  Patient,
  Practitioner,
} from '@medplum/fhirtypes';
import { SYSTEMS } from '../coding/fhir/extract.ts';
import type { CareSetting } from '../coding/types.ts';
import { loadChargemaster } from './chargemaster.ts';
import type { Chargemaster } from './chargemaster.ts';
import type { BillingProvider, PayerEndpoint } from '../config/billing.ts';
import {
  EXT_CHARGE_ITEM,
  EXT_CHARGE_LINE_KEY,
  EXT_CHARGE_MODIFIER,
  EXT_CLAIM_FREQUENCY,
  EXT_CODING_RATIONALE,
  EXT_NDC_QUANTITY,
  EXT_REVENUE_CODE,
  ID_CLAIM,
  ID_PAYER_ID,
  PROFILE_CLAIM,
} from '../contract/canonical.ts';
import { EXT_MODIFIER_OVERRIDE } from '../contract/recovery.ts';

/** A person's override of one line's modifiers (by the ChargeItem the line comes from), with the reason. */
export interface LineOverride {
  /** "ChargeItem/{id}". */
  readonly chargeItem: string;
  readonly modifiers: readonly string[];
  readonly reason: string;
}

export const CLAIM_SYSTEMS = {
  npi: 'http://hl7.org/fhir/sid/us-npi',
  ein: 'urn:oid:2.16.840.1.113883.4.4',
  nucc: 'http://nucc.org/provider-taxonomy',
  placeOfService: 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set',
  typeOfBill: 'https://www.nubc.org/CodeSystem/TypeOfBill',
  revenue: 'https://www.nubc.org/CodeSystem/RevenueCodes',
  claimType: 'http://terminology.hl7.org/CodeSystem/claim-type',
  diagnosisType: 'http://terminology.hl7.org/CodeSystem/ex-diagnosistype',
  relatedClaim: 'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship',
  careTeamRole: 'http://terminology.hl7.org/CodeSystem/claimcareteamrole',
  processPriority: 'http://terminology.hl7.org/CodeSystem/processpriority',
  payeeType: 'http://terminology.hl7.org/CodeSystem/payeetype',
  /** Care team roles beyond the base set (attending): CARIN Blue Button's, as US claims use them. */
  careTeamRoleUs: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole',
  /** Payer ids on claims (837 NM109 of loop 2010BB). */
  payerId: ID_PAYER_ID,
  /** Dripline's claim ids (also the 837 CLM01 patient control number). */
  claimId: ID_CLAIM,
  ndc: SYSTEMS.ndc,
  icd10cm: SYSTEMS.icd10cm,
} as const;

/** CMS place of service by care setting: 11 office, 22 on-campus outpatient hospital, 12 home. */
export const PLACE_OF_SERVICE: Readonly<Record<CareSetting, string>> = {
  office: '11',
  'hospital-outpatient': '22',
  home: '12',
};

export type ClaimFrequency = '1' | '7' | '8';

export interface BuildClaimInput {
  /** The Claim id (also its identifier and the 837 patient control number). */
  readonly id: string;
  readonly setting: CareSetting;
  readonly encounters: readonly Encounter[];
  /** The billable ChargeItems of those encounters (others are ignored). */
  readonly chargeItems: readonly ChargeItem[];
  readonly patient: Patient;
  /** Active coverages in claim order: primary first. */
  readonly coverages: readonly Coverage[];
  readonly payer: PayerEndpoint;
  readonly provider: BillingProvider;
  /** Conditions the encounters and charges point at (ICD-10-CM codings are used). */
  readonly conditions: readonly Condition[];
  readonly now: Date;
  /** Prior authorization numbers for the primary coverage (Claim.insurance.preAuthRef). */
  readonly preAuthRefs?: readonly string[];
  /** 1 original (default), 7 replacement of a prior claim, 8 void of a prior claim. */
  readonly frequency?: ClaimFrequency;
  /** The claim a replacement (7) or void (8) refers to: our id and the payer's claim number (ICN). */
  readonly replaces?: { readonly claimId: string; readonly payerClaimNumber?: string };
  /** The tenant's chargemaster (default: the shipped illustrative one, src/claims/chargemaster.json). */
  readonly chargemaster?: Chargemaster;
  /** Institutional claims: the attending practitioner (./attending.ts), on the care team as a contained Practitioner. */
  readonly attending?: Practitioner;
  /** Modifiers a person set on some lines instead of the coding rule's (kept on every rebuild). */
  readonly lineOverrides?: readonly LineOverride[];
}

const CURRENCY = 'USD';

function dateOf(item: ChargeItem): string {
  const raw = item.occurrenceDateTime ?? item.occurrencePeriod?.start ?? '';
  return raw.slice(0, 10);
}

function codeOf(concept: CodeableConcept | undefined): Coding | undefined {
  return concept?.coding?.find((c) => c.code !== undefined);
}

function icd10Codes(concept: CodeableConcept | undefined): string[] {
  return (concept?.coding ?? [])
    .filter((c) => c.system === SYSTEMS.icd10cm && c.code !== undefined)
    .map((c) => c.code as string);
}

function modifiersOf(item: ChargeItem): string[] {
  return (item.extension ?? [])
    .filter((e) => e.url === EXT_CHARGE_MODIFIER && e.valueCoding?.code !== undefined)
    .map((e) => e.valueCoding?.code as string);
}

function extensionOf(item: ChargeItem, url: string): Extension | undefined {
  return item.extension?.find((e) => e.url === url);
}

/** Sort key making the item order independent of the input order. */
function itemSortKey(item: ChargeItem): string {
  return [
    dateOf(item),
    item.context?.reference ?? '',
    codeOf(item.code)?.code ?? '',
    modifiersOf(item).join(','),
    item.id ?? '',
  ].join('|');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function conditionCode(conditions: readonly Condition[], reference: string | undefined): string | undefined {
  if (!reference) {
    return undefined;
  }
  const id = reference.startsWith('Condition/') ? reference.slice('Condition/'.length) : undefined;
  const condition = conditions.find((c) => c.id !== undefined && c.id === id);
  return condition ? icd10Codes(condition.code)[0] : undefined;
}

/** ICD-10-CM codes of the claim, principal first, without duplicates. */
export function claimDiagnoses(
  encounters: readonly Encounter[],
  chargeItems: readonly ChargeItem[],
  conditions: readonly Condition[],
): string[] {
  const out: string[] = [];
  const add = (code: string | undefined): void => {
    if (code && !out.includes(code)) {
      out.push(code);
    }
  };
  const sortedEncounters = [...encounters].sort((a, b) => compare(a.id ?? '', b.id ?? ''));
  for (const encounter of sortedEncounters) {
    const ranked = [...(encounter.diagnosis ?? [])]
      .map((d, i) => ({ d, i }))
      .sort((x, y) => (x.d.rank ?? 99) - (y.d.rank ?? 99) || x.i - y.i);
    for (const { d } of ranked) {
      add(conditionCode(conditions, d.condition?.reference));
    }
    for (const r of encounter.reasonReference ?? []) {
      add(conditionCode(conditions, r.reference));
    }
    for (const r of encounter.reasonCode ?? []) {
      icd10Codes(r).forEach(add);
    }
  }
  for (const item of [...chargeItems].sort((a, b) => compare(itemSortKey(a), itemSortKey(b)))) {
    for (const reason of item.reason ?? []) {
      icd10Codes(reason).forEach(add);
    }
  }
  for (const condition of conditions) {
    icd10Codes(condition.code).forEach(add);
  }
  return out;
}

function providerOrganization(provider: BillingProvider): Organization {
  return {
    resourceType: 'Organization',
    id: 'provider',
    identifier: [
      { system: CLAIM_SYSTEMS.npi, value: provider.npi },
      { system: CLAIM_SYSTEMS.ein, value: provider.taxId },
    ],
    active: true,
    name: provider.name,
    ...(provider.phone ? { telecom: [{ system: 'phone', value: provider.phone }] } : {}),
    address: [
      {
        use: 'work',
        line: [...provider.address.line],
        city: provider.address.city,
        state: provider.address.state,
        postalCode: provider.address.postalCode,
        country: 'US',
      },
    ],
  };
}

/** The attending as the claim carries it: NPI and name only, with its NUCC taxonomy for the care team. */
function attendingMember(practitioner: Practitioner): {
  contained: Practitioner;
  taxonomy?: string;
} {
  const taxonomy = practitioner.qualification
    ?.flatMap((q) => q.code.coding ?? [])
    .find((c) => c.system === CLAIM_SYSTEMS.nucc && c.code)?.code;
  return {
    contained: {
      resourceType: 'Practitioner',
      id: 'attending',
      identifier: (practitioner.identifier ?? []).filter((i) => i.system === CLAIM_SYSTEMS.npi),
      ...(practitioner.name ? { name: practitioner.name } : {}),
    },
    ...(taxonomy ? { taxonomy } : {}),
  };
}

function buildItem(
  item: ChargeItem,
  sequence: number,
  ctx: {
    diagnoses: readonly string[];
    institutional: boolean;
    pos: string;
    chargemaster: Chargemaster;
    overrides?: readonly LineOverride[];
  },
): ClaimItem {
  const code = codeOf(item.code);
  const override = ctx.overrides?.find((o) => o.chargeItem === `ChargeItem/${item.id ?? ''}`);
  const modifiers = override ? [...override.modifiers] : modifiersOf(item);
  const lineDiagnoses: number[] = [];
  for (const reason of item.reason ?? []) {
    for (const c of icd10Codes(reason)) {
      const index = ctx.diagnoses.indexOf(c);
      if (index >= 0 && !lineDiagnoses.includes(index + 1)) {
        lineDiagnoses.push(index + 1);
      }
    }
  }
  if (lineDiagnoses.length === 0 && ctx.diagnoses.length > 0) {
    lineDiagnoses.push(1);
  }
  const revenue = extensionOf(item, EXT_REVENUE_CODE)?.valueCoding?.code;
  const ndc = item.productCodeableConcept?.coding?.find((c) => c.system === SYSTEMS.ndc)?.code;
  const ndcQuantity = extensionOf(item, EXT_NDC_QUANTITY)?.valueQuantity;
  const lineKey = extensionOf(item, EXT_CHARGE_LINE_KEY);
  const rationale = extensionOf(item, EXT_CODING_RATIONALE);
  const units = item.quantity?.value ?? 0;
  const unitPrice = ctx.chargemaster.unitPrice(code?.code);
  const net = ctx.chargemaster.priceOf(code?.code, units);
  return {
    extension: [
      { url: EXT_CHARGE_ITEM, valueReference: { reference: `ChargeItem/${item.id ?? ''}` } },
      ...(lineKey ? [lineKey] : []),
      ...(rationale ? [rationale] : []),
      ...(override ? [{ url: EXT_MODIFIER_OVERRIDE, valueString: override.reason }] : []),
    ],
    sequence,
    ...(lineDiagnoses.length > 0 ? { diagnosisSequence: lineDiagnoses.slice(0, 4) } : {}),
    ...(ctx.institutional && revenue
      ? { revenue: { coding: [{ system: CLAIM_SYSTEMS.revenue, code: revenue }] } }
      : {}),
    productOrService: {
      coding: code ? [{ ...code }] : [],
      ...(item.code.text ? { text: item.code.text } : {}),
    },
    ...(modifiers.length > 0
      ? { modifier: modifiers.map((m) => ({ coding: [{ system: SYSTEMS.hcpcs, code: m }] })) }
      : {}),
    servicedDate: dateOf(item),
    locationCodeableConcept: { coding: [{ system: CLAIM_SYSTEMS.placeOfService, code: ctx.pos }] },
    quantity: { value: units },
    unitPrice: { value: unitPrice, currency: CURRENCY },
    net: { value: net, currency: CURRENCY },
    ...(item.context?.reference ? { encounter: [{ reference: item.context.reference }] } : {}),
    ...(ndc
      ? {
          detail: [
            {
              sequence: 1,
              productOrService: { coding: [{ system: SYSTEMS.ndc, code: ndc }] },
              ...(ndcQuantity ? { quantity: { ...ndcQuantity } } : {}),
            },
          ],
        }
      : {}),
  };
}

/** Builds the Claim for an encounter's billable charges. Pure and deterministic. */
export function buildClaim(input: BuildClaimInput): Claim & { id: string } {
  const institutional = input.setting === 'hospital-outpatient';
  const frequency: ClaimFrequency = input.frequency ?? '1';
  const charges = input.chargeItems
    .filter((c) => c.status === 'billable')
    .sort((a, b) => compare(itemSortKey(a), itemSortKey(b)));
  const maxDiagnoses = institutional ? 25 : 12;
  const diagnoses = claimDiagnoses(input.encounters, charges, input.conditions).slice(0, maxDiagnoses);
  const pos = PLACE_OF_SERVICE[input.setting];
  const chargemaster = input.chargemaster ?? loadChargemaster();
  const items = charges.map((c, i) =>
    buildItem(c, i + 1, {
      diagnoses,
      institutional,
      pos,
      chargemaster,
      ...(input.lineOverrides ? { overrides: input.lineOverrides } : {}),
    }),
  );
  // Sum in whole cents so the total is exactly the sum of the 2-decimal nets.
  const totalCents = items.reduce((sum, item) => sum + Math.round((item.net?.value ?? 0) * 100), 0);
  const dates = charges
    .map(dateOf)
    .filter((d) => d !== '')
    .sort();
  const diagnosis: ClaimDiagnosis[] = diagnoses.map((code, i) => ({
    sequence: i + 1,
    diagnosisCodeableConcept: { coding: [{ system: SYSTEMS.icd10cm, code }] },
    ...(i === 0 ? { type: [{ coding: [{ system: CLAIM_SYSTEMS.diagnosisType, code: 'principal' }] }] } : {}),
  }));
  const preAuthRefs = [...new Set(input.preAuthRefs ?? [])];
  const attending = institutional && input.attending ? attendingMember(input.attending) : undefined;
  const insurance: ClaimInsurance[] = input.coverages.map((coverage, i) => ({
    sequence: i + 1,
    focal: i === 0,
    coverage: { reference: `Coverage/${coverage.id ?? ''}` },
    ...(i === 0 && preAuthRefs.length > 0 ? { preAuthRef: preAuthRefs } : {}),
  }));
  return {
    resourceType: 'Claim',
    id: input.id,
    meta: { profile: [PROFILE_CLAIM] },
    contained: [providerOrganization(input.provider), ...(attending ? [attending.contained] : [])],
    extension: [{ url: EXT_CLAIM_FREQUENCY, valueCode: frequency }],
    identifier: [{ system: CLAIM_SYSTEMS.claimId, value: input.id }],
    status: 'active',
    type: {
      coding: [{ system: CLAIM_SYSTEMS.claimType, code: institutional ? 'institutional' : 'professional' }],
    },
    ...(institutional
      ? { subType: { coding: [{ system: CLAIM_SYSTEMS.typeOfBill, code: `013${frequency}` }] } }
      : {}),
    use: 'claim',
    patient: { reference: `Patient/${input.patient.id ?? ''}` },
    ...(dates.length > 0 ? { billablePeriod: { start: dates[0], end: dates[dates.length - 1] } } : {}),
    created: input.now.toISOString(),
    insurer: {
      identifier: { system: CLAIM_SYSTEMS.payerId, value: input.payer.payerId },
      display: input.payer.name,
    },
    provider: { reference: '#provider', display: input.provider.name },
    priority: { coding: [{ system: CLAIM_SYSTEMS.processPriority, code: 'normal' }] },
    ...(input.replaces && frequency !== '1'
      ? {
          related: [
            {
              claim: { reference: `Claim/${input.replaces.claimId}` },
              relationship: { coding: [{ system: CLAIM_SYSTEMS.relatedClaim, code: 'prior' }] },
              ...(input.replaces.payerClaimNumber
                ? { reference: { value: input.replaces.payerClaimNumber } }
                : {}),
            },
          ],
        }
      : {}),
    payee: { type: { coding: [{ system: CLAIM_SYSTEMS.payeeType, code: 'provider' }] } },
    careTeam: [
      {
        sequence: 1,
        provider: { reference: '#provider' },
        role: { coding: [{ system: CLAIM_SYSTEMS.careTeamRole, code: 'primary' }] },
        qualification: { coding: [{ system: CLAIM_SYSTEMS.nucc, code: input.provider.taxonomy }] },
      },
      ...(attending
        ? [
            {
              sequence: 2,
              provider: { reference: '#attending' },
              role: { coding: [{ system: CLAIM_SYSTEMS.careTeamRoleUs, code: 'attending' }] },
              ...(attending.taxonomy
                ? { qualification: { coding: [{ system: CLAIM_SYSTEMS.nucc, code: attending.taxonomy }] } }
                : {}),
            },
          ]
        : []),
    ],
    ...(diagnosis.length > 0 ? { diagnosis } : {}),
    insurance,
    item: items,
    total: { value: totalCents / 100, currency: CURRENCY },
  };
}

/** Our workflow extensions on a stored Claim: not part of what a void copies from its original. */
const NOT_COPIED_TO_VOID = /\/(claim-state|claim-state-since|claim-payer|claim-replaced-by|claim-frequency)$/;

/**
 * The void (frequency 8) of a submitted claim whose charges are all gone (e.g. the encounter was
 * entered-in-error in the EHR): the original's billing content — provider, patient, insurer,
 * insurance, diagnoses and the same lines (codes, units, dates, charges, ChargeItem links) — so the
 * payer can match every line it adjudicated, under a new id, with frequency 8 (type of bill 0138
 * for institutional), `related` → the original (prior, with the payer's claim number) and `created`
 * = now. Pure: the recomputed (voided) charges are not read.
 */
export function buildVoidClaim(
  original: Claim,
  input: {
    readonly id: string;
    readonly now: Date;
    readonly replaces: { readonly claimId: string; readonly payerClaimNumber?: string };
  },
): Claim & { id: string } {
  const copy: Claim = { ...original };
  delete copy.meta;
  delete copy.related;
  const institutional = original.type?.coding?.some((c) => c.code === 'institutional') === true;
  return {
    ...copy,
    id: input.id,
    meta: { profile: [PROFILE_CLAIM] },
    extension: [
      ...(original.extension ?? []).filter((e) => !NOT_COPIED_TO_VOID.test(e.url)),
      { url: EXT_CLAIM_FREQUENCY, valueCode: '8' },
    ],
    identifier: [{ system: CLAIM_SYSTEMS.claimId, value: input.id }],
    status: 'active',
    ...(institutional ? { subType: { coding: [{ system: CLAIM_SYSTEMS.typeOfBill, code: '0138' }] } } : {}),
    created: input.now.toISOString(),
    related: [
      {
        claim: { reference: `Claim/${input.replaces.claimId}` },
        relationship: { coding: [{ system: CLAIM_SYSTEMS.relatedClaim, code: 'prior' }] },
        ...(input.replaces.payerClaimNumber ? { reference: { value: input.replaces.payerClaimNumber } } : {}),
      },
    ],
  };
}

/** The modifier overrides a built claim carries (to keep them when it is rebuilt or corrected). */
export function lineOverridesOf(claim: Claim): LineOverride[] {
  return (claim.item ?? []).flatMap((item) => {
    const reason = item.extension?.find((e) => e.url === EXT_MODIFIER_OVERRIDE)?.valueString;
    const chargeItem = item.extension?.find((e) => e.url === EXT_CHARGE_ITEM)?.valueReference?.reference;
    if (reason === undefined || !chargeItem) {
      return [];
    }
    const modifiers = (item.modifier ?? [])
      .flatMap((m) => (m.coding ?? []).map((c) => c.code ?? ''))
      .filter((c) => c !== '');
    return [{ chargeItem, modifiers, reason }];
  });
}
