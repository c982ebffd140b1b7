/**
 * How the claim workflow talks to a FHIR-channel payer: `Claim/$submit` through the SMART Backend
 * Services client of src/ehr/ehr-client.ts (Dripline is the payer's client).
 *
 * Idempotency: `createEhrClient`'s `operation()` cannot send extra request headers (its
 * OperationOptions carry method, body and params only), so no `Idempotency-Key` header goes out.
 * Instead the submission key (claim id + the version that became `ready`) travels in the Claim
 * itself as `Claim.identifier` (system ID_CLAIM_SUBMISSION), and before any re-submission the
 * workflow asks the payer for a ClaimResponse to that submission (`ClaimResponse?identifier=system|key`,
 * then, for payers without that search, `?request=Claim/{id}` minus the answers already recorded for
 * earlier submissions of the same claim). Payers that key idempotency on the Claim's identifiers
 * (the sandbox payer does: every identifier + Idempotency-Key, the header being empty here) answer
 * a resent identical body with the same ClaimResponse, and a fixed claim resubmitted under a new
 * submission key as a new submission.
 * The client makes one attempt per call: retries are the job queue's (with backoff), so a
 * timed-out POST is never blindly repeated in-process.
 */
import { normalizeErrorString, validateResource } from '@medplum/core';
import type { Bundle, Claim, ClaimResponse, Resource } from '@medplum/fhirtypes';
import { createEhrClient } from '../ehr/ehr-client.ts';
import { EhrRequestError } from '../ehr/errors.ts';
import type { EhrClient } from '../ehr/ehr-client.ts';
import type { PayerEndpoint } from '../config/billing.ts';
import { ID_CLAIM_SUBMISSION } from '../contract/canonical.ts';

/**
 * The payer answered `$submit` successfully (2xx) but not with a valid ClaimResponse (not JSON, another
 * resource, or a ClaimResponse that fails FHIR validation). Retryable: the payer may well have
 * taken the claim, and the retry asks it for its ClaimResponse to the submission key before sending
 * anything again.
 */
export class PayerAnswerInvalidError extends Error {
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'PayerAnswerInvalidError';
  }
}

export interface PayerPort {
  /**
   * POST Claim/$submit; resolves with the payer's ClaimResponse. Throws EhrError subclasses. With
   * `resources` (Patient, Coverages) the body is a PAS-style collection Bundle, the Claim first.
   */
  submit(claim: Claim, idempotencyKey: string, resources?: readonly Resource[]): Promise<ClaimResponse>;
  /** The payer's ClaimResponse to an earlier submission with this key, if the payer has one. */
  findSubmitted(
    claim: Claim,
    idempotencyKey: string,
    /** Payer ids of ClaimResponses already recorded for earlier submissions of this claim. */
    answered?: ReadonlySet<string>,
  ): Promise<ClaimResponse | undefined>;
}

export interface FhirPayerPortOptions {
  /** Per-attempt timeout (default 15 s). */
  readonly timeoutMs?: number;
  /** Clock for the SMART client's assertions and token expiry (default: the system clock). */
  readonly now?: () => Date;
}

/** A PayerPort over SMART Backend Services + fhir-kit-client; throws when the payer has no FHIR endpoint. */
export function createFhirPayerPort(payer: PayerEndpoint, options: FhirPayerPortOptions = {}): PayerPort {
  if (!payer.fhirBaseUrl || !payer.clientId || !payer.privateKeyJwk) {
    throw new TypeError(`payer ${payer.id}: the FHIR channel needs fhirBaseUrl, clientId and privateKeyJwk`);
  }
  const client: EhrClient = createEhrClient({
    connection: {
      id: `payer-${payer.id}`,
      fhirBaseUrl: payer.fhirBaseUrl,
      ...(payer.tokenUrl ? { tokenUrl: payer.tokenUrl } : {}),
      clientId: payer.clientId,
      privateKeyJwk: payer.privateKeyJwk,
      scope: payer.scope ?? 'system/Claim.c system/ClaimResponse.rs',
    },
    maxAttempts: 1,
    timeoutMs: options.timeoutMs ?? 15_000,
    ...(options.now ? { now: options.now } : {}),
  });
  return {
    async submit(claim, _key, resources = []) {
      const body: Claim | Bundle =
        resources.length === 0
          ? claim
          : {
              resourceType: 'Bundle',
              type: 'collection',
              entry: [claim, ...resources].map((resource) => ({
                fullUrl: `urn:uuid:${resource.resourceType}-${resource.id ?? ''}`,
                resource,
              })),
            };
      let answer: unknown;
      try {
        answer = await client.operation<ClaimResponse>('Claim/$submit', { method: 'POST', body });
      } catch (err) {
        // Status 0: a 2xx whose body could not be used (not JSON); a refusal keeps its own status.
        if (err instanceof EhrRequestError && err.status === 0) {
          throw new PayerAnswerInvalidError(
            `the payer's answer to Claim/$submit is unusable: ${err.message}`,
          );
        }
        throw err;
      }
      return validClaimResponse(responseOf(answer));
    },
    async findSubmitted(claim, key, answered = new Set<string>()) {
      const searches: Record<string, string>[] = [
        { identifier: `${ID_CLAIM_SUBMISSION}|${key}` },
        ...(claim.id ? [{ request: `Claim/${claim.id}` }] : []),
      ];
      for (const params of searches) {
        try {
          const bundle = await client.search<ClaimResponse>('ClaimResponse', params);
          const found = (bundle.entry ?? [])
            .map((e) => e.resource)
            .find(
              (r): r is ClaimResponse => r?.resourceType === 'ClaimResponse' && !answered.has(r.id ?? ''),
            );
          if (found) {
            return validClaimResponse(found);
          }
        } catch (err) {
          // A payer that does not support the search says 4xx: try the next form, then "none".
          // Unavailability (5xx, timeout) propagates: the job is retried and nothing is resubmitted.
          if (!(err instanceof EhrRequestError) && (err as { status?: number }).status !== 404) {
            throw err;
          }
        }
      }
      return undefined;
    },
  };
}

/** The ClaimResponse, checked against the FHIR R4 definitions; PayerAnswerInvalidError when it fails. */
export function validClaimResponse(response: ClaimResponse): ClaimResponse {
  try {
    validateResource(response);
  } catch (err) {
    throw new PayerAnswerInvalidError(
      `the payer's ClaimResponse is not valid FHIR: ${normalizeErrorString(err)}`.slice(0, 500),
    );
  }
  return response;
}

/** The ClaimResponse in a $submit answer (the resource itself, or the first one in a Bundle). */
export function responseOf(answer: unknown): ClaimResponse {
  const resource = answer as { resourceType?: string; entry?: { resource?: { resourceType?: string } }[] };
  if (resource?.resourceType === 'ClaimResponse') {
    return resource as ClaimResponse;
  }
  if (resource?.resourceType === 'Bundle') {
    const found = (resource.entry ?? [])
      .map((e) => e.resource)
      .find((r) => r?.resourceType === 'ClaimResponse');
    if (found) {
      return found as ClaimResponse;
    }
  }
  throw new PayerAnswerInvalidError(
    `the payer answered Claim/$submit with ${resource?.resourceType ?? 'something'} instead of a ClaimResponse`,
  );
}
