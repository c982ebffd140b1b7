/**
 * The one place that reads the environment. Configuration is loaded and validated once at boot
 * (ajv) from environment variables plus an optional JSON file (`DRIPLINE_CONFIG`) for tenants and
 * their connections; everything else receives the typed result.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BillingProvider, PayerEndpoint } from './billing.ts';
import { readChargemasterFile } from './chargemaster-file.ts';
import { readContractsFile } from './contracts-file.ts';
import { isTimeZoneName } from '../time/zone.ts';
import type { AppRole } from './app-roles.ts';
// The schema (./schema.ts) compiled ahead of time by ajv (./standalone-validators.ts): compiling
// it here cost every process that reads the configuration ~200 ms of CPU.
import { validateConfig as validate } from './config-validator.js';
import { WORKER_NAMES } from './schema.ts';
import type { WorkerName } from './schema.ts';

export { WORKER_NAMES };
export type { WorkerName };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type EhrConnectionMode = 'backport' | 'r5' | 'rest-hook' | 'poll';

export type EhrPayloadContent = 'full-resource' | 'id-only' | 'empty';

/** What Dripline asks an EHR for on one topic (defaults: src/ingest/topics.ts). */
export interface EhrTopicConfig {
  /** The EHR's SubscriptionTopic canonical (backport, r5). */
  readonly url?: string;
  /** Search-style filters, `Type?code=value[,value]…`, AND-ed; replaces the location default. */
  readonly filters?: readonly string[];
  /** Payload content for this topic; default: the connection's `payload`. */
  readonly payload?: EhrPayloadContent;
}

/** A tenant's EHR: where Dripline subscribes, receives notifications, and fetches back from. */
export interface EhrConnectionConfig {
  /** Slug, unique across all tenants: notifications arrive at /ehr/{id}/notify. */
  readonly id: string;
  /** The EHR's FHIR base; the only base Dripline ever fetches from for this connection. */
  readonly fhirBaseUrl: string;
  /** SMART Backend Services token endpoint; discovered from {fhirBaseUrl}/.well-known/smart-configuration when absent. */
  readonly tokenUrl?: string;
  readonly clientId: string;
  /** Private JWK (RS384 or ES384, with kid) for the client assertion. */
  readonly privateKeyJwk: Readonly<Record<string, unknown>>;
  readonly scope: string;
  readonly mode: EhrConnectionMode;
  /** Payload content Dripline asks for in its Subscriptions. */
  readonly payload: EhrPayloadContent;
  /**
   * Location references (e.g. "Location/infusion-suite"): only encounters at one of them (and
   * their administrations) are ingested and billed; empty = all.
   */
  readonly locations: readonly string[];
  /** Topic URLs, filters and payload per topic, where the EHR's differ from the defaults. */
  readonly topics?: Readonly<Partial<Record<'MedicationAdministration' | 'Encounter', EhrTopicConfig>>>;
  /**
   * How long a gap in event numbers may stay open before Dripline recovers it (`$events` or a
   * catch-up): out-of-order deliveries close most gaps within seconds. Default 10.
   */
  readonly gapGraceSeconds?: number;
  /** Heartbeat period Dripline asks for, seconds. */
  readonly heartbeatSeconds: number;
  /** Poll interval for `poll` mode, and the catch-up cadence for the others, seconds. */
  readonly pollIntervalSeconds: number;
  /** When set, notifications must carry X-Signature = hex HMAC-SHA256(body) with this secret (Medplum style). */
  readonly hmacSecret?: string;
}

export interface TenantCodingConfig {
  /** 340B-acquired drugs: the modifier this provider type reports (coding-rules R12.1), if any. */
  readonly modifier340B?: 'JG' | 'TB';
  /**
   * Fixed offset for dates of service, e.g. "-05:00" (no DST): the older form of the tenant's
   * `timeZone`, used only when that is not set.
   */
  readonly utcOffset?: string;
  /**
   * Administration family by HCPCS code, for one payer kind or `all` (coding-rules R1.2), e.g.
   * `{ "commercial": { "J1745": "therapeutic" } }`: applied before the payer rule set's overrides.
   */
  readonly familyOverrides?: Readonly<
    Partial<
      Record<
        'all' | 'medicare' | 'medicaid' | 'commercial',
        Readonly<Record<string, 'chemo-complex' | 'therapeutic' | 'hydration'>>
      >
    >
  >;
}

