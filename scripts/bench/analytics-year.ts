/**
 * A generated year of a busy infusion clinic for the analytics benchmark (./analytics.ts): claim i
 * (served in 2026, five payers, three locations, eight drugs), its posted payment
 * (ExplanationOfBenefit: ~78 % paid, 12 % partly paid, 10 % denied), the drug ChargeItem it bills,
 * a denial or underpayment work item where due, appeals for a third of the denials and an
 * authorization for one claim in five. Deterministic: claim i is the same in every run.
 */
import type {
  ChargeItem,
  Claim,
  ClaimResponse,
  ExplanationOfBenefit,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import type { TenantConfig } from '../../src/config/config.ts';
import { CS_APPEAL_LEVEL, CS_APPEAL_OUTCOME, CS_APPEAL_OUTPUT } from '../../src/contract/appeals.ts';
import {
  CS_WORK_ITEM,
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_PAYER,
  EXT_CLAIM_STATE,
} from '../../src/contract/canonical.ts';
import { CS_WORK_ITEM_INPUT, CS_WORK_ITEM_STATE } from '../../src/contract/recovery.ts';
import { buildExplanationOfBenefit } from '../../src/remittance/eob.ts';
import type { PostedAdjustment, PostedLine } from '../../src/remittance/posted.ts';
import { patientShareOf } from '../../src/remittance/posted.ts';

export const TENANT = 'bench';
export const PAYERS = ['medicare', 'medicaid', 'aetna', 'bluecross', 'united'];
export const LOCATIONS = ['north', 'south', 'downtown'];
export const DRUGS: readonly [string, number][] = [
  ['J1745', 10],
  ['J9035', 40],
  ['J2505', 1],
  ['J0897', 1],
  ['J1569', 20],
  ['J9312', 100],
  ['J3380', 300],
  ['J0129', 75],
];

export const tenant: TenantConfig = {
  id: TENANT,
  name: 'Bench clinic',
  timeZone: 'America/New_York',
  connections: [],
  coding: {},
  payers: [],
};

const cents = (x: number): number => Math.round(x * 100) / 100;
const dayOf = (i: number): string =>
  new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000).toISOString().slice(0, 10);

export function claimOf(i: number): Claim & { id: string } {
  const [drug, units] = DRUGS[i % DRUGS.length] as [string, number];
  const day = dayOf(i);
  return {
    resourceType: 'Claim',
    id: `c${i}`,
    extension: [
      { url: EXT_CLAIM_FREQUENCY, valueCode: '1' },
      { url: EXT_CLAIM_STATE, valueCode: 'adjudicated' },
      { url: EXT_CLAIM_PAYER, valueString: PAYERS[i % PAYERS.length] },
    ],
    status: 'active',
    type: { coding: [{ code: 'professional' }] },
    use: 'claim',
    patient: { reference: `Patient/p${i % 4000}` },
    billablePeriod: { start: day, end: day },
    created: `${day}T21:00:00Z`,
    provider: { display: 'Bench clinic' },
    priority: { coding: [{ code: 'normal' }] },
    facility: { reference: `Location/${LOCATIONS[i % LOCATIONS.length] as string}` },
    insurance: [
      {
        sequence: 1,
        focal: true,
        coverage: { reference: `Coverage/cov${i % 4000}` },
        ...(i % 5 === 0 ? { preAuthRef: [`PA${i}`] } : {}),
      },
    ],
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ code: drug }] },
        servicedDate: day,
        quantity: { value: units },
        net: { value: units * 10, currency: 'USD' },
      },
      {
        sequence: 2,
        productOrService: { coding: [{ code: '96365' }] },
        servicedDate: day,
        quantity: { value: 1 },
        net: { value: 250, currency: 'USD' },
      },
      {
        sequence: 3,
        productOrService: { coding: [{ code: '96366' }] },
        servicedDate: day,
        quantity: { value: 2 },
        net: { value: 120, currency: 'USD' },
      },
    ],
    total: { value: units * 10 + 370, currency: 'USD' },
  };
}

function line(
  seq: number,
  code: string,
  units: number,
  submitted: number,
  paid: number,
  adjustments: PostedAdjustment[],
): PostedLine {
  return {
    position: seq,
    itemSequence: seq,
    matchedBy: 'item-sequence',
    procedure: { qualifier: 'HC', code, modifiers: [] },
    units,
    submitted,
    allowed: cents(paid + patientShareOf(adjustments).total),
    allowedReported: true,
    paid,
    patientResponsibility: patientShareOf(adjustments),
    adjustments,
    remarks: [],
  };
}

