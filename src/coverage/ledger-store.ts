/**
 * A patient's authorization ledger read from the tenant's store: the preauthorization
 * ClaimResponses and the requests they answer, every ChargeItem and Claim of the patient, the
 * primary coverage's configured payer, and the visits the EHR has booked (Encounters `planned` or
 * `arrived` from today on, in the tenant's zone). The same reads for the API, the CLI and the
 * ledger worker; the counting is ./ledger.ts's.
 */
import type { ChargeItem, Claim, ClaimResponse, Coverage, Encounter, Organization } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../config/billing.ts';
import type { TenantConfig } from '../config/config.ts';
import { tenantCalendarZone, tenantTimeZone } from '../config/config.ts';
import type { Store, StoreFilter, StoredResource } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { normalizeReference } from '../store/search-index.ts';
import { localDate, serviceDate } from '../time/zone.ts';
import { authorizationsOf } from './authorizations.ts';
import type { AuthorizationLedger } from './ledger.ts';
import { authorizationLedger } from './ledger.ts';
import type { ScheduledVisit } from './ledger-alerts.ts';
import { coveragesInOrder } from './coverage-order.ts';
import { matchPayer } from './payer-match.ts';
import { readOptional } from '../store/read-optional.ts';

/** Encounter statuses of a visit still to come (FHIR R4 encounter-status). */
const BOOKED = ['planned', 'arrived'];

export interface PatientLedger {
  /** "Patient/{id}". */
  readonly patient: string;
  readonly today: string;
  readonly ledger: AuthorizationLedger;
  readonly scheduled: readonly ScheduledVisit[];
  /** The configured payer of the primary coverage, when one matches. */
  readonly payer?: PayerEndpoint;
  /** Every resource read ("Type/id"), for the audit of whoever asked. */
  readonly read: readonly string[];
}

const byRef = (code: string, value: string): StoreFilter[] => [{ code, kind: 'reference', values: [value] }];

/** "Patient/{id}" from what a person typed ("Patient/x" or "x"), or undefined when it is not an id. */
export function patientReference(input: string): string | undefined {
  const id = input.startsWith('Patient/') ? input.slice('Patient/'.length) : input;
  return /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? `Patient/${id}` : undefined;
}

export async function loadPatientLedger(
  store: Pick<Store, 'resources'>,
  config: TenantConfig,
  patient: string,
  now: Date,
): Promise<PatientLedger> {
  const tenant = config.id;
  const today = localDate(now, tenantCalendarZone(config));
  const responses = (
    await searchAll<ClaimResponse>(store, tenant, 'ClaimResponse', byRef('patient', patient))
  ).filter((r) => r.use === 'preauthorization');
  const requests: (Claim & StoredResource)[] = [];
  for (const response of responses) {
    const ref = normalizeReference(response.request?.reference ?? '');
    if (ref?.startsWith('Claim/')) {
      const request = await readOptional<Claim>(store, tenant, 'Claim', ref.slice('Claim/'.length));
      if (request) {
        requests.push(request);
      }
    }
  }
  const charges = await searchAll<ChargeItem>(store, tenant, 'ChargeItem', byRef('patient', patient));
  const claims = (await searchAll<Claim>(store, tenant, 'Claim', byRef('patient', patient))).filter(
    (c) => c.use === 'claim',
  );
  const coverages = coveragesInOrder(
    await searchAll<Coverage>(store, tenant, 'Coverage', byRef('beneficiary', patient)),
  );
  const primary = coverages[0];
  const payorRef = primary?.payor
    ?.map((p) => normalizeReference(p.reference ?? ''))
    .find((r) => r?.startsWith('Organization/'));
  const organization = payorRef
    ? await readOptional<Organization>(store, tenant, 'Organization', payorRef.slice('Organization/'.length))
    : undefined;
  const payer = matchPayer(config.payers, primary, organization);
  const encounters = await searchAll<Encounter>(store, tenant, 'Encounter', [
    ...byRef('patient', patient),
    { code: 'status', kind: 'token', values: BOOKED.map((value) => ({ value })) },
  ]);
  const zone = tenantTimeZone(config);
  const scheduled = encounters
    .filter((e) => e.period?.start)
    .map((e) => ({ encounter: `Encounter/${e.id}`, date: serviceDate(e.period?.start ?? '', zone) }))
    .filter((v) => v.date >= today);
  const ledger = authorizationLedger({
    authorizations: authorizationsOf(responses, requests),
    charges,
    claims,
    ...(payer ? { defaultPayerId: payer.payerId } : {}),
    today,
  });
  const read = [
    ...responses,
    ...requests,
    ...charges,
    ...claims,
    ...coverages,
    ...(organization ? [organization] : []),
    ...encounters,
  ].map((r) => `${r.resourceType}/${r.id}`);
  return { patient, today, ledger, scheduled, ...(payer ? { payer } : {}), read };
}