export { APP_ROLES, type AppRole } from './app-roles.ts';

/**
 * An EHR that launches the billers' app (SMART App Launch 2.x): its FHIR base (`iss`), Dripline's
 * registration there (a confidential asymmetric client), and who gets which role.
 */
export interface EhrLaunchConfig {
  /** The EHR's FHIR base URL exactly as it sends it in `iss`; it names this tenant. */
  readonly iss: string;
  readonly clientId: string;
  /** Private JWK (RS384 or ES384) for private_key_jwt at the EHR's token endpoint. */
  readonly privateKeyJwk: Readonly<Record<string, unknown>>;
  /** Scopes asked for (default: launch openid fhirUser and user-level reads of the person's roles). */
  readonly scope?: string;
  /** Role by person: `fhirUser` references ("Practitioner/123", relative to `iss`, or absolute). */
  readonly roles?: Readonly<Record<string, AppRole>>;
  /** Role by the person's PractitionerRole codes at the EHR, keyed "system|code". */
  readonly roleCodes?: Readonly<Record<string, AppRole>>;
}

export interface TenantConfig {
  /** Lower-case slug; every stored record is bound to it. */
  readonly id: string;
  readonly name: string;
  /**
   * The facility's time zone, an IANA name ("America/New_York") or "UTC": dates of service, the
   * claim's day of service grouping, and the calendar days of the clock ("today" for timely
   * filing) are computed in it. See `tenantTimeZone`.
   */
  readonly timeZone?: string;
  readonly connections: readonly EhrConnectionConfig[];
  readonly coding: TenantCodingConfig;
  /** The billing provider on the tenant's claims (required to build claims). */
  readonly billing?: BillingProvider;
  /** Payers the tenant submits claims to. */
  readonly payers: readonly PayerEndpoint[];
  /**
   * The tenant's chargemaster (gross charge per unit of each code; see src/claims/chargemaster.ts),
   * an absolute path once loaded (relative paths resolve against the config file's folder), read and
   * validated at load (./chargemaster-file.ts). Unset: the shipped illustrative defaults.
   */
  readonly chargemasterFile?: string;
  /** EHRs that launch the billers' app for this tenant. */
  readonly ehrLaunch?: readonly EhrLaunchConfig[];
  /** The authorization ledger's work items (src/coverage/ledger-alerts.ts); see `tenantLedgerSettings`. */
  readonly authorizations?: {
    /** How many booked visits ahead an authorization must cover (default 3). */
    readonly visitsAhead?: number;
    /** How many days before its last day an authorization is reported expiring (default 14). */
    readonly expiringDays?: number;
  };
  /** Eligibility checks (src/coverage/eligibility): how long an answer stays fresh. */
  readonly eligibility?: TenantEligibilityConfig;
  /**
   * The tenant's payer contracts (./contracts-file.ts; an absolute path once loaded, relative paths
   * resolve against the config file's folder; read and validated at load) and how far below what a
   * contract expects a payment may fall before it is an underpayment: more than `amount` dollars
   * and more than `percent` % of the expected payment (default $1.00 and 1 %).
   */
  readonly contracts?: {
    readonly file: string;
    readonly underpaymentTolerance: { readonly amount: number; readonly percent: number };
  };
  /**
   * Who works each remittance work queue: a person or team per denial category
   * (src/remittance/codes/format.ts), `underpayment`, and `default` for the rest.
   */
  readonly workQueues?: { readonly assignees: Readonly<Record<string, string>> };
  /** Patient statements (src/remittance/statements/rules.ts has the defaults and their reasons). */
  readonly statements?: TenantStatementsConfig;
  /**
   * Denial forecast (src/claims/risk/denial-model.ts): the scrubber holds a claim whose risk is
   * above `holdAbove` (0..1; unset: never held, the score is information only).
   */
  readonly denialRisk?: { readonly holdAbove?: number };
  /**
   * Bill hold ("charge lag"): how many hours after an encounter ends its claim waits before it is
   * built, so late documentation, late orders and waste records land on the first claim instead of
   * a corrected or voided one after adjudication (src/claims/workflow/bill-hold.ts). Elapsed hours
   * from the encounter's end, not calendar days. Unset: 0, the claim is built once the visit's
   * notifications are stored. See `tenantBillHoldMs`.
   */
  readonly billHold?: { readonly hours: number };
}

