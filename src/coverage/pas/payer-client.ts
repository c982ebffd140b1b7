/**
 * Dripline as a PAS client of a payer (Da Vinci PAS 2.2.1 §1.1: `Claim/$submit`, `Claim/$inquire`,
 * Subscription), as its SMART Backend Services client: the same token machinery the claims
 * capability uses for `Claim/$submit` (src/ehr/token-provider.ts: client_credentials with a
 * private_key_jwt assertion, tokens cached until shortly before they expire), one attempt per call.
 *
 * Every answer comes back with its HTTP status and its exact text, so it can be kept as received.
 * A 401 is retried once with a new token. Unavailability (network, timeout, 429, 5xx) throws
 * PasPayerUnavailable: retryable, the job queue's backoff decides when (PAS spec-35: 5xx is
 * temporary); the same bytes go out again, so a request is never sent twice with different content.
 * Any other answer — 2xx, or a 4xx refusal with its OperationOutcome — is returned to be read.
 */
import type { Resource } from '@medplum/fhirtypes';
import { createTokenProvider } from '../../ehr/token-provider.ts';
import type { TokenProvider } from '../../ehr/token-provider.ts';
import type { PayerEndpoint } from '../../config/billing.ts';

export interface PayerAnswer {
  readonly status: number;
  /** The body as received. */
  readonly text: string;
  /** The body parsed, when it is JSON. */
  readonly body?: unknown;
  readonly contentType?: string;
}

export class PasPayerUnavailable extends Error {
  readonly retryable = true;
  /** The payer's HTTP status (429, 5xx); absent when no answer came (network, timeout, reset). */
  readonly status?: number;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'PasPayerUnavailable';
    if (status !== undefined) {
      this.status = status;
    }
  }
}

export interface PasPayerPort {
  /** POST `Claim/$submit` with these exact bytes (a PAS Request Bundle). */
  submit(body: string): Promise<PayerAnswer>;
  /** POST `Claim/$inquire` (a PAS Inquiry Bundle). */
  inquire(body: Resource): Promise<PayerAnswer>;
  createSubscription(body: Resource): Promise<PayerAnswer>;
  readSubscription(id: string): Promise<PayerAnswer>;
  /** DELETE `Subscription/{id}` (PAS servers expose Subscription create, update and delete). */
  deleteSubscription(id: string): Promise<PayerAnswer>;
  /** GET `Subscription?{query}` (Backport R4 server: search by `url`, the channel endpoint). */
  searchSubscriptions(query: Readonly<Record<string, string>>): Promise<PayerAnswer>;
  /** GET `Subscription/{id}/$status` (Backport IG: a searchset Bundle of its SubscriptionStatus). */
  subscriptionStatus(id: string): Promise<PayerAnswer>;
  /**
   * GET `Subscription/{id}/$events` for the events numbered `from` through `to`, full-resource
   * (Backport IG: a notification Bundle of those the payer still has; a MAY, so often refused).
   */
  subscriptionEvents(id: string, range: { readonly from: number; readonly to: number }): Promise<PayerAnswer>;
}

export const DEFAULT_PAS_SCOPE = 'system/Claim.cr system/ClaimResponse.rs system/Subscription.cruds';

export interface PasPayerOptions {
  readonly now?: () => Date;
  /** Per-call timeout (default 15 s: PAS spec-7 asks payers to answer within 15 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** The PAS port of a payer configured with `pas` (its endpoint) and SMART credentials. */
export function createPasPayerPort(payer: PayerEndpoint, options: PasPayerOptions = {}): PasPayerPort {
  const pas = payer.pas;
  if (!pas || !payer.clientId || !payer.privateKeyJwk) {
    throw new TypeError(`payer ${payer.id}: PAS needs pas.fhirBaseUrl, clientId and privateKeyJwk`);
  }
  const base = pas.fhirBaseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 15_000;
  const doFetch = options.fetch ?? fetch;
  const tokens: TokenProvider = createTokenProvider({
    clientId: payer.clientId,
    privateKeyJwk: payer.privateKeyJwk,
    fhirBaseUrl: base,
    scope: pas.scope ?? DEFAULT_PAS_SCOPE,
    ...((pas.tokenUrl ?? payer.tokenUrl) ? { tokenUrl: pas.tokenUrl ?? payer.tokenUrl } : {}),
    ...(options.now ? { now: options.now } : {}),
    timeoutMs,
  });

  async function call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: string): Promise<PayerAnswer> {
    for (let attempt = 0; ; attempt++) {
      const token = await tokens.getToken().catch((err: unknown) => {
        if ((err as { retryable?: boolean }).retryable === false) {
          throw err;
        }
        throw new PasPayerUnavailable(`payer ${payer.id}: no access token (${(err as Error).message})`);
      });
      let res: Response;
      try {
        res = await doFetch(`${base}/${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/fhir+json',
            ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
          },
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw new PasPayerUnavailable(
          `payer ${payer.id}: ${method} ${path.split('?')[0] ?? ''} failed (${(err as Error).name})`,
        );
      }
      const text = await res.text().catch(() => '');
      if (res.status === 401 && attempt === 0) {
        tokens.invalidate(token);
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        throw new PasPayerUnavailable(
          `payer ${payer.id}: ${method} ${path.split('?')[0] ?? ''} answered ${res.status}`,
          res.status,
        );
      }
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const contentType = res.headers.get('content-type') ?? undefined;
      return {
        status: res.status,
        text,
        ...(parsed !== undefined ? { body: parsed } : {}),
        ...(contentType ? { contentType } : {}),
      };
    }
  }

  return {
    submit: (body) => call('POST', 'Claim/$submit', body),
    inquire: (body) => call('POST', 'Claim/$inquire', JSON.stringify(body)),
    createSubscription: (body) => call('POST', 'Subscription', JSON.stringify(body)),
    readSubscription: (id) => call('GET', `Subscription/${encodeURIComponent(id)}`),
    deleteSubscription: (id) => call('DELETE', `Subscription/${encodeURIComponent(id)}`),
    searchSubscriptions: (query) => call('GET', `Subscription?${new URLSearchParams(query).toString()}`),
    subscriptionStatus: (id) => call('GET', `Subscription/${encodeURIComponent(id)}/$status`),
    subscriptionEvents: (id, range) =>
      call(
        'GET',
        `Subscription/${encodeURIComponent(id)}/$events?${new URLSearchParams({
          eventsSinceNumber: String(range.from),
          eventsUntilNumber: String(range.to),
          content: 'full-resource',
        }).toString()}`,
      ),
  };
}
