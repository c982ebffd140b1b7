/**
 * Dripline's profiles and extensions, written as compact differentials. `npm run profiles:build`
 * expands them into full StructureDefinitions (differential + snapshot derived from the base R4
 * definitions) in `profiles/`; a test checks the committed files match this source.
 */
export const CANONICAL_BASE = 'https://dripline.dev/fhir/StructureDefinition';

export interface ExtensionSpec {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /** Resource paths the extension may appear on. */
  readonly context: readonly string[];
  readonly valueType: 'Quantity' | 'boolean' | 'string' | 'code';
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
];
