/**
 * Stored-resource fixtures for the analytics tests: Claims as the claim workflow stores them (state,
 * payer, frequency extensions), posted payments written by remittance's own EOB builder, work items
 * and appeals as Tasks of their contracts, preauthorizations and drug ChargeItems.
 */
import type {
  ChargeItem,
  Claim,
  ClaimResponse,
  ExplanationOfBenefit,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { CS_APPEAL_LEVEL, CS_APPEAL_OUTCOME, CS_APPEAL_OUTPUT } from '../../src/contract/appeals.ts';
import {
  CS_WORK_ITEM,
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_PAYER,
  EXT_CLAIM_REPLACED_BY,
  EXT_CLAIM_STATE,
} from '../../src/contract/canonical.ts';
import { CS_WORK_ITEM_INPUT, CS_WORK_ITEM_STATE } from '../../src/contract/recovery.ts';
import { buildExplanationOfBenefit } from '../../src/remittance/eob.ts';
import type { PostedAdjustment, PostedLine } from '../../src/remittance/posted.ts';
import { patientShareOf } from '../../src/remittance/posted.ts';
import { postedLine } from '../remittance/fixtures.ts';

const cents = (x: number): number => Math.round(x * 100) / 100;

export interface ClaimSpec {
  readonly payer: string;
  readonly location?: string;
  readonly date: string;
  readonly lines: readonly { code: string; units: number; net: number; modifiers?: string[] }[];
  readonly state?: string;
  readonly frequency?: string;
  readonly preAuth?: boolean;
  readonly replacedBy?: string;
}

export function claim(id: string, spec: ClaimSpec): Claim & { id: string } {
  return {
    resourceType: 'Claim',
    id,
    extension: [
      { url: EXT_CLAIM_FREQUENCY, valueCode: spec.frequency ?? '1' },
      { url: EXT_CLAIM_STATE, valueCode: spec.state ?? 'adjudicated' },
      { url: EXT_CLAIM_PAYER, valueString: spec.payer },
      ...(spec.replacedBy
        ? [{ url: EXT_CLAIM_REPLACED_BY, valueReference: { reference: `Claim/${spec.replacedBy}` } }]
        : []),
    ],
    status: 'active',
    type: { coding: [{ code: 'professional' }] },
    use: 'claim',
    patient: { reference: `Patient/p-${id}` },
    billablePeriod: { start: spec.date, end: spec.date },
    created: `${spec.date}T20:00:00Z`,
    provider: { display: 'clinic' },
    priority: { coding: [{ code: 'normal' }] },
    ...(spec.location ? { facility: { reference: `Location/${spec.location}` } } : {}),
    insurance: [
      {
        sequence: 1,
        focal: true,
        coverage: { reference: 'Coverage/c' },
        ...(spec.preAuth ? { preAuthRef: ['PA-1'] } : {}),
      },
    ],
    item: spec.lines.map((l, i) => ({
      sequence: i + 1,
      productOrService: { coding: [{ code: l.code }] },
      ...(l.modifiers ? { modifier: l.modifiers.map((m) => ({ coding: [{ code: m }] })) } : {}),
      servicedDate: spec.date,
      locationCodeableConcept: { coding: [{ code: '11' }] },
      quantity: { value: l.units },
      net: { value: l.net, currency: 'USD' },
    })),
    total: { value: cents(spec.lines.reduce((s, l) => s + l.net, 0)), currency: 'USD' },
  };
}

export interface PaidLineSpec {
  readonly code: string;
  readonly modifiers?: string[];
  readonly units: number;
  readonly submitted: number;
  readonly paid: number;
  readonly adjustments: readonly PostedAdjustment[];
}

/** A posted payment of a claim, as remittance writes it (src/remittance/eob.ts). */
export function payment(
  id: string,
  of: Claim & { id: string },
  spec: { date: string; lines: readonly PaidLineSpec[]; reverses?: string; payer?: string },
): ExplanationOfBenefit & { id: string } {
  const lines: PostedLine[] = spec.lines.map((l, i) =>
    postedLine(
      {
        sequence: i + 1,
        code: l.code,
        ...(l.modifiers ? { modifiers: l.modifiers } : {}),
        units: l.units,
        submitted: l.submitted,
        paid: l.paid,
        adjustments: l.adjustments,
      },
      i + 1,
    ),
  );
  const paid = cents(lines.reduce((s, l) => s + l.paid, 0));
  const outcome = spec.reverses
    ? ('reversed' as const)
    : lines.some((l) => l.paid === 0)
      ? paid === 0
        ? ('denied' as const)
        : ('partially-paid' as const)
      : ('paid' as const);
  return buildExplanationOfBenefit({
    id,
    draft: {
      channel: 'x12-835',
      position: 1,
      patientControlNumber: of.id,
      payerClaimNumber: `ICN-${of.id}`,
      status: spec.reverses ? '22' : '1',
      outcome,
      submitted: cents(lines.reduce((s, l) => s + l.submitted, 0)),
      paid,
      patientResponsibility: patientShareOf(lines.flatMap((l) => l.adjustments)),
      adjustments: [],
      remarks: [],
      lines,
      paymentDate: spec.date,
    },
    lines,
    claim: of,
    payer: { id: spec.payer ?? 'payer', name: 'Payer' },
    remittance: { id: `pr-${id}`, trace: `T-${id}` },
    ...(spec.reverses ? { reverses: spec.reverses } : {}),
    created: `${spec.date}T16:00:00Z`,
  });
}

/**
 * Two claims and their payments, the analytics API and CLI tests' day: Medicare paid J1745 (10
 * units, $1,000 billed, $800 paid, CO-45 $200), Aetna denied J9035 (20 units, $2,000, CO-50).
 */
export function paidAndDenied(
  ids: { paid: string; denied: string; paidEob: string; deniedEob: string },
  dates: { served: [string, string]; remitted: [string, string] },
): Resource[] {
  const paid = claim(ids.paid, {
    payer: 'medicare',
    date: dates.served[0],
    lines: [{ code: 'J1745', units: 10, net: 1000 }],
  });
  const denied = claim(ids.denied, {
    payer: 'aetna',
    date: dates.served[1],
    lines: [{ code: 'J9035', units: 20, net: 2000 }],
  });
  return [
    paid,
    denied,
    payment(ids.paidEob, paid, {
      date: dates.remitted[0],
      lines: [
        {
          code: 'J1745',
          units: 10,
          submitted: 1000,
          paid: 800,
          adjustments: [{ group: 'CO', carc: '45', amount: 200 }],
        },
      ],
    }),
    payment(ids.deniedEob, denied, {
      date: dates.remitted[1],
      lines: [
        {
          code: 'J9035',
          units: 20,
          submitted: 2000,
          paid: 0,
          adjustments: [{ group: 'CO', carc: '50', amount: 2000 }],
        },
      ],
    }),
  ];
}

export function workItem(
  id: string,
  kind: 'denial' | 'underpayment',
  claimId: string,
  spec: { authored: string; state: string; dollars: number },
): Task & { id: string } {
  return {
    resourceType: 'Task',
    id,
    status: 'ready',
    intent: 'order',
    code: { coding: [{ system: CS_WORK_ITEM, code: kind }] },
    businessStatus: { coding: [{ system: CS_WORK_ITEM_STATE, code: spec.state }] },
    focus: { reference: `Claim/${claimId}` },
    authoredOn: spec.authored,
    input: [
      {
        type: { coding: [{ system: CS_WORK_ITEM_INPUT, code: 'dollars-at-stake' }] },
        valueMoney: { value: spec.dollars, currency: 'USD' },
      },
    ],
  };
}

export function appeal(
  id: string,
  claimId: string,
  spec: { authored: string; level: string; outcome: string; recovered?: number },
): Task & { id: string } {
  return {
    resourceType: 'Task',
    id,
    status: spec.outcome === 'open' ? 'in-progress' : 'completed',
    intent: 'order',
    code: { coding: [{ system: CS_APPEAL_LEVEL, code: spec.level }] },
    businessStatus: { coding: [{ system: CS_APPEAL_OUTCOME, code: spec.outcome }] },
    focus: { reference: `Claim/${claimId}` },
    authoredOn: spec.authored,
    ...(spec.recovered !== undefined
      ? {
          output: [
            {
              type: { coding: [{ system: CS_APPEAL_OUTPUT, code: 'recovered' }] },
              valueMoney: { value: spec.recovered, currency: 'USD' },
            },
          ],
        }
      : {}),
  };
}

export function preauthorization(
  id: string,
  spec: { created: string; payer: string; approved: boolean },
): ClaimResponse & { id: string } {
  return {
    resourceType: 'ClaimResponse',
    id,
    status: 'active',
    type: { coding: [{ code: 'professional' }] },
    use: 'preauthorization',
    patient: { reference: 'Patient/p' },
    created: spec.created,
    insurer: { identifier: { value: spec.payer } },
    outcome: spec.approved ? 'complete' : 'error',
  };
}

export function drugCharge(
  id: string,
  code: string,
  units: number,
  when: string,
): ChargeItem & { id: string } {
  return {
    resourceType: 'ChargeItem',
    id,
    status: 'billable',
    code: { coding: [{ code }] },
    subject: { reference: 'Patient/p' },
    occurrenceDateTime: when,
    quantity: { value: units },
  };
}
