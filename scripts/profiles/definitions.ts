/**
 * Dripline's profiles and extensions, written as compact differentials. `npm run profiles:build`
 * expands them into full StructureDefinitions (differential + snapshot derived from the base R4
 * definitions) in `profiles/`; a test checks the committed files match this source. Their canonical
 * URLs are declared in src/contract/canonical.ts (the build refuses one that is not).
 */
export type ExtensionValueType = 'Quantity' | 'boolean' | 'string' | 'code' | 'Coding' | 'decimal' | 'Reference';

/**
 * A sub-extension of a complex extension: a slice of Extension.extension by its (local) url. With a
 * valueType it is simple; without, it is itself complex and `definition` describes its parts (not
 * sliced: one level of slicing keeps the definitions portable across validators).
 */
export interface SubExtensionSpec {
  readonly url: string;
  readonly short: string;
  readonly definition?: string;
  readonly min: number;
  readonly max: string;
  readonly valueType?: ExtensionValueType;
}

export interface ExtensionSpec {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /** Resource paths the extension may appear on. */
  readonly context: readonly string[];
  /** A simple extension's value type; a complex extension has `parts` instead (and no value). */
  readonly valueType?: ExtensionValueType;
  readonly parts?: readonly SubExtensionSpec[];
  /** How many times the extension may repeat on one element (default "1"). */
  readonly max?: string;
}

export interface ProfileSpec {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly type: string;
  /** Element constraints by path: tighter cardinality. */
  readonly constraints: Readonly<Record<string, { min?: number; max?: string; short?: string }>>;
}

export const EXTENSIONS: readonly ExtensionSpec[] = [
  {
    id: 'discarded-amount',
    title: 'Discarded amount',
    description:
      'Drug amount discarded from a single-dose container after this administration (documented waste, ' +
      'billed with modifier JW; CMS JW/JZ policy, Medicare Claims Processing Manual ch. 17 §40).',
    context: ['MedicationAdministration'],
    valueType: 'Quantity',
  },
  {
    id: 'primary-service',
    title: 'Primary service of the visit',
    description:
      'Marks the administration that is the primary reason for an office visit, which takes the initial ' +
      'administration code under CPT guidelines for physician/office reporting.',
    context: ['MedicationAdministration'],
    valueType: 'boolean',
  },
  {
    id: 'charge-line-key',
    title: 'Charge line key',
    description:
      'Stable identity of a charge line Dripline coded: a hash of encounter, code, modifiers, the administrations ' +
      'involved, date of service and line kind. The same documentation always gives the same key, so recomputed ' +
      'charges replace, never duplicate, earlier ones.',
    context: ['ChargeItem', 'Claim.item'],
    valueType: 'string',
  },
  {
    id: 'charge-modifier',
    title: 'Charge modifier',
    description:
      'A CPT / HCPCS Level II modifier on the charge (e.g. JW, JZ, XE, XS, 59, JG, TB), in the order billed. ' +
      'R4 ChargeItem has no modifier element; on a Claim the modifiers are in Claim.item.modifier.',
    context: ['ChargeItem'],
    valueType: 'Coding',
    max: '*',
  },
  {
    id: 'ndc-quantity',
    title: 'NDC quantity',
    description:
      'Quantity of the drug in NDC units for the claim line NDC detail: value and the unit qualifier ' +
      '(UN, ML, GR, F2, ME) as code. The NDC itself is ChargeItem.productCodeableConcept.',
    context: ['ChargeItem'],
    valueType: 'Quantity',
  },
  {
    id: 'revenue-code',
    title: 'Revenue code',
    description: 'NUBC revenue code of the charge on an institutional (UB-04 / 837I) claim.',
    context: ['ChargeItem'],
    valueType: 'Coding',
  },
  {
    id: 'coding-rationale',
    title: 'Coding rationale',
    description:
      'Why Dripline coded the charge this way: the coding rule applied, the sources that state it, a ' +
      'plain-language explanation with the numbers, the minutes counted and any named amounts (billing units, ' +
      'waste, days).',
    context: ['ChargeItem', 'Claim.item'],
    parts: [
      { url: 'rule', short: 'Rule id, e.g. R3.3', min: 1, max: '1', valueType: 'string' },
      { url: 'source', short: 'Source key, e.g. CH12-30.5', min: 0, max: '*', valueType: 'string' },
      { url: 'text', short: 'Plain-language explanation', min: 1, max: '1', valueType: 'string' },
      { url: 'minutes', short: 'Minutes counted', min: 0, max: '1', valueType: 'decimal' },
      {
        url: 'amount',
        short: 'A named amount',
        definition:
          'A named amount behind the charge, as two sub-extensions: "name" (valueString, e.g. billingUnits, ' +
          'wasteBillingUnits, jwUnits, days) and "value" (valueDecimal).',
        min: 0,
        max: '*',
      },
    ],
  },
  {
    id: 'charge-item',
    title: 'Charge item of a claim line',
    description:
      'The ChargeItem a Claim line was built from (Reference(ChargeItem)), so findings, corrections and ' +
      'remittance can be traced back to the charge and the documentation behind it.',
    context: ['Claim.item'],
    valueType: 'Reference',
  },
  {
    id: 'claim-frequency',
    title: 'Claim frequency code',
    description:
      'Claim frequency type code (X12 837 CLM05-3; the last digit of the UB-04 type of bill): 1 original, ' +
      '7 replacement of a prior claim, 8 void of a prior claim.',
    context: ['Claim'],
    valueType: 'code',
  },
  {
    id: 'request-id',
    title: 'Request id',
    description: 'The HTTP request id (X-Request-Id) an AuditEvent records, to join audit and logs.',
    context: ['AuditEvent'],
    valueType: 'string',
  },
];

export const PROFILES: readonly ProfileSpec[] = [
  {
    id: 'dripline-chargeitem',
    title: 'Dripline ChargeItem',
    description:
      'A charge Dripline derived from documented administrations: who, which encounter, when, what code and ' +
      'how many units are all required so the charge can become a claim line.',
    type: 'ChargeItem',
    constraints: {
      'ChargeItem.subject': { short: 'The patient' },
      'ChargeItem.context': { min: 1, short: 'The encounter the service belongs to' },
      'ChargeItem.occurrence[x]': { min: 1, short: 'Date of service' },
      'ChargeItem.quantity': { min: 1, short: 'Units billed' },
    },
  },
  {
    id: 'dripline-claim',
    title: 'Dripline Claim',
    description:
      'A claim Dripline built from billable charges: patient, billing provider, payer, coverage, diagnoses and ' +
      'at least one line, each line with its date of service and units, so it can be scrubbed, rendered as ' +
      'X12 837P/837I and submitted.',
    type: 'Claim',
    constraints: {
      'Claim.patient': { short: 'The patient' },
      'Claim.provider': { short: 'The billing provider (NPI, tax id)' },
      'Claim.insurer': { min: 1, short: 'The payer (identifier = payer id)' },
      'Claim.insurance': { short: 'Coverages in order, primary focal' },
      'Claim.diagnosis': { min: 1, short: 'ICD-10-CM diagnoses, principal first' },
      'Claim.item': { min: 1, short: 'Claim lines, one per charge' },
      'Claim.item.serviced[x]': { min: 1, short: 'Date of service (servicedDate)' },
      'Claim.item.quantity': { min: 1, short: 'Units billed' },
    },
  },
];
