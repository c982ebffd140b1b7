/**
 * An honest sandbox payer over real HTTP: FHIR R4 `Claim/$submit` behind its own SMART Backend
 * Services authorization server (its own signing key and in-memory client registry), adjudicating
 * from its own fee schedule and rules (./adjudicate.ts, ./tables.ts) and answering with a
 * ClaimResponse that carries adjudication amounts and CARC/RARC reason codes.
 *
 * Which payer it behaves as (the rules differ: Medicare wants JW/JZ, Medicaid an NDC, Medicaid
 * and commercial prior authorization...):
 * - `{url}/medicare/fhir`, `{url}/medicaid/fhir`, `{url}/commercial/fhir`: that kind, always;
 * - `{url}/fhir`: the kind named by the Claim's `insurer.identifier.value` in `payerIds`
 *   (default SBX-MEDICARE, SBX-MEDICAID, SBX-COMMERCIAL), else `defaultKind` (default medicare).
 * One authorization server serves all of them (tokens are for `{url}/fhir`, accepted on every base).
 *
 * Each base's endpoints (`$submit`, Claim and ClaimResponse read and search) and how a submission
 * is made idempotent: ./claim-routes.ts; the PAS endpoint `{url}/pas/fhir`: ./pas/server.ts;
 * eligibility (FHIR and X12 270/271): ./eligibility/routes.ts; what starting the payer takes and
 * the behaviour (faults) set at run time: ./options.ts.
 *
 * Replacements (frequency 7) and voids (8) reverse the payment of the original they name (see
 * ./adjudicate.ts); the payer remembers every adjudicated claim for that (./ledger.ts; across
 * restarts with `journal`) and marks the original replaced or voided once reversed, which
 * releases its paid lines.
 */
import express from 'express';
import { createTokenRouter, smartConfiguration } from '../../auth/token-route.ts';
import { loadFhirDefinitions } from '../../fhir/definitions.ts';
import { errorHandler, notFoundHandler, outcome, sendOutcome } from '../../http/outcomes.ts';
import { isoInZone } from '../../time/zone.ts';
import { listenSandbox } from '../listen.ts';
import { registerSandboxClient } from '../register-client.ts';
import { createClaimRouter } from './claim-routes.ts';
import { createEligibilityService } from './eligibility/routes.ts';
import { PayerLedger } from './ledger.ts';
import type {
  SandboxPayer,
  SandboxPayerBehaviour,
  SandboxPayerLogger,
  SandboxPayerOptions,
} from './options.ts';
import { createPasEndpoint } from './pas/server.ts';
import type { PayerKind } from './tables.ts';
import { buildPayerTables } from './tables.ts';

export type { PayerKind } from './tables.ts';

/** Tenant recorded on every client of the sandbox payer. */
export const SANDBOX_PAYER_TENANT = 'sandbox-payer';

/** Payer ids (Claim.insurer.identifier.value) the `/fhir` base recognizes. */
export const DEFAULT_PAYER_IDS: Readonly<Record<string, PayerKind>> = {
  'SBX-MEDICARE': 'medicare',
  'SBX-MEDICAID': 'medicaid',
  'SBX-COMMERCIAL': 'commercial',
};

export type {
  SandboxPayer,
  SandboxPayerBehaviour,
  SandboxPayerLogger,
  SandboxPayerOptions,
} from './options.ts';
export { buildPayerCapabilityStatement } from './capability.ts';

