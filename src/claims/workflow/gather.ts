/**
 * Gathering a claim's inputs: everything a claim of some encounters is built and scrubbed from, read
 * from the tenant's store; its fingerprint (the versions read: a claim whose inputs changed is
 * rebuilt); the configured payer of the primary coverage; and the ClaimContext the scrubber and the
 * X12 writer read.
 */
import type {
  ChargeItem,
  Claim,
  ClaimResponse,
  Condition,
  Coverage,
  Encounter,
  Medication,
  MedicationAdministration,
  MedicationRequest,
  Organization,
  Patient,
  Practitioner,
  RelatedPerson,
  Resource,
} from '@medplum/fhirtypes';
import { settingOf } from '../../coding/fhir/extract.ts';
import type { CareSetting } from '../../coding/types.ts';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import type { Authorization } from '../../coverage/authorizations.ts';
import { authorizationsOf } from '../../coverage/authorizations.ts';
import { coveragesInOrder } from '../../coverage/coverage-order.ts';
import { matchPayer } from '../../coverage/payer-match.ts';
import type { EligibilityAnswer } from '../../coverage/eligibility/records.ts';
import { latestAnswers } from '../../coverage/eligibility/records.ts';
import type { StoredResource, TenantId } from '../../store/port.ts';
import { normalizeReference } from '../../store/search-index.ts';
import { localDate } from '../../time/zone.ts';
import { loadAttending } from '../attending.ts';
import { otherSubscriberOf } from '../../x12/837/subscriber.ts';
import type { ClaimContext } from '../types.ts';
import type { WorkflowContext } from './context.ts';
import { byRef, refOf } from './context.ts';
import { claimPayerOf, sha } from './identity.ts';

/** What a claim is built and scrubbed from (gatherClaimInputs). */
export interface Gathered {
  readonly encounters: (Encounter & StoredResource)[];
  readonly chargeItems: (ChargeItem & StoredResource)[];
  readonly patient?: Patient & StoredResource;
  readonly coverages: (Coverage & StoredResource)[];
  /** Who the primary coverage's `subscriber` names, when it is not the patient and is on file. */
  readonly subscriber?: (Patient | RelatedPerson) & StoredResource;
  readonly payer?: PayerEndpoint;
  readonly payerOrganization?: Organization & StoredResource;
  readonly conditions: (Condition & StoredResource)[];
  readonly administrations: (MedicationAdministration & StoredResource)[];
  readonly medications: (Medication & StoredResource)[];
  readonly otherClaims: (Claim & StoredResource)[];
  /** The patient's stored preauthorization ClaimResponses and the authorizations they grant. */
  readonly authorizationResponses: (ClaimResponse & StoredResource)[];
  readonly authorizations: Authorization[];
  /** The patient's billable charges on every encounter (the authorization ledger counts them). */
  readonly patientCharges: (ChargeItem & StoredResource)[];
  /** The latest eligibility answer per coverage of the patient ("Coverage/id"), when one was asked. */
  readonly eligibility: ReadonlyMap<string, EligibilityAnswer>;
  readonly setting?: CareSetting;
  /** Institutional claims: the attending practitioner (../attending.ts) and the orders read to find it. */
  readonly attending?: Practitioner & StoredResource;
  readonly orders: (MedicationRequest & StoredResource)[];
}

/**
 * What a claim is built and scrubbed from, as one hash of resource versions. Other claims (read for
 * the duplicate check) are left out: their churn is not a change of this claim's inputs.
 */
export function inputsFingerprint(g: Gathered): string {
  const resources: (Resource & StoredResource)[] = [
    ...g.encounters,
    ...g.chargeItems,
    ...g.administrations,
    ...g.conditions,
    ...g.coverages,
    ...g.medications,
    ...g.authorizationResponses,
    // Other visits' charges change what is left of an authorization this claim uses.
    ...ledgerRelevant(g),
    ...[...g.eligibility.values()].map((a) => a.response),
    ...(g.patient ? [g.patient] : []),
    ...(g.subscriber ? [g.subscriber] : []),
    ...(g.attending ? [g.attending] : []),
    ...g.orders,
    ...(g.payerOrganization ? [g.payerOrganization] : []),
  ];
  return sha(
    resources
      .map((r) => `${r.resourceType}/${r.id}/${r.meta.versionId}`)
      .sort()
      .join(','),
  );
}

