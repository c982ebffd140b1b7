/**
 * The facts of an appeal packet, read from the store: the claim and its lines (the coding
 * rationale each line carries: documented times and the minutes that decided its code; NDC and
 * waste), the patient and the member id of the claim's coverage, the payer's remittances for the
 * claim, the authorizations on file in the ledger, and the tenant's billing provider. The packet's
 * content is then built by ./packet.ts (pure).
 */
import type { Claim, Coverage, ExplanationOfBenefit, Extension, Patient, Task } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { EXT_CODING_RATIONALE } from '../../contract/canonical.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { carcInfo, rarcInfo } from '../codes.ts';
import { serviceLabel } from '../documents/labels.ts';
import { usd } from '../documents/pdf.ts';
import { CARC_SYSTEM, RARC_SYSTEM } from '../sources/claim-response.ts';
import { gatherTriageFacts } from '../work/facts.ts';
import { inputCode, workItemView } from '../work/items.ts';
import { appealLevels } from './deadlines.ts';
import type { PacketFacts, PacketLine } from './packet.ts';
import type { AppealView } from './task.ts';

const nameOf = (p: Patient | undefined): string => {
  const n = p?.name?.[0];
  return n ? [...(n.given ?? []), n.family ?? ''].join(' ').trim() || (n.text ?? 'Unknown') : 'Unknown';
};

async function read<T>(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  reference: string | undefined,
): Promise<T | undefined> {
  const [type, id] = (reference ?? '').split('/');
  if (!type || !id) {
    return undefined;
  }
  return (await store.resources.read(tenant, type, id).catch(() => undefined)) as T | undefined;
}

function linesOf(claim: Claim): PacketLine[] {
  return (claim.item ?? []).map((item) => {
    const code = item.productOrService.coding?.find((c) => c.code)?.code ?? '';
    const modifiers = (item.modifier ?? []).map((m) => m.coding?.[0]?.code ?? '').filter((m) => m !== '');
    const r = item.extension?.find((e) => e.url === EXT_CODING_RATIONALE)?.extension;
    const sub = (url: string): Extension | undefined => r?.find((e) => e.url === url);
    const ndc = item.detail?.[0];
    const ndcCode = ndc?.productOrService.coding?.[0]?.code;
    return {
      sequence: item.sequence,
      code,
      label: serviceLabel(code),
      modifiers,
      units: item.quantity?.value ?? 0,
      date: (item.servicedDate ?? item.servicedPeriod?.start ?? '').slice(0, 10),
      billed: item.net?.value ?? 0,
      ...(r && sub('rule')?.valueString
        ? {
            rationale: {
              rule: sub('rule')?.valueString ?? '',
              text: sub('text')?.valueString ?? '',
              ...(sub('minutes')?.valueDecimal !== undefined
                ? { minutes: sub('minutes')?.valueDecimal as number }
                : {}),
            },
          }
        : {}),
      ...(ndcCode
        ? {
            ndc: {
              code: ndcCode,
              ...(ndc?.quantity
                ? {
                    quantity:
                      `${ndc.quantity.value ?? ''} ${ndc.quantity.unit ?? ndc.quantity.code ?? ''}`.trim(),
                  }
                : {}),
            },
          }
        : {}),
      waste: modifiers.includes('JW'),
    };
  });
}