const noopLogger: SandboxPayerLogger = { info: () => undefined, warn: () => undefined };
const KINDS: readonly PayerKind[] = ['medicare', 'medicaid', 'commercial'];
export async function startSandboxPayer(options: SandboxPayerOptions = {}): Promise<SandboxPayer> {
  loadFhirDefinitions();
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? ((): Date => new Date());
  const timeZone = options.timeZone ?? 'UTC';
  isoInZone(now(), timeZone); // a zone Intl does not know fails here, not at the first claim
  const logger = options.logger ?? noopLogger;
  const defaultKind = options.defaultKind ?? 'medicare';
  const payerIds = options.payerIds ?? DEFAULT_PAYER_IDS;
  const tables = buildPayerTables({
    ...(options.costSharing ? { costSharing: options.costSharing } : {}),
    ...(options.timelyFilingDays ? { timelyFilingDays: options.timelyFilingDays } : {}),
  });

  const { server, url, fhirBaseUrl, tokenUrl, authStore, tokenService } = await listenSandbox({
    ...(options.port !== undefined ? { port: options.port } : {}),
    host,
    ...(options.publicUrl !== undefined ? { publicUrl: options.publicUrl } : {}),
    portVariable: 'SANDBOX_PAYER_PORT',
  });

  const ledger = new PayerLedger(options.journal);
  const { responses } = ledger;
  let behaviour: SandboxPayerBehaviour = {};
  const eligibility = createEligibilityService({
    now,
    timeZone,
    payerIds,
    tokenService,
    ...(options.members ? { members: options.members } : {}),
    garble: () => behaviour.garbleEligibility,
  });

  const fhirRouter = createClaimRouter({
    url,
    tokenUrl,
    tokenService,
    now,
    timeZone,
    logger,
    payerIds,
    defaultKind,
    tables,
    ledger,
    eligibility,
    behaviour: () => behaviour,
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(async (_req, res, next) => {
    const { delayMs, unavailable, answerDelayMs } = behaviour;
    if (delayMs !== undefined && delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    if (answerDelayMs !== undefined && answerDelayMs > 0) {
      // Every handler answers through res.end (express's send and json included): hold that.
      const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
      res.end = ((...args: unknown[]) => {
        setTimeout(() => end(...args), answerDelayMs);
        return res;
      }) as typeof res.end;
    }
    if (unavailable === undefined) {
      next();
      return;
    }
    if (unavailable === 503 || unavailable === 429) {
      res.set('Retry-After', '1');
    }
    sendOutcome(res, unavailable, outcome('transient', 'The sandbox payer is unavailable (injected fault)'));
  });
  app.use('/oauth2', createTokenRouter({ authStore, tokenService, tokenUrl, now }));
  app.get('/.well-known/smart-configuration', (_req, res) => {
    res.json(smartConfiguration({ issuer: url, tokenUrl }));
  });
  const pasFhirBaseUrl = `${url}/pas/fhir`;
  const pas = createPasEndpoint({
    base: pasFhirBaseUrl,
    issuer: url,
    tokenUrl,
    tokenService,
    now,
    log: logger,
    ...(options.pas?.policy ? { policy: options.pas.policy } : {}),
    ...(options.pas?.reviewDelayMs !== undefined ? { reviewDelayMs: options.pas.reviewDelayMs } : {}),
    ...(options.pas?.members ? { members: options.pas.members } : {}),
    garble: () => behaviour.garbleSubmitAnswers,
    holdNotifications: () => behaviour.holdPasNotifications === true,
    silenceHeartbeats: () => behaviour.silencePasHeartbeats === true,
    refuseSubscriptionStatus: () => behaviour.refusePasSubscriptionStatus,
    refuseSubscriptionEvents: () => behaviour.refusePasSubscriptionEvents,
    eventsAnswered: () => behaviour.pasEventsAnswered,
    subscriptionsUnavailable: () => behaviour.pasSubscriptionsUnavailable,
    holdSubmitAnswers: () => behaviour.holdPasSubmitAnswersMs,
    holdSubscribeAnswers: () => behaviour.holdPasSubscribeAnswersMs,
    dropSubscribeAnswers: () => behaviour.dropPasSubscribeAnswers === true,
    refuseSubscriptionCreates: () => behaviour.refusePasSubscriptionCreates,
    refuseSubscriptionDeletes: () => behaviour.refusePasSubscriptionDeletes,
    refuseSubscriptionSearch: () => behaviour.refusePasSubscriptionSearch,
  });
  app.use('/pas/fhir', pas.router);
  app.use('/fhir', fhirRouter(undefined, fhirBaseUrl));
  app.use('/x12/eligibility', eligibility.x12);
  for (const kind of KINDS) {
    app.use(`/${kind}/fhir`, fhirRouter(kind, `${url}/${kind}/fhir`));
  }
  app.use(notFoundHandler);
  app.use(errorHandler({ error: (obj, msg) => logger.warn(obj, msg) }));
  server.on('request', app);
  logger.info({ url, fhirBaseUrl }, 'sandbox payer listening');

  return {
    url,
    fhirBaseUrl,
    tokenUrl,
    pasFhirBaseUrl,
    pas,
    x12EligibilityUrl: `${url}/x12/eligibility`,
    setEnrollment: (members) => eligibility.setEnrollment(members),
    eligibilityCounts: () => ({ ...eligibility.counts }),
    registerClient(input) {
      return registerSandboxClient(authStore, SANDBOX_PAYER_TENANT, input, now());
    },
    claimResponses: () => Promise.resolve([...responses.values()].map((r) => structuredClone(r))),
    setBehaviour(next) {
      behaviour = { ...next };
    },
    async stop() {
      pas.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