export interface TenantStatementsConfig {
  /** Days between statement runs; cycles count from `anchor` (YYYY-MM-DD). */
  readonly cycleDays?: number;
  readonly anchor?: string;
  /** Days from the statement date to its due date. */
  readonly dueDays?: number;
  /** How to pay, and whom to ask, as printed on the statement. */
  readonly payTo?: string;
  readonly contact?: string;
  /** Days since the oldest unpaid charge was billed to the patient at which each dunning step starts. */
  readonly dunning?: { readonly reminder?: number; readonly finalNotice?: number; readonly hold?: number };
}

export interface TenantEligibilityConfig {
  /** Days an eligibility answer counts as fresh; an order or visit with none fresher asks again (default 30). */
  readonly freshDays: number;
}

/** Days an eligibility answer stays fresh for a tenant (config `eligibility.freshDays`, default 30). */
export function eligibilityFreshDays(tenant: Pick<TenantConfig, 'eligibility'>): number {
  return tenant.eligibility?.freshDays ?? 30;
}

export interface DriplineConfig {
  readonly port: number;
  readonly host: string;
  /** Base URL clients use to reach this server (no trailing slash); token `aud`/`iss` derive from it. */
  readonly publicUrl: string;
  readonly dataDir: string;
  /** When set, MongoDB is the store; otherwise the embedded SQLite store in dataDir. */
  readonly mongodbUrl?: string;
  readonly mongodbDatabase: string;
  readonly logLevel: LogLevel;
  /** Sandbox mode: the `sandbox` tenant exists and simulators run inside the server. */
  readonly sandbox: boolean;
  /** The in-process sandbox EHR (sandbox mode only). */
  readonly sandboxEhr: {
    /** Port on 127.0.0.1; 0 picks a free one. */
    readonly port: number;
    /** Replay speed of the seeded day: 60 = an hour a minute; 0 = all at once; negative = no replay. */
    readonly replaySpeed: number;
    /** Patients in the seeded day. */
    readonly patients: number;
  };
  readonly tenants: readonly TenantConfig[];
  readonly http: {
    readonly maxBodyBytes: number;
    readonly maxJsonDepth: number;
    readonly rateLimitPerMinute: number;
    readonly trustProxy: boolean;
  };
  readonly auth: {
    /** Access token lifetime; SMART Backend Services recommends at most 5 minutes. */
    readonly accessTokenSeconds: number;
  };
  readonly shutdownTimeoutMs: number;
  /**
   * How long a worker holds the jobs it took (ingest, charge capture, claims) before another may
   * take them: after a crash, that work waits this long. Longer than any one job can take.
   */
  readonly jobLeaseMs: number;
  /**
   * How long a finished ingest job is kept (`INGEST_JOB_RETENTION_DAYS`, default 14): it is the
   * key that makes an EHR's redelivery of the same notification a no-op. Ingest maintenance purges
   * older ones so the inbox does not grow forever; a redelivery later than this re-runs the job,
   * which compares equal and changes nothing (src/ingest/retention.ts).
   */
  readonly ingestJobRetentionDays: number;
  /**
   * How often the server sweeps appeal deadlines (warnings at 30 and 7 days, missed ones escalated:
   * src/remittance/appeals/sweep.ts) without anyone asking; 0 turns the timer off. Default 1 h.
   */
  readonly appealSweepMs: number;
  /** Bearer secret Prometheus presents to /metrics; unset means /metrics always answers 401. */
  readonly metricsToken?: string;
  /**
   * Moves Dripline's clock by this many milliseconds (default 0). For tests and demonstrations
   * only: e.g. `.ci/run` runs the date-dependent tests at 00:30 and 23:30 UTC. Every process of a
   * run (and the sandbox parties) gets the same value, so they agree on the time.
   */
  readonly clockOffsetMs: number;
  /**
   * The queue workers this process runs (`WORKERS`: `all`, `none`, or names separated by commas).
   * Every worker takes its jobs by lease from the shared store, so several processes can share one
   * database: receivers (`none`: they acknowledge and enqueue) and workers.
   */
  readonly workers: readonly WorkerName[];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError'; // how the CLI tells it apart without loading this module (src/cli/main.ts)
  }
}