/** The payment of claim i: paid (CO-45, PR-2), partly paid (drug line CO-197) or denied (CO-50). */
export function paymentOf(
  claim: Claim & { id: string },
  i: number,
  id = `e${i}`,
): ExplanationOfBenefit & { id: string } {
  const kind = i % 10 === 3 ? 'denied' : i % 25 === 7 || i % 25 === 8 || i % 25 === 9 ? 'partial' : 'paid';
  const lines = (claim.item ?? []).map((item) => {
    const code = item.productOrService.coding?.[0]?.code ?? '';
    const submitted = item.net?.value ?? 0;
    const units = item.quantity?.value ?? 1;
    if (kind === 'denied' || (kind === 'partial' && item.sequence === 1)) {
      return line(item.sequence, code, units, submitted, 0, [
        { group: 'CO', carc: kind === 'denied' ? '50' : '197', amount: submitted },
      ]);
    }
    const allowed = cents(submitted * 0.8);
    const coinsurance = cents(allowed * 0.2);
    // One payment in 30 comes in $5 short of the contract (an underpayment).
    const paid = cents(allowed - coinsurance - (i % 30 === 11 ? 5 : 0));
    return line(item.sequence, code, units, submitted, paid, [
      { group: 'CO', carc: '45', amount: cents(submitted - allowed + (i % 30 === 11 ? 5 : 0)) },
      { group: 'PR', carc: '2', amount: coinsurance },
    ]);
  });
  const all = lines.flatMap((l) => l.adjustments);
  const paid = cents(lines.reduce((s, l) => s + l.paid, 0));
  const date = new Date(
    Date.parse(`${claim.billablePeriod?.start ?? ''}T12:00:00Z`) + (14 + (i % 30)) * 86_400_000,
  )
    .toISOString()
    .slice(0, 10);
  return buildExplanationOfBenefit({
    id,
    draft: {
      channel: 'x12-835',
      position: 1,
      patientControlNumber: claim.id,
      payerClaimNumber: `ICN${i}`,
      status: '1',
      outcome: kind === 'denied' ? 'denied' : kind === 'partial' ? 'partially-paid' : 'paid',
      submitted: cents(lines.reduce((s, l) => s + l.submitted, 0)),
      paid,
      patientResponsibility: patientShareOf(all),
      adjustments: [],
      remarks: [],
      lines,
      paymentDate: date,
    },
    lines,
    claim,
    payer: { id: PAYERS[i % PAYERS.length] as string, name: 'Payer' },
    remittance: { id: `pr${Math.floor(i / 100)}`, trace: `T${Math.floor(i / 100)}` },
    created: `${date}T15:00:00Z`,
  });
}

export function extrasOf(claim: Claim & { id: string }, i: number): Resource[] {
  const day = claim.billablePeriod?.start ?? '';
  const [drug, units] = DRUGS[i % DRUGS.length] as [string, number];
  const out: Resource[] = [
    {
      resourceType: 'ChargeItem',
      id: `ch${i}`,
      status: 'billable',
      code: { coding: [{ code: drug }] },
      subject: { reference: `Patient/p${i % 4000}` },
      occurrenceDateTime: `${day}T10:00:00-05:00`,
      quantity: { value: units + (i % 7 === 0 ? 1 : 0) },
    } satisfies ChargeItem,
  ];
  const workItem = (kind: 'denial' | 'underpayment', dollars: number, state: string): Task => ({
    resourceType: 'Task',
    id: `w${i}`,
    status: 'ready',
    intent: 'order',
    code: { coding: [{ system: CS_WORK_ITEM, code: kind }] },
    businessStatus: { coding: [{ system: CS_WORK_ITEM_STATE, code: state }] },
    focus: { reference: `Claim/${claim.id}` },
    authoredOn: `${day}T20:00:00Z`,
    input: [
      {
        type: { coding: [{ system: CS_WORK_ITEM_INPUT, code: 'dollars-at-stake' }] },
        valueMoney: { value: dollars, currency: 'USD' },
      },
    ],
  });
  if (i % 10 === 3) {
    out.push(workItem('denial', claim.total?.value ?? 0, 'open'));
    if (i % 30 === 3) {
      out.push({
        resourceType: 'Task',
        id: `a${i}`,
        status: 'completed',
        intent: 'order',
        code: { coding: [{ system: CS_APPEAL_LEVEL, code: 'redetermination' }] },
        businessStatus: {
          coding: [{ system: CS_APPEAL_OUTCOME, code: i % 60 === 3 ? 'overturned' : 'upheld' }],
        },
        focus: { reference: `Claim/${claim.id}` },
        authoredOn: `${day}T21:00:00Z`,
        ...(i % 60 === 3
          ? {
              output: [
                {
                  type: { coding: [{ system: CS_APPEAL_OUTPUT, code: 'recovered' }] },
                  valueMoney: { value: 300, currency: 'USD' },
                },
              ],
            }
          : {}),
      } satisfies Task);
    }
  } else if (i % 30 === 11) {
    out.push(workItem('underpayment', 15, i % 60 === 11 ? 'recovered' : 'open'));
  }
  if (i % 5 === 0) {
    out.push({
      resourceType: 'ClaimResponse',
      id: `pa${i}`,
      status: 'active',
      type: { coding: [{ code: 'professional' }] },
      use: 'preauthorization',
      patient: { reference: `Patient/p${i % 4000}` },
      created: `${day}T09:00:00Z`,
      insurer: { identifier: { value: PAYERS[i % PAYERS.length] as string } },
      outcome: 'complete',
    } satisfies ClaimResponse);
  }
  return out;
}
