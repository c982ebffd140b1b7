/**
 * A claim's posted payments (ExplanationOfBenefit, src/remittance/eob.ts) as people read them: per
 * line the service, what the payer paid, each adjustment as group + CARC with its words and
 * amount, and the remarks (RARC) with theirs; the words are the CARC/RARC tables' own labels
 * (src/remittance/codes.ts).
 */
import type { ExplanationOfBenefit, Extension } from '@medplum/fhirtypes';
import {
  ADJUDICATION_SYSTEM,
  CARC_SYSTEM,
  EXT_REMARK,
  GROUP_CODE_SYSTEM,
  RARC_SYSTEM,
} from '../../contract/remittance.ts';
import { carcInfo, rarcInfo } from '../../remittance/codes.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import type { EobView, ReasonInWords } from '../view-types.ts';

const remarksOf = (extensions: readonly Extension[] | undefined): ReasonInWords[] =>
  (extensions ?? [])
    .filter((e) => e.url === EXT_REMARK && e.valueCoding?.system === RARC_SYSTEM && e.valueCoding.code)
    .map((e) => {
      const code = e.valueCoding?.code ?? '';
      return { code, words: rarcInfo(code).label ?? 'a remark code not on the list Dripline has' };
    });

/** Posted payments of a claim, oldest first. */
export async function eobsOfClaim(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  claimId: string,
): Promise<EobView[]> {
  const eobs = await searchAll<ExplanationOfBenefit>(store, tenant, 'ExplanationOfBenefit', [
    { code: 'claim', kind: 'reference', values: [`Claim/${claimId}`] },
  ]);
  return eobs
    .filter((e) => e.status !== 'entered-in-error')
    .sort((a, b) => (a.created ?? '').localeCompare(b.created ?? ''))
    .map((eob) => ({
      id: eob.id ?? '',
      ...(eob.outcome ? { outcome: eob.outcome } : {}),
      ...(eob.payment?.date ? { paymentDate: eob.payment.date } : {}),
      ...(eob.payment?.amount?.value !== undefined ? { paid: eob.payment.amount.value } : {}),
      remarks: remarksOf(eob.extension),
      lines: (eob.item ?? []).map((item) => {
        const paid = item.adjudication?.find((a) =>
          a.category.coding?.some((c) => c.system === ADJUDICATION_SYSTEM && c.code === 'benefit'),
        )?.amount?.value;
        return {
          sequence: item.sequence,
          service: item.productOrService.coding?.[0]?.code ?? item.productOrService.text ?? '',
          ...(paid !== undefined ? { paid } : {}),
          adjustments: (item.adjudication ?? []).flatMap((a) => {
            const group = a.category.coding?.find((c) => c.system === GROUP_CODE_SYSTEM)?.code;
            const carc = a.reason?.coding?.find((c) => c.system === CARC_SYSTEM)?.code;
            return group && carc
              ? [
                  {
                    code: `${group}-${carc}`,
                    words: carcInfo(carc).label,
                    ...(a.amount?.value !== undefined ? { amount: a.amount.value } : {}),
                  },
                ]
              : [];
          }),
          remarks: remarksOf(item.extension),
        };
      }),
    }));
}