/** The patient's charges of codes an authorization on file names (all of them when one names no code). */
function ledgerRelevant(g: Gathered): (ChargeItem & StoredResource)[] {
  if (g.authorizations.length === 0) {
    return [];
  }
  const own = new Set(g.chargeItems.map((c) => c.id));
  const anyCode = g.authorizations.some((a) => a.services.length === 0);
  const codes = new Set(g.authorizations.flatMap((a) => a.services.map((s) => s.code)));
  return g.patientCharges.filter(
    (c) =>
      !own.has(c.id) && (anyCode || codes.has(c.code.coding?.find((x) => x.code)?.code?.toUpperCase() ?? '')),
  );
}

/**
 * Everything a claim of these encounters is built and scrubbed from, as stored now: the encounters,
 * their billable (and held) charges and administrations, the patient, coverages and the insured,
 * the payer (the claim's, else the one matching the primary coverage), diagnoses, medications, the
 * patient's other claims, prior authorizations on file, and for hospital claims the attending.
 */
export async function gatherClaimInputs(
  ctx: WorkflowContext,
  tenant: TenantId,
  config: TenantConfig,
  encounterRefs: readonly string[],
  claim: (Claim & StoredResource) | undefined,
): Promise<Gathered> {
  const encounters: (Encounter & StoredResource)[] = [];
  for (const ref of encounterRefs) {
    const id = (normalizeReference(ref) ?? ref).split('/')[1] ?? '';
    const encounter = await ctx.read<Encounter>(tenant, 'Encounter', id);
    if (encounter) {
      encounters.push(encounter);
    }
  }
  const chargeItems: (ChargeItem & StoredResource)[] = [];
  const administrations: (MedicationAdministration & StoredResource)[] = [];
  const conditionRefs = new Set<string>();
  for (const encounter of encounters) {
    const ref = `Encounter/${encounter.id}`;
    chargeItems.push(
      ...(await ctx.searchAll<ChargeItem>(tenant, 'ChargeItem', byRef('encounter', ref))).filter(
        (c) => c.status === 'billable' || c.status === 'planned',
      ),
    );
    administrations.push(
      ...(await ctx.searchAll<MedicationAdministration>(
        tenant,
        'MedicationAdministration',
        byRef('encounter', ref),
      )),
    );
    for (const d of encounter.diagnosis ?? []) {
      const c = refOf(d.condition);
      if (c) {
        conditionRefs.add(c);
      }
    }
    for (const r of encounter.reasonReference ?? []) {
      const c = refOf(r);
      if (c?.startsWith('Condition/')) {
        conditionRefs.add(c);
      }
    }
  }
  const patientRef = refOf(encounters[0]?.subject) ?? refOf(claim?.patient);
  const patient = patientRef
    ? await ctx.read<Patient>(tenant, 'Patient', patientRef.split('/')[1] ?? '')
    : undefined;
  const conditions: (Condition & StoredResource)[] = [];
  for (const ref of conditionRefs) {
    const c = await ctx.read<Condition>(tenant, 'Condition', ref.split('/')[1] ?? '');
    if (c) {
      conditions.push(c);
    }
  }
  if (patientRef) {
    for (const c of await ctx.searchAll<Condition>(tenant, 'Condition', byRef('patient', patientRef))) {
      if (!conditions.some((x) => x.id === c.id)) {
        conditions.push(c);
      }
    }
  }
  const medicationIds = new Set(
    administrations
      .map((a) => refOf(a.medicationReference))
      .filter((r): r is string => r?.startsWith('Medication/') === true),
  );
  const medications: (Medication & StoredResource)[] = [];
  for (const ref of medicationIds) {
    const m = await ctx.read<Medication>(tenant, 'Medication', ref.split('/')[1] ?? '');
    if (m) {
      medications.push(m);
    }
  }
  const coverages = patientRef
    ? coveragesInOrder(await ctx.searchAll<Coverage>(tenant, 'Coverage', byRef('beneficiary', patientRef)))
    : [];
  const insured = otherSubscriberOf(coverages[0], patientRef);
  const subscriber = insured
    ? await ctx.read<Patient | RelatedPerson>(tenant, insured.type, insured.id)
    : undefined;
  const otherClaims = patientRef
    ? await ctx.searchAll<Claim>(tenant, 'Claim', byRef('patient', patientRef))
    : [];
  const { payer, organization } = await payerOf(ctx, tenant, config, coverages, claim);
  const setting = encounters.map((e) => settingOf(e)).find((s) => s !== undefined);
  const { attending, requests: orders } =
    setting === 'hospital-outpatient'
      ? await loadAttending((type, id) => ctx.read(tenant, type, id), encounters, administrations)
      : { requests: [] };
  const authorizationResponses = patientRef
    ? (await ctx.searchAll<ClaimResponse>(tenant, 'ClaimResponse', byRef('patient', patientRef))).filter(
        (r) => r.use === 'preauthorization',
      )
    : [];
  const patientCharges = patientRef
    ? (await ctx.searchAll<ChargeItem>(tenant, 'ChargeItem', byRef('patient', patientRef))).filter(
        (c) => c.status === 'billable',
      )
    : [];
  const requests: Claim[] = [];
  for (const response of authorizationResponses) {
    const ref = refOf(response.request);
    const request = ref?.startsWith('Claim/')
      ? await ctx.read<Claim>(tenant, 'Claim', ref.slice('Claim/'.length))
      : undefined;
    if (request) {
      requests.push(request);
    }
  }
  const eligibility = patientRef ? await latestAnswers(ctx.store, tenant, patientRef) : new Map();
  return {
    authorizationResponses,
    authorizations: authorizationsOf(authorizationResponses, requests),
    patientCharges,
    eligibility,
    encounters,
    chargeItems,
    ...(patient ? { patient } : {}),
    coverages,
    ...(subscriber ? { subscriber } : {}),
    ...(payer ? { payer } : {}),
    ...(organization ? { payerOrganization: organization } : {}),
    conditions,
    administrations,
    medications,
    otherClaims,
    ...(setting ? { setting } : {}),
    ...(attending ? { attending: attending as Practitioner & StoredResource } : {}),
    orders: orders as (MedicationRequest & StoredResource)[],
  };
}

