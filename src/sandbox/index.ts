/**
 * Sandbox mode: an honest sandbox EHR runs in the same process on loopback, with its own SMART
 * Backend Services authorization server; Dripline registers as its client, subscribes like it
 * would to any EHR, and the EHR replays a seeded infusion-center day so data flows at once.
 */
import path from 'node:path';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import type { DriplineConfig, EhrConnectionConfig, EhrLaunchConfig, TenantConfig } from '../config/config.ts';
import { STAFF_ROLE_SYSTEM } from './ehr/app-launch/staff.ts';
import { tenantTimeZone } from '../config/config.ts';
import { systemClock } from '../time/clock.ts';
import type { Clock } from '../time/clock.ts';
import { SANDBOX_WORK_QUEUES, writeSandboxContracts } from './contracts.ts';
import { sandboxSeedDay } from './day.ts';
import { readEhrState, sandboxStateFiles, writeEhrState } from './state.ts';
import type { Logger } from '../logger.ts';
import type { RunningServer, StartOptions } from '../server.ts';
import { startServer } from '../server.ts';
import { loadRecord } from '../ingest/records.ts';
import { INGEST_TOPICS } from '../ingest/topics.ts';
import { startSandboxEhr } from './ehr/server.ts';
import type { SandboxEhr } from './ehr/server.ts';
import { startSandboxPayer } from './payer/server.ts';
import type { SandboxPayer } from './payer/server.ts';
import type { PayerEndpoint } from '../config/billing.ts';
import type { Coverage, Organization, Patient } from '@medplum/fhirtypes';
import type { SandboxMember } from './payer/eligibility/enrollment.ts';
import { enrollmentFrom } from './payer/eligibility/enrollment.ts';
import { startSandboxX12Payer } from './x12-payer.ts';
import type { SandboxX12Payer } from './x12-payer.ts';
import type { PayerKind } from '../coding/types.ts';

export const SANDBOX_TENANT = 'sandbox';
export const SANDBOX_CONNECTION_ID = 'sandbox-ehr';
/** The seeded day's PRNG seed. */
const SANDBOX_SEED = 1;

export interface SandboxRun {
  readonly server: RunningServer;
  readonly ehr: SandboxEhr;
  readonly payer: SandboxPayer;
  /** Resolves when the seeded day has been replayed (immediately when replay is off). */
  readonly replayed: Promise<void>;
  /** The sandbox X12 payer, when asked for (`sandboxX12Payer`). */
  readonly x12Payer?: SandboxX12Payer;
  /** The tenants as the server runs them (the sandbox tenant with its seeded payers). */
  readonly tenants: readonly TenantConfig[];
  /** The clock Dripline and the sandbox parties share. */
  readonly now: Clock;
  stop(): Promise<void>;
}

/** Registers Dripline at the sandbox EHR as a SMART Backend Services client. */
export async function sandboxConnection(ehr: SandboxEhr): Promise<EhrConnectionConfig> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = 'dripline-sandbox-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES384', use: 'sig' };
  const scope = 'system/*.rs system/Subscription.cruds';
  const clientId = await ehr.registerClient({ jwks: { keys: [publicJwk] }, scope });
  return {
    id: SANDBOX_CONNECTION_ID,
    fhirBaseUrl: ehr.fhirBaseUrl,
    tokenUrl: ehr.tokenUrl,
    clientId,
    privateKeyJwk: privateJwk,
    scope,
    mode: 'backport',
    payload: 'id-only',
    locations: [],
    heartbeatSeconds: 60,
    pollIntervalSeconds: 60,
  };
}

/**
 * Registers Dripline's billers' app at the sandbox EHR (a confidential asymmetric client whose
 * redirect URI and launch URL are Dripline's) and describes it as the sandbox tenant's `ehrLaunch`:
 * roles come from the EHR staff's PractitionerRole codes.
 */