/** Where each field may come from in the environment (also used to name the field in errors). */
const ENV_VARS = {
  port: 'PORT',
  host: 'HOST',
  publicUrl: 'PUBLIC_URL',
  dataDir: 'DATA_DIR',
  mongodbUrl: 'MONGODB_URL',
  mongodbDatabase: 'MONGODB_DATABASE',
  logLevel: 'LOG_LEVEL',
  sandbox: 'SANDBOX',
  'sandboxEhr.port': 'SANDBOX_EHR_PORT',
  'sandboxEhr.replaySpeed': 'SANDBOX_REPLAY_SPEED',
  'sandboxEhr.patients': 'SANDBOX_PATIENTS',
  'http.maxBodyBytes': 'MAX_BODY_BYTES',
  'http.maxJsonDepth': 'MAX_JSON_DEPTH',
  'http.rateLimitPerMinute': 'RATE_LIMIT_PER_MINUTE',
  'http.trustProxy': 'TRUST_PROXY',
  'auth.accessTokenSeconds': 'ACCESS_TOKEN_SECONDS',
  shutdownTimeoutMs: 'SHUTDOWN_TIMEOUT_MS',
  jobLeaseMs: 'JOB_LEASE_MS',
  ingestJobRetentionDays: 'INGEST_JOB_RETENTION_DAYS',
  appealSweepMs: 'APPEAL_SWEEP_MS',
  metricsToken: 'METRICS_TOKEN',
  clockOffsetMs: 'CLOCK_OFFSET_MS',
  workers: 'WORKERS',
} as const;

const CONFIG_FILE_VAR = 'DRIPLINE_CONFIG';

const SANDBOX_TENANT: TenantConfig = {
  id: 'sandbox',
  name: 'Sandbox infusion center',
  // The seeded day's clinic is in Columbus, Ohio.
  timeZone: 'America/New_York',
  connections: [],
  coding: {},
  // A fictional provider for the sandbox's claims (valid NPI check digit, EIN format).
  billing: {
    name: 'Sandbox Infusion Center',
    npi: '1234567893',
    taxonomy: '261QI0500X',
    taxId: '123456789',
    phone: '6145550100',
    // 837 loop 2010AA wants the ZIP+4 of the billing provider.
    address: { line: ['100 Main Street'], city: 'Columbus', state: 'OH', postalCode: '432151234' },
  },
  payers: [],
};

