/**
 * A patient's payment or adjustment, recorded as a PaymentNotice against their Account
 * (`request`), keyed by the caller's idempotency key (ID_PATIENT_PAYMENT): the same key again
 * records nothing new (200 with the first), the same key with other content is a conflict (409).
 * A payment larger than the balance is refused (422): a credit is only ever created by a payer's
 * reversal, and then flagged for refund. Dates: not after today, and not before the first amount
 * billed to the patient (400).
 */
import { createHash } from 'node:crypto';
import type { PaymentNotice } from '@medplum/fhirtypes';
import { CS_PATIENT_CREDIT, ID_PATIENT_PAYMENT } from '../../contract/appeals.ts';
import { buildAuditEvent } from '../../fhir/audit.ts';
import type { TenantId } from '../../store/port.ts';
import { round2 } from '../amounts.ts';
import { todayFor } from '../appeals/actions.ts';
import type { StatementDeps } from './run.ts';
import { patientBalances } from './run.ts';
import { accountId } from './statement.ts';

export interface CreditRequest {
  readonly patient: string;
  readonly kind: 'payment' | 'adjustment';
  readonly amount: number;
  readonly date?: string;
  readonly key: string;
  readonly note?: string;
}

export interface CreditResult {
  readonly status: number;
  readonly message: string;
  readonly balance?: number;
  readonly notice?: string;
}

export async function recordPatientCredit(
  deps: StatementDeps,
  tenant: TenantId,
  request: CreditRequest,
  actor: { clientId: string; requestId?: string },
): Promise<CreditResult> {
  if (!/^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(request.patient)) {
    return { status: 400, message: '"patient" is a reference Patient/{id}' };
  }
  if (
    !Number.isFinite(request.amount) ||
    request.amount <= 0 ||
    Math.round(request.amount * 100) !== request.amount * 100
  ) {
    return { status: 400, message: '"amount" is a positive amount in dollars and cents' };
  }
  if (!/^[A-Za-z0-9\-._:]{8,128}$/.test(request.key)) {
    return { status: 400, message: '"idempotencyKey" is 8 to 128 letters, digits, - . _ :' };
  }
  const today = todayFor(deps, tenant);
  const date = request.date ?? today;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) {
    return { status: 400, message: '"date" is YYYY-MM-DD' };
  }
  const [balance] = await patientBalances(deps, tenant, request.patient);
  const first = balance?.lines.map((l) => l.posted).sort()[0];
  if (date > today || (first && date < first)) {
    return {
      status: 400,
      message: `"date" ${date} is out of order: not after today (${today})${first ? ` nor before the first amount billed to the patient (${first})` : ''}`,
    };
  }
  const id = `pn-${createHash('sha256').update(`${tenant}|${request.key}`).digest('hex').slice(0, 32)}`;
  const existing = (await deps.store.resources.read(tenant, 'PaymentNotice', id).catch(() => undefined)) as
    PaymentNotice | undefined;
  if (existing) {
    const same =
      existing.amount.value === request.amount &&
      existing.request?.reference === `Account/${accountId(request.patient)}` &&
      existing.paymentStatus?.coding?.[0]?.code === request.kind;
    return same
      ? {
          status: 200,
          message: 'already recorded',
          notice: id,
          ...(balance ? { balance: balance.totals.balance } : {}),
        }
      : {
          status: 409,
          message: `Idempotency key ${request.key} was used for another ${existing.paymentStatus?.coding?.[0]?.code ?? 'credit'}`,
        };
  }
  const owed = balance?.totals.balance ?? 0;
  if (request.amount > owed + 0.004) {
    return {
      status: 422,
      message: `The ${request.kind} of $${request.amount.toFixed(2)} is larger than the balance ($${owed.toFixed(2)})`,
    };
  }
  const now = deps.now();
  const notice: PaymentNotice & { id: string } = {
    resourceType: 'PaymentNotice',
    id,
    identifier: [{ system: ID_PATIENT_PAYMENT, value: request.key }],
    status: 'active',
    request: { reference: `Account/${accountId(request.patient)}` },
    created: now.toISOString(),
    payment: { display: request.note ?? `patient ${request.kind}` },
    paymentDate: date,
    recipient: { display: 'billing office' },
    amount: { value: request.amount, currency: 'USD' },
    paymentStatus: { coding: [{ system: CS_PATIENT_CREDIT, code: request.kind }], text: request.kind },
  };
  const event = buildAuditEvent({
    id: `audit-${createHash('sha256').update(`${id}|${now.toISOString()}`).digest('hex').slice(0, 32)}`,
    now,
    interaction: 'create',
    outcome: '0',
    clientId: actor.clientId,
    ...(actor.requestId ? { requestId: actor.requestId } : {}),
    resources: [`PaymentNotice/${id}`, `Account/${accountId(request.patient)}`],
    patients: [request.patient],
    publicUrl: deps.publicUrl,
  });
  const [written] = await deps.store.resources.writeBatch(tenant, [
    {
      op: 'create',
      resource: notice,
      options: { id, ifNoneExistIdentifier: { system: ID_PATIENT_PAYMENT, value: request.key } },
    },
    { op: 'create', resource: event, options: { id: event.id } },
  ]);
  const created = written?.op === 'create' ? written.result.created : true;
  return {
    status: created ? 201 : 200,
    message: created ? `${request.kind} recorded` : 'already recorded',
    notice: id,
    balance: round2(owed - (created ? request.amount : 0)),
  };
}
