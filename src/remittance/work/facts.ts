/**
 * The facts triage adds as evidence to a denial's recommended fix (../triage/fixes.ts
 * TriageFacts), read from the store: the authorizations on file in the coverage ledger for the
 * patient and payer that cover a line of the claim, the coding rules recorded on each claim line
 * (the rationale the coding engine wrote, which names the rule that chose the modifiers), and when
 * the claim chain was first built for the payer (the timely-filing evidence).
 */
import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import { EXT_CODING_RATIONALE } from '../../contract/canonical.ts';
import { authorizationsOf, servicesFor, withinDates } from '../../coverage/authorizations.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import type { TriageFacts } from '../triage/fixes.ts';

const codeOf = (item: NonNullable<Claim['item']>[number]): string =>
  item.productOrService.coding?.find((c) => c.code)?.code?.toUpperCase() ?? '';
const dateOf = (item: NonNullable<Claim['item']>[number], claim: Claim): string =>
  (item.servicedDate ?? item.servicedPeriod?.start ?? claim.billablePeriod?.start ?? '').slice(0, 10);

/** The coding rules recorded on each line (rule id and its text), by Claim.item.sequence. */
export function modifierRulesOf(claim: Claim): Record<number, { rule: string; text: string }[]> {
  const out: Record<number, { rule: string; text: string }[]> = {};
  for (const item of claim.item ?? []) {
    const rules = (item.extension ?? [])
      .filter((e) => e.url === EXT_CODING_RATIONALE)
      .map((e) => ({
        rule: e.extension?.find((x) => x.url === 'rule')?.valueString ?? '',
        text: e.extension?.find((x) => x.url === 'text')?.valueString ?? '',
      }))
      .filter((r) => r.rule !== '');
    if (rules.length > 0) {
      out[item.sequence] = rules;
    }
  }
  return out;
}

export async function gatherTriageFacts(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  claim: Claim & { id: string },
  payer: PayerEndpoint | undefined,
): Promise<TriageFacts> {
  const patient = claim.patient?.reference;
  const responses = patient
    ? (
        await searchAll<ClaimResponse>(store, tenant, 'ClaimResponse', [
          { code: 'patient', kind: 'reference', values: [patient] },
        ])
      ).filter((r) => r.use === 'preauthorization')
    : [];
  const lines = (claim.item ?? []).map((i) => ({ code: codeOf(i), date: dateOf(i, claim) }));
  const authorizations = authorizationsOf(responses)
    .filter((a) => !payer || a.payerId === undefined || a.payerId === payer.payerId)
    .flatMap((a) => {
      const covers = lines
        .filter((l) => servicesFor(a, l.code).some((s) => withinDates(l.date, s)))
        .map((l) => l.code);
      return covers.length > 0 ? [{ number: a.number, covers: [...new Set(covers)] }] : [];
    });
  // The chain's first claim (a correction names its original in `related`) was built when it was created.
  let first: Claim = claim;
  const original = claim.related?.find((r) => r.claim?.reference)?.claim?.reference;
  if (original?.startsWith('Claim/')) {
    const stored = await store.resources
      .read(tenant, 'Claim', original.slice('Claim/'.length))
      .catch(() => undefined);
    if (stored && stored.resourceType === 'Claim') {
      first = stored;
    }
  }
  const serviceDate = (claim.billablePeriod?.start ?? '').slice(0, 10);
  return {
    authorizations,
    modifierRules: modifierRulesOf(claim),
    ...(first.created && payer
      ? {
          firstSubmitted: {
            at: first.created,
            ...(serviceDate ? { serviceDate } : {}),
            limitDays: payer.timelyFilingDays,
          },
        }
      : {}),
  };
}