export async function sandboxAppLaunch(ehr: SandboxEhr, publicUrl: string): Promise<EhrLaunchConfig> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = 'dripline-sandbox-app-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES384', use: 'sig' };
  const clientId = 'dripline-billing';
  await ehr.registerApp({
    clientId,
    name: 'Dripline billing',
    jwks: { keys: [publicJwk] },
    redirectUris: [`${publicUrl}/app/callback`],
    launchUrl: `${publicUrl}/app/launch`,
    scope: 'launch openid fhirUser user/*.rs',
  });
  const code = (c: string): string => `${STAFF_ROLE_SYSTEM}|${c}`;
  return {
    iss: ehr.fhirBaseUrl,
    clientId,
    privateKeyJwk: privateJwk,
    roleCodes: {
      [code('biller')]: 'biller',
      [code('coder')]: 'coder',
      [code('admin')]: 'admin',
      [code('viewer')]: 'viewer',
      [code('nurse')]: 'clinician',
    },
  };
}

const PAYER_ID_SYSTEM = 'https://sandbox.dripline.dev/ehr/sid/payer-id';

function payerKindOf(name: string): PayerKind {
  const lower = name.toLowerCase();
  return lower.includes('medicare') ? 'medicare' : lower.includes('medicaid') ? 'medicaid' : 'commercial';
}

/** The payers of the seeded day: the EHR's payer Organizations, with their payer ids and kinds. */
export async function seededPayers(
  ehr: SandboxEhr,
): Promise<{ id: string; name: string; payerId: string; kind: PayerKind }[]> {
  const organizations = (await ehr.listResources('Organization')) as Organization[];
  return organizations.flatMap((org) => {
    const payerId = org.identifier?.find((i) => i.system === PAYER_ID_SYSTEM)?.value;
    if (!payerId || !org.id) {
      return [];
    }
    const name = org.name ?? payerId;
    return [{ id: org.id.toLowerCase().replace(/[^a-z0-9-]/g, '-'), name, payerId, kind: payerKindOf(name) }];
  });
}

/**
 * The sandbox payers' members: every Coverage the sandbox EHR holds (member id, payer, beneficiary),
 * as a payer's enrollment file would list them, with the coverages the payers ended since.
 */
export async function sandboxEnrollment(ehr: SandboxEhr): Promise<SandboxMember[]> {
  return enrollmentFrom({
    coverages: (await ehr.listResources('Coverage')) as Coverage[],
    patients: (await ehr.listResources('Patient')) as Patient[],
    organizations: (await ehr.listResources('Organization')) as Organization[],
    payerIdSystem: PAYER_ID_SYSTEM,
    ended: ehr.payerEnrollment,
  });
}

/** The kind of payer that answers eligibility on X12 (270/271) in the sandbox; the others on FHIR. */
export const SANDBOX_X12_ELIGIBILITY_KIND: PayerKind = 'medicaid';

/**
 * Registers Dripline as a SMART Backend Services client of the sandbox payer and describes each
 * seeded payer as a FHIR-channel payer endpoint; the Medicaid payer answers eligibility by X12
 * (a 270 POSTed to its real-time endpoint, a 271 back), the others by CoverageEligibilityRequest.
 */
export async function sandboxPayers(
  payer: SandboxPayer,
  payers: readonly { id: string; name: string; payerId: string; kind: PayerKind }[],
  options: { readonly priorAuth?: boolean; readonly x12Claims?: boolean } = {},
): Promise<PayerEndpoint[]> {
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = 'dripline-sandbox-payer-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES384', use: 'sig' };
  const scope =
    'system/Claim.crs system/ClaimResponse.rs system/Subscription.cruds system/CoverageEligibilityRequest.c';
  const clientId = await payer.registerClient({ jwks: { keys: [publicJwk] }, scope });
  return payers.map((p) => ({
    ...p,
    ...(p.kind === SANDBOX_X12_ELIGIBILITY_KIND
      ? { eligibility: { channel: 'x12' as const, url: payer.x12EligibilityUrl, tokenUrl: payer.tokenUrl } }
      : {}),
    // With x12Claims, the payer that answers eligibility on X12 takes its claims as 837s too
    // (picked up by the sandbox X12 payer, ./x12-payer.ts); the others by Claim/$submit.
    channel:
      options.x12Claims && p.kind === SANDBOX_X12_ELIGIBILITY_KIND ? ('x12' as const) : ('fhir' as const),
    fhirBaseUrl: payer.fhirBaseUrl,
    tokenUrl: payer.tokenUrl,
    clientId,
    privateKeyJwk: privateJwk,
    scope,
    timelyFilingDays: 365,
    // The sandbox payer is a test party: its interchanges say so (ISA15 T).
    usage: 'T' as const,
    // Prior authorization (Da Vinci PAS) at the sandbox payer's PAS endpoint, when asked for.
    ...(options.priorAuth
      ? {
          pas: {
            fhirBaseUrl: payer.pasFhirBaseUrl,
            tokenUrl: payer.tokenUrl,
            subscription: 'auto' as const,
            inquireMinutes: 240,
            courseDays: 180,
          },
        }
      : {}),
  }));
}

