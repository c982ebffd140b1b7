/**
 * JSON Schemas (draft-07, ajv) for the coding rule tables beside this module. They mirror
 * `./types.ts`; `loadCodingTables()` validates every file against them before its cross-checks.
 * `additionalProperties: false` throughout, so a misspelt field fails at load instead of being
 * silently ignored by the engine.
 */

/** Drug therapy classes (DrugEntry['therapyClass']); payer rule keys may name them too. */
export const THERAPY_CLASSES = [
  'biologic',
  'chemotherapy',
  'immunotherapy',
  'supportive',
  'immune-globulin',
  'iron',
  'anti-infective',
  'hydration',
  'premedication',
  'hormonal',
  'other',
] as const;

const verification = { enum: ['V', 'C', 'UNVERIFIED'] } as const;
const family = { enum: ['chemo-complex', 'therapeutic', 'hydration'] } as const;
const text = { type: 'string', minLength: 1 } as const;
const date = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
/** CPT (5 digits, or 4 digits + letter) or HCPCS Level II (letter + 4 digits). */
const code = { type: 'string', pattern: '^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$' } as const;
const positive = { type: 'number', exclusiveMinimum: 0 } as const;
const amount = {
  type: 'object',
  additionalProperties: false,
  required: ['value', 'unit'],
  properties: { value: positive, unit: text },
} as const;

const header = {
  title: text,
  sources: { type: 'array', minItems: 1, items: text },
  effective: date,
  notes: text,
} as const;
const headerRequired = ['title', 'sources', 'effective'] as const;

const table = (properties: Record<string, unknown>, required: readonly string[]): object => ({
  type: 'object',
  additionalProperties: false,
  required: [...headerRequired, ...required],
  properties: { ...header, ...properties },
});

const drugPackage = {
  type: 'object',
  additionalProperties: false,
  required: ['ndc', 'ndc11', 'contains', 'ndcUnit', 'verification'],
  properties: {
    ndc: text,
    ndc11: { type: 'string', pattern: '^[0-9]{11}$' },
    contains: amount,
    volume: {
      type: 'object',
      additionalProperties: false,
      required: ['value', 'unit'],
      properties: { value: positive, unit: { const: 'mL' } },
    },
    ndcUnit: { enum: ['UN', 'ML', 'GR', 'F2', 'ME'] },
    verification,
  },
} as const;

const drugEntry = {
  type: 'object',
  additionalProperties: false,
  required: [
    'key',
    'name',
    'hcpcs',
    'hcpcsLabel',
    'billingUnit',
    'family',
    'container',
    'therapyClass',
    'packages',
    'verification',
    'source',
  ],
  properties: {
    key: { type: 'string', pattern: '^[a-z0-9]+(?:[.-][a-z0-9]+)*$' },
    name: text,
    hcpcs: code,
    hcpcsLabel: { type: 'string', minLength: 1, maxLength: 60 },
    billingUnit: amount,
    family,
    container: { enum: ['single-dose', 'multi-dose'] },
    hormonalAntineoplastic: { type: 'boolean' },
    therapyClass: { enum: THERAPY_CLASSES },
    rxnorm: { type: 'array', items: { type: 'string', pattern: '^[0-9]+$' } },
    packages: { type: 'array', items: drugPackage },
    homePerDiem: code,
    hitCategory: { enum: [1, 2, 3] },
    verification,
    source: text,
    notes: text,
  },
} as const;

export const drugCatalogSchema = table({ drugs: { type: 'array', minItems: 1, items: drugEntry } }, [
  'drugs',
]);

const route = { enum: ['intravenous', 'subcutaneous', 'intramuscular', 'other'] } as const;

export const administrationCodeTableSchema = table(
  {
    codes: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'label', 'family', 'role', 'addOn', 'rule'],
        properties: {
          code,
          label: { type: 'string', minLength: 1, maxLength: 48 },
          family: { enum: ['chemo-complex', 'therapeutic', 'hydration', 'injection', 'home'] },
          role: {
            enum: [
              'initial',
              'additional-hour',
              'sequential',
              'concurrent',
              'initial-push',
              'additional-push-new',
              'additional-push-same',
              'injection',
              'prolonged-pump',
              'home-visit',
              'home-visit-additional-hour',
            ],
          },
          addOn: { type: 'boolean' },
          facilityOnly: { type: 'boolean' },
          routes: { type: 'array', minItems: 1, items: route },
          hormonalAntineoplastic: { type: 'boolean' },
          rule: { type: 'string', pattern: '^R[0-9]+\\.[0-9]+$' },
        },
      },
    },
  },
  ['codes'],
);

