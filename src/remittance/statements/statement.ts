/**
 * A patient's Account and a statement as an Invoice (the contract: src/contract/appeals.ts), and
 * the statement's printed content. Pure.
 *
 * - Account `acct-{hash(patient)}`: subject and guarantor the patient (a guarantor other than the
 *   patient would come from the Coverage's subscriber: not modelled yet), EXT_COLLECTIONS_STATUS.
 * - Invoice `st-{hash(key)}`, identifier ID_STATEMENT `{tenant}|Account/{id}|{cycle start}`: one per
 *   account and cycle; a line item per service line whose price components (CS_STATEMENT_LINE)
 *   are billed, insurance-paid, adjustment and patient-owes; totalNet = the balance due.
 */
import { createHash } from 'node:crypto';
import type { Account, Invoice, InvoiceLineItemPriceComponent, Money } from '@medplum/fhirtypes';
import { CS_STATEMENT_LINE, EXT_COLLECTIONS_STATUS, ID_STATEMENT } from '../../contract/appeals.ts';
import type { Block } from '../documents/pdf.ts';
import { usd } from '../documents/pdf.ts';
import type { Balance, StatementLine } from './ledger.ts';
import type { AgingBucket, CollectionsStatus } from './rules.ts';

const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 32);
const money = (value: number): Money => ({ value, currency: 'USD' });

export function accountId(patient: string): string {
  return `acct-${hash(patient)}`;
}
export function statementKey(tenant: string, account: string, cycle: string): string {
  return `${tenant}|Account/${account}|${cycle}`;
}
export function statementId(key: string): string {
  return `st-${hash(key)}`;
}

export function accountOf(patient: string, status: CollectionsStatus): Account & { id: string } {
  return {
    resourceType: 'Account',
    id: accountId(patient),
    extension: [{ url: EXT_COLLECTIONS_STATUS, valueCode: status }],
    status: 'active',
    name: 'Patient balance',
    subject: [{ reference: patient }],
    guarantor: [{ party: { reference: patient } }],
  };
}

export function collectionsStatusOf(account: Account): CollectionsStatus | undefined {
  return account.extension?.find((e) => e.url === EXT_COLLECTIONS_STATUS)?.valueCode as
    CollectionsStatus | undefined;
}

const component = (
  type: InvoiceLineItemPriceComponent['type'],
  code: string,
  value: number,
): InvoiceLineItemPriceComponent => ({
  type,
  code: { coding: [{ system: CS_STATEMENT_LINE, code }] },
  amount: money(value),
});

export interface StatementInput {
  readonly tenant: string;
  readonly patient: string;
  readonly cycle: string;
  readonly date: string;
  readonly due: string;
  readonly lines: readonly StatementLine[];
  readonly balance: Balance;
  readonly aging: Record<AgingBucket, number>;
  readonly status: CollectionsStatus;
  readonly now: string;
}

export function statementInvoice(s: StatementInput): Invoice & { id: string } {
  const account = accountId(s.patient);
  const key = statementKey(s.tenant, account, s.cycle);
  return {
    resourceType: 'Invoice',
    id: statementId(key),
    identifier: [{ system: ID_STATEMENT, value: key }],
    status: 'issued',
    type: { text: 'Patient statement' },
    subject: { reference: s.patient },
    recipient: { reference: s.patient },
    date: s.now,
    account: { reference: `Account/${account}` },
    lineItem: s.lines.map((l, i) => ({
      sequence: i + 1,
      chargeItemCodeableConcept: { coding: [{ code: l.code }], text: `${l.serviceDate} ${l.description}` },
      priceComponent: [
        component('base', 'billed', l.billed),
        component('deduction', 'insurance-paid', l.insurancePaid),
        component('discount', 'adjustment', l.adjustments),
        component('informational', 'patient-owes', l.patientOwes),
      ],
    })),
    totalGross: money(s.balance.charges),
    totalNet: money(s.balance.balance),
    paymentTerms: `Due by ${s.due}`,
    note: [
      {
        text: `Statement of ${s.date} for the cycle starting ${s.cycle}; payments ${usd(s.balance.payments)}, adjustments ${usd(s.balance.adjustments)}; status ${s.status}.`,
      },
    ],
  };
}

/** The statement as a patient reads it: no bare codes, totals, due date, how to pay, whom to ask. */
export function statementDocument(
  s: StatementInput & {
    readonly patientName: string;
    readonly provider: string;
    readonly payTo: string;
    readonly contact: string;
  },
): Block[] {
  const due = Math.max(0, s.balance.balance);
  return [
    { kind: 'title', text: `${s.provider}: your statement` },
    {
      kind: 'fields',
      rows: [
        ['Patient', s.patientName],
        ['Statement date', s.date],
        ['Account', accountId(s.patient)],
        ['Amount due', usd(due)],
        ['Please pay by', s.due],
      ],
    },
    {
      kind: 'paragraph',
      text: 'Your insurance has processed the visits below. The last column is what your plan says is yours to pay (deductible, co-insurance or co-pay).',
    },
    {
      kind: 'table',
      columns: [
        { title: 'Date', width: 12 },
        { title: 'Service', width: 34 },
        { title: 'Billed', width: 12, align: 'right' },
        { title: 'Insurance paid', width: 14, align: 'right' },
        { title: 'Adjustments', width: 14, align: 'right' },
        { title: 'You owe', width: 12, align: 'right' },
      ],
      rows: s.lines.map((l) => [
        l.serviceDate,
        l.description,
        usd(l.billed),
        usd(l.insurancePaid),
        usd(l.adjustments),
        usd(l.patientOwes),
      ]),
    },
    {
      kind: 'fields',
      rows: [
        ['Your share of these services', usd(s.balance.charges)],
        ['Payments received', usd(-s.balance.payments)],
        ['Other adjustments', usd(-s.balance.adjustments)],
        ['Amount due', usd(due)],
      ],
    },
    {
      kind: 'fields',
      rows: [
        ['Current (0-30 days)', usd(s.aging['0-30'])],
        ['31-60 days', usd(s.aging['31-60'])],
        ['61-90 days', usd(s.aging['61-90'])],
        ['91-120 days', usd(s.aging['91-120'])],
        ['Over 120 days', usd(s.aging['120+'])],
      ],
    },
    ...(s.status === 'reminder' || s.status === 'final-notice'
      ? [
          {
            kind: 'paragraph' as const,
            text:
              s.status === 'final-notice'
                ? 'Final notice: part of this balance is more than 90 days old. Please pay or call us to set up a payment plan.'
                : 'Reminder: part of this balance is more than 60 days old.',
          },
        ]
      : []),
    { kind: 'heading', text: 'How to pay' },
    { kind: 'paragraph', text: s.payTo },
    { kind: 'heading', text: 'Questions' },
    { kind: 'paragraph', text: s.contact },
  ];
}
