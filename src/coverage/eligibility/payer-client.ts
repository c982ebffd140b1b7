/**
 * Dripline as a payer's eligibility client, as its SMART Backend Services client (the token
 * machinery of src/ehr/token-provider.ts: client_credentials with a private_key_jwt assertion,
 * tokens cached until shortly before they expire), one attempt per call:
 * - FHIR: `POST [base]/CoverageEligibilityRequest/$submit` with a Bundle holding the request and the
 *   resources it references (FHIR R4 operation CoverageEligibilityRequest-submit,
 *   hl7.org/fhir/R4/operation-coverageeligibilityrequest-submit.html); the answer is a
 *   CoverageEligibilityResponse (or a Bundle holding one) or an OperationOutcome;
 * - X12: `POST [url]` with a 005010X279A1 270 interchange (`application/edi-x12`), answered in real
 *   time with a 271 (the CAQH CORE real-time exchange, with OAuth 2.0 client credentials).
 *
 * The exact bytes are sent, and the answer comes back with its status and exact text, to be kept as
 * received. A 401 is retried once with a new token. Unavailability (network, timeout, 429, 5xx)
 * throws EligibilityPayerUnavailable, retryable: the job queue's backoff decides when, and the same
 * bytes go out again. Any other answer is returned to be read.
 */
import type { PayerEndpoint } from '../../config/billing.ts';
import { createTokenProvider } from '../../ehr/token-provider.ts';
import type { TokenProvider } from '../../ehr/token-provider.ts';
import { EDI_X12 } from '../../x12/interchange.ts';

export const DEFAULT_ELIGIBILITY_SCOPE = 'system/CoverageEligibilityRequest.c';

/** Where and how a payer answers eligibility, with the credentials to ask. */
export interface EligibilityEndpoint {
  /** The tenant's payer slug. */
  readonly payer: string;
  readonly channel: 'fhir' | 'x12';
  /** FHIR base, or the URL a 270 is POSTed to. */
  readonly url: string;
  readonly tokenUrl?: string;
  readonly clientId: string;
  readonly privateKeyJwk: Readonly<Record<string, unknown>>;
  readonly scope: string;
  /** X12: ISA08/GS03 and the 2100A payer id. */
  readonly receiverId: string;
  /** ISA15. */
  readonly usage: 'P' | 'T';
}

/**
 * A payer's eligibility endpoint: its `eligibility` block, else its FHIR claim endpoint; undefined
 * when it has neither (or no credentials to ask with).
 */
export function eligibilityEndpointOf(payer: PayerEndpoint): EligibilityEndpoint | undefined {
  const own = payer.eligibility;
  const channel = own?.channel ?? (payer.channel === 'fhir' ? 'fhir' : undefined);
  const url = own?.url ?? (channel === 'fhir' ? payer.fhirBaseUrl : undefined);
  const clientId = own?.clientId ?? payer.clientId;
  const privateKeyJwk = own?.privateKeyJwk ?? payer.privateKeyJwk;
  if (!channel || !url || !clientId || !privateKeyJwk) {
    return undefined;
  }
  const tokenUrl = own?.tokenUrl ?? (own?.url === undefined ? payer.tokenUrl : undefined);
  return {
    payer: payer.id,
    channel,
    url: url.replace(/\/+$/, ''),
    ...(tokenUrl ? { tokenUrl } : {}),
    clientId,
    privateKeyJwk,
    scope: own?.scope ?? DEFAULT_ELIGIBILITY_SCOPE,
    receiverId: own?.receiverId ?? payer.payerId,
    usage: payer.usage ?? 'P',
  };
}

export interface PayerAnswer {
  readonly status: number;
  /** The body as received. */
  readonly text: string;
  readonly contentType?: string;
}

export class EligibilityPayerUnavailable extends Error {
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'EligibilityPayerUnavailable';
  }
}

export interface EligibilityPayerPort {
  /** Sends these exact bytes (a FHIR Bundle, or a 270 interchange) and returns the answer as received. */
  send(body: string): Promise<PayerAnswer>;
}

export interface EligibilityPortOptions {
  readonly now?: () => Date;
  /** Per-call timeout (default 15 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export function createEligibilityPayerPort(
  endpoint: EligibilityEndpoint,
  options: EligibilityPortOptions = {},
): EligibilityPayerPort {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const doFetch = options.fetch ?? fetch;
  const tokens: TokenProvider = createTokenProvider({
    clientId: endpoint.clientId,
    privateKeyJwk: endpoint.privateKeyJwk,
    fhirBaseUrl: endpoint.url,
    scope: endpoint.scope,
    ...(endpoint.tokenUrl ? { tokenUrl: endpoint.tokenUrl } : {}),
    ...(options.now ? { now: options.now } : {}),
    timeoutMs,
  });
  const target =
    endpoint.channel === 'fhir' ? `${endpoint.url}/CoverageEligibilityRequest/$submit` : endpoint.url;
  const contentType = endpoint.channel === 'fhir' ? 'application/fhir+json' : EDI_X12;
  const accept = endpoint.channel === 'fhir' ? 'application/fhir+json' : EDI_X12;
  const what = `payer ${endpoint.payer}: ${endpoint.channel === 'fhir' ? 'CoverageEligibilityRequest/$submit' : '270'}`;
  return {
    async send(body) {
      for (let attempt = 0; ; attempt++) {
        const token = await tokens.getToken().catch((err: unknown) => {
          if ((err as { retryable?: boolean }).retryable === false) {
            throw err;
          }
          throw new EligibilityPayerUnavailable(`${what}: no access token (${(err as Error).message})`);
        });
        let res: Response;
        try {
          res = await doFetch(target, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, accept, 'content-type': contentType },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (err) {
          throw new EligibilityPayerUnavailable(`${what} failed (${(err as Error).name})`);
        }
        const text = await res.text().catch(() => '');
        if (res.status === 401 && attempt === 0) {
          tokens.invalidate(token);
          continue;
        }
        if (res.status === 429 || res.status >= 500) {
          throw new EligibilityPayerUnavailable(`${what} answered ${res.status}`);
        }
        const type = res.headers.get('content-type') ?? undefined;
        return { status: res.status, text, ...(type ? { contentType: type } : {}) };
      }
    },
  };
}