/** The configured payer of the claim, else of the primary coverage (src/coverage/payer-match.ts, coverage-order.ts). */
export async function payerOf(
  ctx: WorkflowContext,
  tenant: TenantId,
  config: TenantConfig,
  coverages: readonly (Coverage & StoredResource)[],
  claim: Claim | undefined,
): Promise<{ payer?: PayerEndpoint; organization?: Organization & StoredResource }> {
  const fromClaim = claim ? config.payers.find((p) => p.id === claimPayerOf(claim)) : undefined;
  const primary = coverages[0];
  const orgRef = primary?.payor?.map((p) => refOf(p)).find((r) => r?.startsWith('Organization/'));
  const organization = orgRef
    ? await ctx.read<Organization>(tenant, 'Organization', orgRef.split('/')[1] ?? '')
    : undefined;
  if (fromClaim) {
    return { payer: fromClaim, ...(organization ? { organization } : {}) };
  }
  const byName = matchPayer(config.payers, primary, organization);
  return { ...(byName ? { payer: byName } : {}), ...(organization ? { organization } : {}) };
}

/** What the scrubber and the X12 writer read about a claim, from its gathered inputs; today in the tenant's zone. */
export function claimContextOf(
  config: TenantConfig,
  claim: Claim & StoredResource,
  gathered: Gathered,
  payer: PayerEndpoint,
  now: Date,
): ClaimContext | undefined {
  if (!gathered.patient || !gathered.setting || !config.billing) {
    return undefined;
  }
  return {
    claim,
    setting: gathered.setting,
    patient: gathered.patient,
    coverages: gathered.coverages,
    ...(gathered.subscriber ? { subscriber: gathered.subscriber } : {}),
    payer,
    ...(gathered.payerOrganization ? { payerOrganization: gathered.payerOrganization } : {}),
    provider: config.billing,
    encounters: gathered.encounters,
    chargeItems: gathered.chargeItems,
    administrations: gathered.administrations,
    medications: gathered.medications,
    conditions: gathered.conditions,
    otherClaims: gathered.otherClaims.filter((c) => c.id !== claim.id),
    authorizations: gathered.authorizations,
    patientCharges: gathered.patientCharges,
    eligibility: new Map([...gathered.eligibility].map(([coverage, answer]) => [coverage, answer.summary])),
    payersOnFile: gathered.coverages.flatMap((c) => {
      const payer = matchPayer(config.payers, c, undefined);
      return payer ? [payer.payerId] : [];
    }),
    today: localDate(now, tenantCalendarZone(config)),
  };
}

/** Everything a stored claim's X12 rendering needs (the same context the scrubber reads). */
export async function loadClaimContext(
  ctx: WorkflowContext,
  tenant: TenantId,
  claimId: string,
): Promise<ClaimContext | undefined> {
  const config = ctx.tenant(tenant);
  const stored = await ctx.read<Claim>(tenant, 'Claim', claimId);
  if (!stored || !config) {
    return undefined;
  }
  const encounters = [
    ...new Set((stored.item ?? []).flatMap((i) => (i.encounter ?? []).map((e) => refOf(e) ?? ''))),
  ].filter((r) => r !== '');
  const gathered = await gatherClaimInputs(ctx, tenant, config, encounters, stored);
  const payer = config.payers.find((p) => p.id === claimPayerOf(stored));
  return payer ? claimContextOf(config, stored, gathered, payer, ctx.now()) : undefined;
}
