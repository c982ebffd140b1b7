/**
 * The authorization ledger as claims read it (src/coverage/ledger.ts): the one count of what the
 * patient's authorizations were used for, from which the builder takes the numbers a claim carries
 * and the scrubber the lines that go beyond an authorization; and the scrubber's prior authorization
 * rule as the ledger's work items ask it. Pure.
 */
import type { ChargeItem, Claim, ClaimItem } from '@medplum/fhirtypes';
import { findDrug } from '../coding/tables/find-drug.ts';
import type { CodingTables } from '../coding/tables/types.ts';
import type { PayerEndpoint } from '../config/billing.ts';
import type { Authorization } from '../coverage/authorizations.ts';
import type { AuthorizationLedger } from '../coverage/ledger.ts';
import { authorizationLedger, numbersFor } from '../coverage/ledger.ts';
import type { AuthorizationRequirement } from '../coverage/ledger-alerts.ts';
import { EXT_CHARGE_ITEM } from '../contract/canonical.ts';
import type { ClaimRules } from './scrub/rules.ts';
import { authorizationRuleFor, requiresAuthorization } from '../coverage/pas/auth-rules.ts';
import { loadClaimRules } from './scrub/rules.ts';
import type { ClaimContext } from './types.ts';

/** The ChargeItem a claim line was built from ("ChargeItem/{id}"). */
export function chargeItemOfLine(item: ClaimItem): string | undefined {
  return item.extension?.find((e) => e.url === EXT_CHARGE_ITEM)?.valueReference?.reference;
}

/** Every charge once (the claim's own and the rest of the patient's), by id. */
function distinct(...lists: readonly (readonly ChargeItem[] | undefined)[]): ChargeItem[] {
  const byId = new Map<string, ChargeItem>();
  for (const list of lists) {
    for (const charge of list ?? []) {
      byId.set(charge.id ?? '', charge);
    }
  }
  return [...byId.values()];
}

export interface LedgerSource {
  readonly authorizations?: readonly Authorization[];
  /** The patient's charges on every encounter. */
  readonly patientCharges?: readonly ChargeItem[];
  /** The claim's own charges. */
  readonly chargeItems: readonly ChargeItem[];
  /** The patient's claims. */
  readonly claims: readonly Claim[];
  /** The payer of charges no claim bills yet. */
  readonly payerId: string;
  readonly today: string;
}

export function ledgerOf(source: LedgerSource): AuthorizationLedger {
  return authorizationLedger({
    authorizations: source.authorizations ?? [],
    charges: distinct(source.patientCharges, source.chargeItems),
    claims: source.claims,
    defaultPayerId: source.payerId,
    today: source.today,
  });
}

/** The ledger a claim is scrubbed against: its patient's, with the claim as it stands now. */
export function claimLedger(ctx: ClaimContext): AuthorizationLedger {
  return ledgerOf({
    ...(ctx.authorizations ? { authorizations: ctx.authorizations } : {}),
    ...(ctx.patientCharges ? { patientCharges: ctx.patientCharges } : {}),
    chargeItems: ctx.chargeItems,
    claims: [...ctx.otherClaims.filter((c) => c.id !== ctx.claim.id), ctx.claim],
    payerId: ctx.payer.payerId,
    today: ctx.today,
  });
}

/** The authorization numbers a claim of these charges carries: those the ledger counted them under. */
export function claimAuthorizationNumbers(source: LedgerSource): string[] {
  return numbersFor(
    ledgerOf(source),
    source.chargeItems.map((c) => `ChargeItem/${c.id ?? ''}`),
  );
}

/**
 * Which codes need authorization for a tenant's payers: the scrubber's rule (src/coverage/rules/prior-auth.json
 * for the payer on the date, src/coverage/pas/auth-rules.ts; the drug's therapy class from the
 * coding tables), for the ledger's "given without
 * an authorization" work items. A payer that is not configured requires nothing Dripline knows of.
 */
export function authorizationRequirement(
  config: { readonly payers: readonly Pick<PayerEndpoint, 'payerId' | 'kind'>[] },
  tables: CodingTables,
  rules: ClaimRules = loadClaimRules(),
): AuthorizationRequirement {
  return ({ code, date, payerId }) => {
    const payer = config.payers.find((p) => p.payerId === payerId);
    const drug = findDrug(tables, { hcpcs: code })?.drug;
    if (!payer || !drug) {
      return undefined;
    }
    const rule = authorizationRuleFor(rules.priorAuth, payer, date);
    return requiresAuthorization(rule, code, drug.therapyClass) ? rule.source : undefined;
  };
}
