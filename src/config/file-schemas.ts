/**
 * The JSON Schemas of the files a tenant's configuration names: its chargemaster
 * (./chargemaster-file.ts) and its payer contracts (./contracts-file.ts). Apart from the readers
 * because their validators are compiled ahead of time (scripts/validators/targets.ts →
 * ./file-validators.js, `npm run validators:build`) and the build must not import its own output.
 */

const text = { type: 'string', minLength: 1 } as const;

// The chargemaster.
const money = { type: 'number', minimum: 0 } as const;

export const chargemasterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'sources', 'effective', 'currency', 'default', 'charges'],
  properties: {
    title: text,
    sources: { type: 'array', minItems: 1, items: text },
    effective: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
    notes: text,
    currency: { const: 'USD' },
    default: {
      type: 'object',
      additionalProperties: false,
      required: ['price'],
      properties: { price: money, notes: text },
    },
    charges: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'label', 'kind', 'per', 'price'],
        properties: {
          code: { type: 'string', pattern: '^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$' },
          label: text,
          kind: { enum: ['administration', 'drug', 'supply', 'per-diem', 'other'] },
          per: text,
          price: money,
        },
      },
    },
  },
} as const;

// The payer contracts file.
const date = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
const slug = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } as const;
export const CODE = '^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$';
const percent = { type: 'number', exclusiveMinimum: 0, maximum: 1000 } as const;

const termCommon = {
  id: slug,
  carveOut: { type: 'boolean' },
  note: text,
  match: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: {
      codes: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'string',
          pattern: '^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})(?:-(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4}))?$',
        },
      },
      drugs: { type: 'boolean' },
      modifiers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[0-9A-Z]{2}$' } },
    },
  },
} as const;

export const contractsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'contracts'],
  properties: {
    title: text,
    notes: text,
    contracts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'payer', 'name', 'effective', 'source', 'terms'],
        properties: {
          id: slug,
          payer: slug,
          name: text,
          effective: date,
          through: date,
          source: text,
          sequestrationPercent: { type: 'number', minimum: 0, maximum: 100 },
          terms: {
            type: 'array',
            minItems: 1,
            items: {
              oneOf: [
                {
                  type: 'object',
                  additionalProperties: false,
                  required: ['id', 'kind'],
                  properties: {
                    ...termCommon,
                    kind: { const: 'fee-schedule' },
                    rates: {
                      type: 'object',
                      propertyNames: { pattern: CODE },
                      additionalProperties: { type: 'number', minimum: 0 },
                    },
                    ratesFile: text,
                  },
                },
                {
                  type: 'object',
                  additionalProperties: false,
                  required: ['id', 'kind', 'reference', 'percent'],
                  properties: {
                    ...termCommon,
                    kind: { const: 'percent-of-reference' },
                    reference: { enum: ['medicare-asp', 'opps', 'medicare-physician'] },
                    percent,
                  },
                },
                {
                  type: 'object',
                  additionalProperties: false,
                  required: ['id', 'kind', 'percent'],
                  properties: { ...termCommon, kind: { const: 'percent-of-billed' }, percent },
                },
              ],
            },
          },
        },
      },
    },
  },
} as const;