/**
 * Loads the configuration from `env` (default: process.env) and the optional file it names.
 * Throws ConfigError whose message names the offending field (and its environment variable).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): DriplineConfig {
  const file = env[CONFIG_FILE_VAR];
  const raw: Record<string, unknown> = file ? readConfigFile(file) : {};
  for (const [field, variable] of Object.entries(ENV_VARS)) {
    const value = env[variable];
    if (value !== undefined && value !== '') {
      setPath(raw, field, value);
    }
  }
  // With no config file, the server starts as the sandbox: one tenant, simulators on.
  if (raw.sandbox === undefined) {
    raw.sandbox = !file;
  }
  if (!validate(raw)) {
    const error = validate.errors?.[0];
    const field = error ? fieldName(error.instancePath, error.params) : '(unknown)';
    const variable = (ENV_VARS as Record<string, string>)[field];
    const source = variable ? ` (environment variable ${variable})` : file ? ` (in ${file})` : '';
    throw new ConfigError(`Invalid configuration: ${field}${source} ${error?.message ?? 'is invalid'}`);
  }
  const config = raw as unknown as Omit<DriplineConfig, 'publicUrl' | 'workers'> & {
    publicUrl?: string;
    workers: string;
  };
  const tenants = [...config.tenants];
  if (config.sandbox && !tenants.some((t) => t.id === SANDBOX_TENANT.id)) {
    tenants.push(SANDBOX_TENANT);
  }
  const ids = new Set<string>();
  const connectionIds = new Set<string>();
  const launchIssuers = new Set<string>();
  for (const [index, tenant] of tenants.entries()) {
    if (tenant.chargemasterFile !== undefined) {
      tenants[index] = { ...tenant, chargemasterFile: resolveChargemaster(tenant, file) };
    }
    if (tenant.contracts !== undefined) {
      tenants[index] = { ...(tenants[index] ?? tenant), contracts: resolveContracts(tenant, file) };
    }
    if (tenant.timeZone !== undefined && !isTimeZoneName(tenant.timeZone)) {
      throw new ConfigError(
        `Invalid configuration: tenants[${tenant.id}].timeZone "${tenant.timeZone}" is not an IANA time zone name (e.g. "America/New_York") or "UTC"`,
      );
    }
    const hold = tenant.billHold?.hours;
    const late = hold === undefined ? undefined : tenant.payers.find((p) => hold >= p.timelyFilingDays * 24);
    if (late) {
      // Timely filing counts from the date of service: a hold as long would make every claim late.
      throw new ConfigError(
        `Invalid configuration: tenants[${tenant.id}].billHold.hours ${hold} is not shorter than payer "${late.id}"'s timely filing (${late.timelyFilingDays} days)`,
      );
    }
    if (ids.has(tenant.id)) {
      throw new ConfigError(`Invalid configuration: tenants has a duplicate id "${tenant.id}"`);
    }
    ids.add(tenant.id);
    for (const connection of tenant.connections) {
      if (connectionIds.has(connection.id)) {
        throw new ConfigError(`Invalid configuration: connection id "${connection.id}" is used twice`);
      }
      connectionIds.add(connection.id);
    }
    for (const launch of tenant.ehrLaunch ?? []) {
      // One iss names one tenant: a launch must never be able to land in two.
      if (launchIssuers.has(launch.iss)) {
        throw new ConfigError(`Invalid configuration: ehrLaunch iss "${launch.iss}" is used twice`);
      }
      launchIssuers.add(launch.iss);
    }
  }
  const publicUrl = (config.publicUrl ?? `http://localhost:${config.port}`).replace(/\/+$/, '');
  return Object.freeze({
    ...config,
    workers: workersNamed(config.workers),
    publicUrl,
    dataDir: path.resolve(config.dataDir),
    tenants: Object.freeze(tenants),
  });
}

/** `WORKERS` (already checked against the schema's pattern) as the list of worker names. */
function workersNamed(text: string): readonly WorkerName[] {
  const said = text.split(',').map((name) => name.trim());
  if (said.includes('all')) {
    return WORKER_NAMES;
  }
  return Object.freeze(WORKER_NAMES.filter((name) => said.includes(name)));
}

/**
 * The zone a tenant's dates are computed in: its `timeZone`, else its older fixed
 * `coding.utcOffset`; undefined when it names neither (dates of service then follow the offset the
 * EHR wrote on each instant, and calendar days of the clock are UTC: see `tenantCalendarZone`).
 */