export async function gatherPacketFacts(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  config: TenantConfig,
  appeal: AppealView,
  today: string,
): Promise<PacketFacts | string> {
  const item = await read<Task & { id: string }>(store, tenant, `Task/${appeal.workItem}`);
  const itemView = item ? workItemView(item) : undefined;
  const claim = await read<Claim & { id: string }>(store, tenant, `Claim/${appeal.claim}`);
  if (!item || !itemView || !claim) {
    return `The work item or claim of appeal ${appeal.id} is not stored`;
  }
  const payerId = (item.input ?? []).find((i) => inputCode(i) === 'payer')?.valueString;
  const payer = config.payers.find((p) => p.id === payerId);
  if (!payer || !config.billing) {
    return `Tenant ${tenant} has no billing provider or payer "${payerId ?? '?'}" configured`;
  }
  const patient = await read<Patient & { id: string }>(store, tenant, claim.patient?.reference);
  const coverageRef =
    claim.insurance?.find((i) => i.focal)?.coverage?.reference ?? claim.insurance?.[0]?.coverage?.reference;
  const coverage = await read<Coverage & { id: string }>(store, tenant, coverageRef);
  const eobs = await searchAll<ExplanationOfBenefit>(store, tenant, 'ExplanationOfBenefit', [
    { code: 'claim', kind: 'reference', values: [`Claim/${claim.id}`] },
  ]);
  const triage = await gatherTriageFacts(store, tenant, claim, payer);
  const lines = linesOf(claim);
  const groups = (item.reasonCode?.text ?? '').split(',').map((s) => s.trim());
  const reasons = (item.reasonCode?.coding ?? []).flatMap((c) => {
    if (c.system === CARC_SYSTEM && c.code) {
      const group = groups.find((g) => g.endsWith(`-${c.code ?? ''}`))?.split('-')[0];
      return [{ code: group ? `${group}-${c.code}` : `CARC ${c.code}`, words: carcInfo(c.code).label }];
    }
    if (c.system === RARC_SYSTEM && c.code) {
      return [{ code: c.code, words: rarcInfo(c.code).label ?? 'remark (see the payer’s remittance)' }];
    }
    return [];
  });
  const dates = lines
    .map((l) => l.date)
    .filter((d) => d !== '')
    .sort();
  const from = (claim.billablePeriod?.start ?? dates[0] ?? '').slice(0, 10);
  const to = (claim.billablePeriod?.end ?? dates[dates.length - 1] ?? from).slice(0, 10);
  const billed = claim.total?.value ?? lines.reduce((s, l) => s + l.billed, 0);
  const attachments = [
    {
      reference: `Claim/${claim.id}`,
      summary: `The claim as billed: ${lines.length} line(s), ${usd(billed)}, service ${from}${to !== from ? ` to ${to}` : ''}, with the coding rationale of each line`,
    },
    ...eobs.map((e) => ({
      reference: `ExplanationOfBenefit/${e.id ?? ''}`,
      summary: `The payer's remittance of ${(e.created ?? '').slice(0, 10)}: paid ${usd(e.payment?.amount?.value ?? 0)}`,
    })),
    ...(patient
      ? [
          {
            reference: `Patient/${patient.id}`,
            summary: `Patient demographics: ${nameOf(patient)}${patient.birthDate ? `, born ${patient.birthDate}` : ''}`,
          },
        ]
      : []),
    ...(coverage
      ? [
          {
            reference: `Coverage/${coverage.id}`,
            summary: `Coverage: member ${coverage.subscriberId ?? '?'} with ${payer.name}`,
          },
        ]
      : []),
    ...(triage.authorizations ?? []).map((a) => ({
      reference: `authorization ${a.number}`,
      summary: `Authorization ${a.number} from the ledger, covering ${a.covers.join(', ')}`,
    })),
    {
      reference: `Task/${item.id}`,
      summary: `Our work item: ${itemView.reasons || itemView.queueLabel}, ${usd(itemView.dollarsAtStake)} at stake`,
    },
  ];
  return {
    today,
    provider: config.billing,
    payer: { name: payer.name, payerId: payer.payerId },
    patient: {
      name: nameOf(patient),
      ...(patient?.birthDate ? { birthDate: patient.birthDate } : {}),
      ...(coverage?.subscriberId ? { memberId: coverage.subscriberId } : {}),
    },
    claim: {
      id: claim.id,
      billed,
      from,
      to,
      preAuthRefs: (claim.insurance ?? []).flatMap((i) => i.preAuthRef ?? []),
      lines,
    },
    appeal,
    levelLabel: appealLevels(payer).find((l) => l.level === appeal.level)?.label ?? appeal.level,
    item: itemView,
    reasons,
    authorizations: triage.authorizations ?? [],
    ...(triage.firstSubmitted ? { firstSubmitted: triage.firstSubmitted.at.slice(0, 10) } : {}),
    attachments,
  };
}
