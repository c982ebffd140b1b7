/**
 * The sandbox payer's eligibility over HTTP, behind its own authorization server (scope
 * `CoverageEligibilityRequest` create, e.g. `system/CoverageEligibilityRequest.c`):
 * - `POST [fhir base]/CoverageEligibilityRequest/$submit` (./fhir.ts), mounted by the payer's FHIR
 *   router on every base;
 * - `POST {url}/x12/eligibility` with a 270 interchange (`application/edi-x12`), answered with a 271
 *   (./x12-payer.ts) — the one X12 payer, as a CAQH CORE real-time endpoint with OAuth 2.0.
 * Both answer from the enrollment the sandbox hands in (setEnrollment) and the day's clock.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { getAuthContext, requireBearer, requireScope } from '../../../auth/bearer.ts';
import type { TokenService } from '../../../auth/token-service.ts';
import { FHIR_JSON, outcome, sendOutcome } from '../../../http/outcomes.ts';
import { isoInZone } from '../../../time/zone.ts';
import { EDI_X12 } from '../../../x12/interchange.ts';
import type { PayerKind } from '../tables.ts';
import { PRIOR_AUTH_REQUIRED } from '../tables.ts';
import type { SandboxMember } from './enrollment.ts';
import { Enrollment } from './enrollment.ts';
import { submitEligibility } from './fhir.ts';
import { read270, write271 } from './x12-payer.ts';

const MAX_270_BYTES = 1024 * 1024;

export interface EligibilityServiceOptions {
  readonly now: () => Date;
  readonly timeZone: string;
  readonly payerIds: Readonly<Record<string, PayerKind>>;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly members?: readonly SandboxMember[];
  /** Injected fault for the 271s (the FHIR answers are not garbled). */
  readonly garble: () => 'unknown-segment' | 'broken-envelope' | undefined;
}

export interface EligibilityService {
  /** The FHIR `$submit` handler (behind the FHIR router's bearer check). */
  fhirSubmit(req: Request, res: Response, forced: PayerKind | undefined): void;
  /** The X12 endpoint's router (bearer check included), mounted at `/x12/eligibility`. */
  readonly x12: Router;
  setEnrollment(members: readonly SandboxMember[]): void;
  readonly counts: { fhir: number; x12: number };
}

export function createEligibilityService(options: EligibilityServiceOptions): EligibilityService {
  let enrollment = new Enrollment(options.members ?? []);
  let controlNumber = 0;
  const counts = { fhir: 0, x12: 0 };
  const payerName = (payerId: string): string => `Sandbox ${options.payerIds[payerId] ?? 'unknown'} payer`;
  const kindFor =
    (forced: PayerKind | undefined) =>
    (payerId: string): PayerKind | undefined =>
      forced ?? (Object.hasOwn(options.payerIds, payerId) ? options.payerIds[payerId] : undefined);

  const x12 = express.Router();
  x12.use(requireBearer(options.tokenService, { now: options.now }));
  x12.post('/', express.text({ type: () => true, limit: MAX_270_BYTES }), async (req, res) => {
    requireScope(getAuthContext(res), 'CoverageEligibilityRequest', 'create');
    const type = req.get('content-type') ?? '';
    if (!type.toLowerCase().startsWith(EDI_X12)) {
      sendOutcome(res, 415, outcome('not-supported', `Send a 270 interchange as ${EDI_X12}`));
      return;
    }
    const body = typeof req.body === 'string' ? req.body : '';
    const read = await read270(body);
    if (!read.ok) {
      sendOutcome(res, 400, outcome('invalid', `Not a 005010X279A1 270: ${read.problem}`.slice(0, 500)));
      return;
    }
    const now = options.now();
    controlNumber = (controlNumber % 999_999_999) + 1;
    const garble = options.garble();
    const text = await write271(read, {
      enrollment,
      kindOf: kindFor(undefined),
      payerName,
      today: isoInZone(now, options.timeZone).slice(0, 10),
      now,
      controlNumber,
      ...(garble ? { garble } : {}),
    });
    counts.x12++;
    res.status(200).type(EDI_X12).send(text);
  });

  return {
    fhirSubmit(req, res, forced) {
      requireScope(getAuthContext(res), 'CoverageEligibilityRequest', 'create');
      const now = options.now();
      const result = submitEligibility(req.body, {
        enrollment,
        kindOf: kindFor(forced),
        payerName,
        priorAuthRequired: PRIOR_AUTH_REQUIRED,
        today: isoInZone(now, options.timeZone).slice(0, 10),
        created: isoInZone(now, options.timeZone),
      });
      if (!result.ok) {
        res.status(400).type(FHIR_JSON).send(JSON.stringify(result.outcome));
        return;
      }
      counts.fhir++;
      res.status(200).type(FHIR_JSON).send(JSON.stringify(result.response));
    },
    x12,
    setEnrollment(members) {
      enrollment = new Enrollment(members);
    },
    counts,
  };
}