export function tenantTimeZone(tenant: Pick<TenantConfig, 'timeZone' | 'coding'>): string | undefined {
  return tenant.timeZone ?? tenant.coding?.utcOffset;
}

/** What the coding engine is told about a tenant: its coding settings and its time zone. */
export function tenantCodingOptions(tenant: Pick<TenantConfig, 'timeZone' | 'coding'>): TenantCodingConfig & {
  readonly timeZone?: string;
} {
  return { ...tenant.coding, ...(tenant.timeZone ? { timeZone: tenant.timeZone } : {}) };
}

/** The authorization ledger's settings of a tenant, defaults filled in. */
export function tenantLedgerSettings(tenant: Pick<TenantConfig, 'authorizations'>): {
  visitsAhead: number;
  expiringDays: number;
} {
  return {
    visitsAhead: tenant.authorizations?.visitsAhead ?? 3,
    expiringDays: tenant.authorizations?.expiringDays ?? 14,
  };
}

/** A tenant's bill hold in milliseconds (config `billHold.hours`), or undefined when it sets none. */
export function tenantBillHoldMs(tenant: Pick<TenantConfig, 'billHold'>): number | undefined {
  return tenant.billHold === undefined ? undefined : tenant.billHold.hours * 3_600_000;
}

/** The zone "today" and "yesterday" are taken in for a tenant: `tenantTimeZone`, else UTC. */
export function tenantCalendarZone(tenant: Pick<TenantConfig, 'timeZone' | 'coding'>): string {
  return tenantTimeZone(tenant) ?? 'UTC';
}

/** The tenant's chargemaster path, resolved against the config file, read and validated now (fail at start, not at the first claim). */
function resolveChargemaster(tenant: TenantConfig, configFile: string | undefined): string {
  const given = tenant.chargemasterFile ?? '';
  const resolved = path.resolve(configFile ? path.dirname(configFile) : process.cwd(), given);
  try {
    readChargemasterFile(resolved);
  } catch (err) {
    throw new ConfigError(
      `Invalid configuration: tenants[${tenant.id}].chargemasterFile: ${(err as Error).message}`,
    );
  }
  return resolved;
}

/**
 * The tenant's contracts file, resolved against the config file, read and validated now; every
 * contract must name one of the tenant's payers.
 */
function resolveContracts(tenant: TenantConfig, configFile: string | undefined): TenantConfig['contracts'] {
  const contracts = tenant.contracts as NonNullable<TenantConfig['contracts']>;
  const resolved = path.resolve(configFile ? path.dirname(configFile) : process.cwd(), contracts.file);
  let read;
  try {
    read = readContractsFile(resolved);
  } catch (err) {
    throw new ConfigError(
      `Invalid configuration: tenants[${tenant.id}].contracts.file: ${(err as Error).message}`,
    );
  }
  const unknown = read.contracts.filter((c) => !tenant.payers.some((p) => p.id === c.payer));
  if (unknown.length > 0) {
    throw new ConfigError(
      `Invalid configuration: tenants[${tenant.id}].contracts.file: ${unknown
        .map((c) => `contract "${c.id}" names payer "${c.payer}"`)
        .join(
          ', ',
        )}, which is not one of the tenant's payers (${tenant.payers.map((p) => p.id).join(', ') || 'none'})`,
    );
  }
  return { ...contracts, file: resolved };
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read ${CONFIG_FILE_VAR} file ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('the top level must be a JSON object');
    }
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`Invalid ${CONFIG_FILE_VAR} file ${file}: ${(err as Error).message}`);
  }
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const child = node[part];
    if (typeof child !== 'object' || child === null) {
      node[part] = {};
    }
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

function fieldName(instancePath: string, params: Record<string, unknown>): string {
  const base = instancePath.replace(/^\//, '').replaceAll('/', '.');
  const extra =
    typeof params.missingProperty === 'string'
      ? params.missingProperty
      : typeof params.additionalProperty === 'string'
        ? params.additionalProperty
        : '';
  return [base, extra].filter(Boolean).join('.') || '(root)';
}
