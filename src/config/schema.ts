/**
 * The JSON Schema of Dripline's configuration (environment variables and the optional config file,
 * merged into one object before validation): every field, its bounds and its default. config.ts
 * validates against it once at boot and owns the types the result is read as.
 */
import { APP_ROLES } from './app-roles.ts';

/** A connection's settings for one topic: canonical URL, search-style filters on that type, payload. */
function topicSchema(type: 'MedicationAdministration' | 'Encounter'): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      url: { type: 'string', pattern: '^(https?|urn):\\S+$' },
      filters: {
        type: 'array',
        items: { type: 'string', pattern: `^${type}\\?[^\\s=&?]+=[^\\s&]+(&[^\\s=&?]+=[^\\s&]+)*$` },
      },
      payload: { enum: ['full-resource', 'id-only', 'empty'] },
    },
  };
}

/** Dripline's queue workers, by the name `WORKERS` uses. */
export const WORKER_NAMES = [
  'ingest',
  'charge-capture',
  'claims',
  'authorization-ledger',
  'prior-auth',
  'eligibility',
  'remittance',
] as const;
export type WorkerName = (typeof WORKER_NAMES)[number];
const WORKER_PATTERN = WORKER_NAMES.join('|');

/** The configuration's JSON Schema: what loadConfig (config.ts) accepts, with its defaults. */
export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: [
    'port',
    'host',
    'dataDir',
    'logLevel',
    'sandbox',
    'tenants',
    'http',
    'auth',
    'shutdownTimeoutMs',
    'jobLeaseMs',
    'ingestJobRetentionDays',
    'appealSweepMs',
    'clockOffsetMs',
  ],
  properties: {
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
    host: { type: 'string', minLength: 1, default: '0.0.0.0' },
    publicUrl: { type: 'string', pattern: '^https?://[^\\s/]+(/[^\\s]*)?$' },
    dataDir: { type: 'string', minLength: 1, default: './data' },
    mongodbUrl: { type: 'string', pattern: '^mongodb(\\+srv)?://' },
    mongodbDatabase: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,63}$', default: 'dripline' },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    sandbox: { type: 'boolean' },
    sandboxEhr: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 0 },
        replaySpeed: { type: 'number', minimum: -1, maximum: 100000, default: 60 },
        patients: { type: 'integer', minimum: 1, maximum: 500, default: 36 },
      },
    },
    tenants: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name'],
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
          name: { type: 'string', minLength: 1 },
          timeZone: { type: 'string', minLength: 1, maxLength: 64 },
          chargemasterFile: { type: 'string', minLength: 1 },
          authorizations: {
            type: 'object',
            additionalProperties: false,
            properties: {
              visitsAhead: { type: 'integer', minimum: 1, maximum: 52 },
              expiringDays: { type: 'integer', minimum: 0, maximum: 365 },
            },
          },
          eligibility: {
            type: 'object',
            additionalProperties: false,
            properties: { freshDays: { type: 'integer', minimum: 1, maximum: 365, default: 30 } },
          },
          contracts: {
            type: 'object',
            additionalProperties: false,
            required: ['file'],
            properties: {
              file: { type: 'string', minLength: 1 },
              underpaymentTolerance: {
                type: 'object',
                additionalProperties: false,
                default: {},
                properties: {
                  amount: { type: 'number', minimum: 0, default: 1 },
                  percent: { type: 'number', minimum: 0, maximum: 100, default: 1 },
                },
              },
            },
          },
          statements: {
            type: 'object',
            additionalProperties: false,
            properties: {
              cycleDays: { type: 'integer', minimum: 7, maximum: 120 },
              anchor: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
              dueDays: { type: 'integer', minimum: 1, maximum: 120 },
              payTo: { type: 'string', minLength: 1, maxLength: 500 },
              contact: { type: 'string', minLength: 1, maxLength: 500 },
              dunning: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  reminder: { type: 'integer', minimum: 1, maximum: 3650 },
                  finalNotice: { type: 'integer', minimum: 1, maximum: 3650 },
                  hold: { type: 'integer', minimum: 1, maximum: 3650 },
                },
              },
            },
          },
          // Bill hold (config.ts TenantConfig.billHold): whole hours after an encounter ends. At most
          // 30 days: a longer hold eats into timely filing windows (90 days at some payers).
          billHold: {
            type: 'object',
            additionalProperties: false,
            required: ['hours'],
            properties: { hours: { type: 'integer', minimum: 0, maximum: 720 } },
          },
          denialRisk: {
            type: 'object',
            additionalProperties: false,
            properties: { holdAbove: { type: 'number', exclusiveMinimum: 0, maximum: 1 } },
          },
          workQueues: {
            type: 'object',
            additionalProperties: false,
            required: ['assignees'],
            properties: {
              assignees: {
                type: 'object',
                propertyNames: {
                  enum: [
                    'eligibility',
                    'authorization',
                    'coding',
                    'documentation',
                    'medical-necessity',
                    'bundling',
                    'timely-filing',
                    'duplicate',
                    'other',
                    'underpayment',
                    'default',
                  ],
                },
                additionalProperties: { type: 'string', minLength: 1, maxLength: 200 },
              },
            },
          },
          ehrLaunch: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['iss', 'clientId', 'privateKeyJwk'],
              properties: {
                iss: { type: 'string', pattern: '^https?://[^\\s]+[^/\\s]$' },
                clientId: { type: 'string', minLength: 1 },
                privateKeyJwk: {
                  type: 'object',
                  required: ['kty', 'd'],
                  properties: { alg: { enum: ['RS384', 'ES384'] } },
                },
                scope: { type: 'string', minLength: 1 },
                roles: { type: 'object', additionalProperties: { enum: APP_ROLES } },
                roleCodes: {
                  type: 'object',
                  propertyNames: { pattern: '^\\S+\\|\\S+$' },
                  additionalProperties: { enum: APP_ROLES },
                },
              },
            },
          },
          billing: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'npi', 'taxonomy', 'taxId', 'address'],
            properties: {
              name: { type: 'string', minLength: 1 },
              npi: { type: 'string', pattern: '^[0-9]{10}$' },
              taxonomy: { type: 'string', pattern: '^[0-9A-Z]{9}X$' },
              taxId: { type: 'string', pattern: '^[0-9]{9}$' },
              phone: { type: 'string' },
              address: {
                type: 'object',
                additionalProperties: false,
                required: ['line', 'city', 'state', 'postalCode'],
                properties: {
                  line: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
                  city: { type: 'string', minLength: 1 },
                  state: { type: 'string', pattern: '^[A-Z]{2}$' },
                  postalCode: { type: 'string', pattern: '^[0-9]{5}([0-9]{4})?$' },
                },
              },
            },
          },
          payers: {
            type: 'array',
            default: [],
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['id', 'name', 'payerId', 'kind', 'channel'],
              properties: {
                id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
                name: { type: 'string', minLength: 1 },
                payerId: { type: 'string', minLength: 1, maxLength: 80 },
                kind: { enum: ['medicare', 'medicaid', 'commercial'] },
                channel: { enum: ['fhir', 'x12'] },
                fhirBaseUrl: { type: 'string', pattern: '^https?://\\S+[^/]$' },
                tokenUrl: { type: 'string', pattern: '^https?://\\S+$' },
                clientId: { type: 'string', minLength: 1 },
                privateKeyJwk: { type: 'object', required: ['kty', 'd'] },
                scope: { type: 'string', minLength: 1 },
                timelyFilingDays: { type: 'integer', minimum: 1, maximum: 3650, default: 365 },
                usage: { enum: ['P', 'T'] },
                // Prior authorization by Da Vinci PAS 2.2.1 (src/coverage/pas).
                pas: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['fhirBaseUrl'],
                  properties: {
                    fhirBaseUrl: { type: 'string', pattern: '^https?://\\S+[^/]$' },
                    tokenUrl: { type: 'string', pattern: '^https?://\\S+$' },
                    scope: { type: 'string', minLength: 1 },
                    receiverId: { type: 'string', minLength: 1, maxLength: 80 },
                    subscription: { enum: ['auto', 'off'], default: 'auto' },
                    inquireMinutes: { type: 'integer', minimum: 5, maximum: 10080, default: 240 },
                    courseDays: { type: 'integer', minimum: 1, maximum: 366, default: 180 },
                  },
                },
                eligibility: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['channel'],
                  properties: {
                    channel: { enum: ['fhir', 'x12'] },
                    url: { type: 'string', pattern: '^https?://\\S+[^/]$' },
                    tokenUrl: { type: 'string', pattern: '^https?://\\S+$' },
                    clientId: { type: 'string', minLength: 1 },
                    privateKeyJwk: { type: 'object', required: ['kty', 'd'] },
                    scope: { type: 'string', minLength: 1 },
                    receiverId: { type: 'string', minLength: 1, maxLength: 15 },
                  },
                  // A 270 goes to an endpoint of its own: it must be named.
                  if: { properties: { channel: { const: 'x12' } } },
                  then: { required: ['url'] },
                },
                appealDays: { type: 'integer', minimum: 1, maximum: 3650 },
                secondAppealDays: { type: 'integer', minimum: 1, maximum: 3650 },
                correctedClaim: { enum: ['replacement', 'new-claim'] },
              },
              // ISA15 must be chosen for a clearinghouse: never production or test by default.
              if: { properties: { channel: { const: 'x12' } } },
              then: { required: ['usage'] },
            },
          },
          coding: {
            type: 'object',
            additionalProperties: false,
            default: {},
            properties: {
              modifier340B: { enum: ['JG', 'TB'] },
              utcOffset: { type: 'string', pattern: '^[+-](0\\d|1[0-4]):[0-5]\\d$' },
              familyOverrides: {
                type: 'object',
                additionalProperties: false,
                properties: Object.fromEntries(
                  ['all', 'medicare', 'medicaid', 'commercial'].map((payer) => [
                    payer,
                    {
                      type: 'object',
                      propertyNames: { pattern: '^[A-Z][0-9]{4}$|^[0-9]{4}[0-9A-Z]$' },
                      additionalProperties: { enum: ['chemo-complex', 'therapeutic', 'hydration'] },
                    },
                  ]),
                ),
              },
            },
          },
          connections: {
            type: 'array',
            default: [],
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['id', 'fhirBaseUrl', 'clientId', 'privateKeyJwk', 'mode'],
              properties: {
                id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
                fhirBaseUrl: { type: 'string', pattern: '^https?://[^\\s]+[^/\\s]$' },
                tokenUrl: { type: 'string', pattern: '^https?://\\S+$' },
                clientId: { type: 'string', minLength: 1 },
                privateKeyJwk: {
                  type: 'object',
                  required: ['kty', 'd'],
                  properties: { alg: { enum: ['RS384', 'ES384'] } },
                },
                scope: { type: 'string', minLength: 1, default: 'system/*.rs' },
                mode: { enum: ['backport', 'r5', 'rest-hook', 'poll'] },
                payload: { enum: ['full-resource', 'id-only', 'empty'], default: 'id-only' },
                locations: {
                  type: 'array',
                  items: { type: 'string', pattern: '^Location/\\S+$' },
                  default: [],
                },
                topics: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    MedicationAdministration: topicSchema('MedicationAdministration'),
                    Encounter: topicSchema('Encounter'),
                  },
                },
                gapGraceSeconds: { type: 'integer', minimum: 0, maximum: 3600 },
                heartbeatSeconds: { type: 'integer', minimum: 10, maximum: 86400, default: 300 },
                pollIntervalSeconds: { type: 'integer', minimum: 5, maximum: 86400, default: 300 },
                hmacSecret: { type: 'string', minLength: 16 },
              },
            },
          },
        },
      },
      default: [],
    },
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 100_000_000, default: 5_000_000 },
        maxJsonDepth: { type: 'integer', minimum: 4, maximum: 1000, default: 64 },
        rateLimitPerMinute: { type: 'integer', minimum: 1, default: 6000 },
        trustProxy: { type: 'boolean', default: false },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        accessTokenSeconds: { type: 'integer', minimum: 30, maximum: 300, default: 300 },
      },
    },
    shutdownTimeoutMs: { type: 'integer', minimum: 0, default: 10_000 },
    jobLeaseMs: { type: 'integer', minimum: 1_000, maximum: 3_600_000, default: 60_000 },
    ingestJobRetentionDays: { type: 'integer', minimum: 1, maximum: 3_650, default: 14 },
    // 0: no timer (the sweep then runs only when asked, API or CLI).
    appealSweepMs: { type: 'integer', minimum: 0, maximum: 86_400_000, default: 3_600_000 },
    metricsToken: { type: 'string', minLength: 16 },
    // Ten years either way.
    clockOffsetMs: { type: 'integer', minimum: -315_576_000_000, maximum: 315_576_000_000, default: 0 },
    // Which queue workers run in this process (config.ts WORKER_NAMES): all, none, or a list.
    workers: {
      type: 'string',
      pattern: `^(all|none|(${WORKER_PATTERN})(,(${WORKER_PATTERN}))*)$`,
      default: 'all',
    },
  },
} as const;