/** The sandbox centre's zone: the sandbox tenant's, else the seed's own (Columbus, Ohio). */
function sandboxTimeZone(config: DriplineConfig): string {
  const tenant = config.tenants.find((t) => t.id === SANDBOX_TENANT);
  return (tenant ? tenantTimeZone(tenant) : undefined) ?? 'America/New_York';
}

/** Whether Dripline's subscriptions at the sandbox EHR became active within `timeoutMs` (polled). */
export async function waitForActiveSubscriptions(server: RunningServer, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const records = await Promise.all(
      INGEST_TOPICS.map((topic) => loadRecord(server.store, SANDBOX_TENANT, SANDBOX_CONNECTION_ID, topic)),
    );
    if (records.every((r) => r?.status === 'active')) {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

export async function runSandbox(
  config: DriplineConfig,
  logger: Logger,
  options: StartOptions & {
    /**
     * The Medicaid payer takes claims as 837s and answers with 835s after `delayMs`, looking for
     * batches every `roundMs` (default 1 s) (./x12-payer.ts).
     */
    readonly sandboxX12Payer?: { readonly delayMs: number; readonly roundMs?: number };
  } = {},
): Promise<SandboxRun> {
  // One clock for Dripline and both sandbox parties, so they agree on the time (config.clockOffsetMs).
  const now = options.now ?? systemClock(config.clockOffsetMs);
  // The parties come back as they were on the same data (src/sandbox/state.ts): the EHR reseeds
  // the day it seeded, with the same ids, up to where its replay got; the payer reads its journal.
  const files = sandboxStateFiles(config.dataDir);
  const saved = readEhrState(files.ehr);
  // Else a day that has ended in the centre's zone: charges and claims flow at once (the claim
  // sweep never bills an encounter whose end is still in the future).
  const timeZone = saved?.timeZone ?? sandboxTimeZone(config);
  const patients = saved?.patients ?? config.sandboxEhr.patients;
  const state = saved ?? {
    day: sandboxSeedDay(now(), { timeZone, patients }),
    patients,
    seed: SANDBOX_SEED,
    timeZone,
    replayed: 0,
  };
  if (saved && saved.patients !== config.sandboxEhr.patients) {
    logger.warn(
      { kept: saved.patients, configured: config.sandboxEhr.patients },
      'sandbox EHR: keeping the day seeded earlier on this data (start on a new data directory for another)',
    );
  }
  writeEhrState(files.ehr, state);
  const ehr = await startSandboxEhr({
    port: config.sandboxEhr.port,
    host: '127.0.0.1',
    seed: { date: state.day, patients, seed: state.seed, timeZone, replayed: state.replayed },
    onReplayed: (replayed) => writeEhrState(files.ehr, { ...state, replayed }),
    now,
    logger: logger.child({ component: 'sandbox-ehr' }),
  });
  logger.info({ day: state.day, timeZone, restored: state.replayed }, 'sandbox EHR seeded');
  const connection = await sandboxConnection(ehr);
  const seeded = await seededPayers(ehr);
  // The sandbox payer adjudicates each claim as the kind of payer its insurer id names.
  const payer = await startSandboxPayer({
    host: '127.0.0.1',
    payerIds: Object.fromEntries(seeded.map((p) => [p.payerId, p.kind])),
    now,
    timeZone,
    journal: files.payerJournal,
    logger: logger.child({ component: 'sandbox-payer' }),
    ...(options.sandboxPriorAuth?.reviewDelayMs !== undefined
      ? { pas: { reviewDelayMs: options.sandboxPriorAuth.reviewDelayMs } }
      : {}),
    members: await sandboxEnrollment(ehr),
  });
  const payers = await sandboxPayers(payer, seeded, {
    priorAuth: options.sandboxPriorAuth !== undefined,
    x12Claims: options.sandboxX12Payer !== undefined,
  });
  const seededPayerKinds = Object.fromEntries(payers.map((p) => [p.payerId, p.kind]));
  logger.info({ payers: Object.keys(seededPayerKinds).length }, 'sandbox payer running');
  // The sandbox tenant bills the sandbox payer for every payer of the seeded day.
  const appLaunch = await sandboxAppLaunch(ehr, config.publicUrl);
  const tenants = config.tenants.map((t) =>
    t.id === SANDBOX_TENANT
      ? {
          ...t,
          payers: [...t.payers, ...payers],
          ehrLaunch: [...(t.ehrLaunch ?? []), appLaunch],
          // The centre's contracts with the sandbox payers and its queues, unless configured.
          contracts: t.contracts ?? writeSandboxContracts(path.dirname(files.ehr), payers),
          workQueues: t.workQueues ?? SANDBOX_WORK_QUEUES,
        }
      : t,
  );
  let server: RunningServer;
  try {
    server = await startServer(config, logger, {
      ...options,
      now,
      extraConnections: [...(options.extraConnections ?? []), { tenant: SANDBOX_TENANT, connection }],
      claimWorkflow: { ...(options.claimWorkflow ?? {}), tenants },
    });
  } catch (err) {
    // Dripline could not start (its port is taken...): the sandbox parties go with it.
    await ehr.stop();
    await payer.stop();
    throw err;
  }
  const sandboxTenant = tenants.find((t) => t.id === SANDBOX_TENANT);
  const x12Payer =
    options.sandboxX12Payer && sandboxTenant
      ? await startSandboxX12Payer({
          server,
          publicUrl: config.publicUrl,
          tenant: sandboxTenant,
          now,
          timeZone,
          delayMs: options.sandboxX12Payer.delayMs,
          ...(options.sandboxX12Payer.roundMs !== undefined
            ? { roundMs: options.sandboxX12Payer.roundMs }
            : {}),
          log: (obj, msg) => logger.warn(obj, msg),
        })
      : undefined;
  logger.info({ sandboxEhr: ehr.fhirBaseUrl, sandboxPayer: payer.fhirBaseUrl }, 'sandbox EHR running');
  logger.info(
    { chart: ehr.chartUrl },
    `billers' app: open ${ehr.chartUrl} (the sandbox EHR's chart), sign in, and press Billing on an encounter`,
  );

  const replayed = (async () => {
    if (config.sandboxEhr.replaySpeed < 0) {
      return;
    }
    if (!(await waitForActiveSubscriptions(server, 15_000))) {
      logger.warn(
        'sandbox subscriptions did not become active; replaying anyway (catch-up will find the data)',
      );
    }
    logger.info({ speed: config.sandboxEhr.replaySpeed }, 'sandbox EHR: replaying the seeded day');
    await ehr.replay({ speed: config.sandboxEhr.replaySpeed });
    logger.info('sandbox EHR: day replayed');
  })().catch((err: unknown) => {
    logger.error({ err: (err as Error).message }, 'sandbox replay failed');
  });

  return {
    server,
    ehr,
    payer,
    replayed,
    ...(x12Payer ? { x12Payer } : {}),
    tenants,
    now,
    async stop() {
      await x12Payer?.stop();
      await server.stop();
      await ehr.stop();
      await payer.stop();
    },
  };
}