const modifier = { enum: ['59', 'XE', 'XS', 'XP', 'XU'] } as const;

export const payerRuleSetSchema = table(
  {
    payer: { enum: ['medicare', 'medicaid', 'commercial'] },
    wasteModifiers: {
      type: 'object',
      additionalProperties: false,
      required: ['jw', 'jzRequiredFrom'],
      properties: { jw: { type: 'boolean' }, jzRequiredFrom: { anyOf: [date, { type: 'null' }] } },
    },
    ndcRequired: { type: 'boolean' },
    distinctServiceModifier: {
      type: 'object',
      additionalProperties: false,
      required: ['separateSite', 'separateEncounter'],
      properties: { separateSite: modifier, separateEncounter: modifier },
    },
    familyOverrides: {
      type: 'object',
      propertyNames: code,
      additionalProperties: family,
    },
    homeInfusion: { enum: ['medicare-hit', 'commercial-per-diem'] },
    refusedCodes: { type: 'array', items: code, uniqueItems: true },
  },
  [
    'payer',
    'wasteModifiers',
    'ndcRequired',
    'distinctServiceModifier',
    'familyOverrides',
    'homeInfusion',
    'refusedCodes',
  ],
);

export const mueTableSchema = table(
  {
    entries: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'setting', 'units', 'mai', 'verification'],
        properties: {
          code,
          setting: { enum: ['practitioner', 'outpatient-hospital'] },
          units: { type: 'integer', minimum: 1 },
          mai: { enum: [1, 2, 3] },
          verification,
          maiVerification: verification,
          source: text,
          notes: text,
        },
      },
    },
  },
  ['entries'],
);

export const ncciTableSchema = table(
  {
    pairs: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['column1', 'column2', 'modifierIndicator', 'verification'],
        properties: {
          column1: code,
          column2: code,
          modifierIndicator: { enum: ['0', '1', '9'] },
          verification,
          rule: { type: 'string', pattern: '^R[0-9]+\\.[0-9]+$' },
          notes: text,
        },
      },
    },
  },
  ['pairs'],
);

export const homeInfusionTableSchema = table(
  {
    perDiem: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'label', 'therapyClass'],
        properties: {
          code,
          label: { type: 'string', minLength: 1, maxLength: 60 },
          therapyClass: text,
          frequency: text,
          verification,
          notes: text,
        },
      },
    },
    nursing: {
      type: 'object',
      additionalProperties: false,
      required: ['visit', 'additionalHour', 'visitMinutes'],
      properties: { visit: code, additionalHour: code, visitMinutes: { type: 'integer', minimum: 1 } },
    },
    medicareHit: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['category', 'firstVisit', 'subsequentVisit'],
        properties: {
          category: { enum: [1, 2, 3] },
          firstVisit: code,
          subsequentVisit: code,
          verification,
        },
      },
    },
    supplies: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'label', 'per'],
        properties: {
          code,
          label: { type: 'string', minLength: 1, maxLength: 60 },
          per: { enum: ['day', 'week', 'bag', 'month'] },
          verification,
          notes: text,
        },
      },
    },
  },
  ['perDiem', 'nursing', 'medicareHit', 'supplies'],
);

const revenueCode = { type: 'string', pattern: '^[0-9]{4}$' } as const;

export const revenueCodeTableSchema = table(
  {
    byKind: { type: 'object', minProperties: 1, additionalProperties: revenueCode },
    verification: { type: 'object', additionalProperties: verification },
  },
  ['byKind'],
);

const family_ = family;
const categoryRule = {
  type: 'object',
  additionalProperties: false,
  required: ['class', 'sources'],
  properties: {
    from: code,
    to: code,
    codes: { type: 'array', minItems: 1, items: code },
    pattern: text,
    class: text,
    family: family_,
    therapyClass: { enum: THERAPY_CLASSES },
    hormonalAntineoplastic: { type: 'boolean' },
    confirm: { type: 'boolean' },
    sources: { type: 'array', minItems: 1, items: text },
  },
} as const;

export const categoryRuleTableSchema = table(
  {
    hcpcsRules: { type: 'array', items: categoryRule },
    nameRules: { type: 'array', items: categoryRule },
    homeByTherapyClass: {
      type: 'object',
      propertyNames: { enum: THERAPY_CLASSES },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: { perDiem: code, hitCategory: { enum: [1, 2, 3] } },
      },
    },
  },
  ['hcpcsRules', 'nameRules', 'homeByTherapyClass'],
);
