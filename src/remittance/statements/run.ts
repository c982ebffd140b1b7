/**
 * The statement run of a tenant's cycle, and a patient's balance. For each patient whose payers
 * left them something to pay: the balance (./ledger.ts), aging and collections status
 * (./rules.ts), the Account written with its status; a positive balance not on hold gets the
 * cycle's statement (an Invoice created only if the cycle has none: a second run finds the first,
 * unchanged) and its PDF under `{dataDir}/statements/{tenant}/{cycle}/`; a credit balance raises a
 * refund work item (never kept silently). One AuditEvent per run names the patients.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ExplanationOfBenefit, Invoice, Patient, PaymentNotice, Task } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { CS_WORK_ITEM } from '../../contract/canonical.ts';
import { ID_STATEMENT } from '../../contract/appeals.ts';
import { buildAuditEvent } from '../../fhir/audit.ts';
import type { BatchOperation, Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { renderPdf, usd } from '../documents/pdf.ts';
import { todayFor } from '../appeals/actions.ts';
import type { Balance, StatementLine } from './ledger.ts';
import { balanceOf, creditsOf, statementLines } from './ledger.ts';
import type { AgingBucket, CollectionsStatus } from './rules.ts';
import { agingOf, collectionsStatus, cycleOf, unpaidCharges } from './rules.ts';
import { accountId, accountOf, statementDocument, statementInvoice, statementKey } from './statement.ts';

export interface StatementDeps {
  readonly store: Pick<Store, 'resources'>;
  readonly publicUrl: string;
  readonly now: () => Date;
  readonly tenants: () => readonly TenantConfig[];
  /** Where statement PDFs are written (`{dataDir}/statements/…`); none: not written. */
  readonly dataDir?: string;
}

export const REFUND_TASK = 'patient-refund-due';

export interface PatientBalance {
  readonly patient: string;
  readonly account: string;
  readonly lines: readonly StatementLine[];
  readonly totals: Omit<Balance, 'chargesByDate'>;
  readonly aging: Record<AgingBucket, number>;
  readonly status: CollectionsStatus;
}

const nameOf = (p: Patient | undefined): string =>
  [...(p?.name?.[0]?.given ?? []), p?.name?.[0]?.family ?? ''].join(' ').trim() || 'Patient';

/** Every patient's balance (patients with something billed to them), by patient reference. */
export async function patientBalances(
  deps: Pick<StatementDeps, 'store' | 'tenants' | 'now'>,
  tenant: TenantId,
  only?: string,
): Promise<PatientBalance[]> {
  const config = deps.tenants().find((t) => t.id === tenant);
  const today = todayFor(deps, tenant);
  const eobs = await searchAll<ExplanationOfBenefit>(
    deps.store,
    tenant,
    'ExplanationOfBenefit',
    only ? [{ code: 'patient', kind: 'reference', values: [only] }] : [],
  );
  const notices = await searchAll<PaymentNotice>(deps.store, tenant, 'PaymentNotice');
  const byPatient = new Map<string, ExplanationOfBenefit[]>();
  for (const e of eobs) {
    const p = e.patient.reference;
    if (p?.startsWith('Patient/')) {
      byPatient.set(p, [...(byPatient.get(p) ?? []), e]);
    }
  }
  if (only && !byPatient.has(only)) {
    byPatient.set(only, []);
  }
  const out: PatientBalance[] = [];
  for (const [patient, list] of [...byPatient].sort((a, b) => a[0].localeCompare(b[0]))) {
    const account = accountId(patient);
    const lines = statementLines(list);
    const credits = creditsOf(notices.filter((n) => n.request?.reference === `Account/${account}`));
    if (lines.length === 0 && credits.length === 0) {
      continue;
    }
    const balance = balanceOf(lines, credits);
    const unpaid = unpaidCharges(balance.chargesByDate, balance.payments + balance.adjustments);
    out.push({
      patient,
      account,
      lines,
      totals: {
        charges: balance.charges,
        payments: balance.payments,
        adjustments: balance.adjustments,
        balance: balance.balance,
      },
      aging: agingOf(unpaid, today),
      status: collectionsStatus(balance.balance, unpaid, today, config?.statements),
    });
  }
  return out;
}

export interface StatementRunReport {
  readonly cycle: string;
  readonly date: string;
  readonly due: string;
  readonly statements: readonly {
    readonly invoice: string;
    readonly patient: string;
    readonly amountDue: number;
    readonly created: boolean;
    readonly pdf?: string;
  }[];
  readonly held: readonly string[];
  readonly refunds: readonly { readonly patient: string; readonly credit: number; readonly task: string }[];
}

export async function statementPdf(
  deps: Pick<StatementDeps, 'store' | 'tenants'>,
  tenant: TenantId,
  invoice: Invoice,
  balance: PatientBalance,
  cycle: { start: string; due: string; date: string },
): Promise<Buffer> {
  const config = deps.tenants().find((t) => t.id === tenant);
  const patient = (await deps.store.resources
    .read(tenant, 'Patient', balance.patient.slice('Patient/'.length))
    .catch(() => undefined)) as Patient | undefined;
  const provider = config?.billing?.name ?? config?.name ?? tenant;
  return renderPdf(
    {
      title: `Statement ${invoice.id ?? ''}`,
      author: provider,
      created: new Date(`${cycle.date}T12:00:00Z`),
    },
    statementDocument({
      tenant,
      patient: balance.patient,
      cycle: cycle.start,
      date: cycle.date,
      due: cycle.due,
      lines: balance.lines,
      balance: { ...balance.totals, chargesByDate: [] },
      aging: balance.aging,
      status: balance.status,
      now: invoice.date ?? '',
      patientName: nameOf(patient),
      provider,
      payTo:
        config?.statements?.payTo ??
        `Mail a check payable to ${provider}${config?.billing ? ` to ${config.billing.address.line.join(', ')}, ${config.billing.address.city}, ${config.billing.address.state} ${config.billing.address.postalCode}` : ''}, with your account number.`,
      contact:
        config?.statements?.contact ??
        `${provider} billing office${config?.billing?.phone ? `, ${config.billing.phone}` : ''}.`,
    }),
  );
}

export async function runStatements(
  deps: StatementDeps,
  tenant: TenantId,
  actor: { clientId: string; requestId?: string },
): Promise<StatementRunReport> {
  const config = deps.tenants().find((t) => t.id === tenant);
  const today = todayFor(deps, tenant);
  const { start, due } = cycleOf(today, config?.statements);
  const nowIso = deps.now().toISOString();
  const balances = await patientBalances(deps, tenant);
  const statements: {
    invoice: string;
    patient: string;
    amountDue: number;
    created: boolean;
    pdf?: string;
  }[] = [];
  const held: string[] = [];
  const refunds: { patient: string; credit: number; task: string }[] = [];
  for (const b of balances) {
    const writes: BatchOperation[] = [
      { op: 'update', resource: accountOf(b.patient, b.status), options: { upsert: true } },
    ];
    if (b.status === 'refund-due') {
      const task: Task & { id: string } = {
        resourceType: 'Task',
        id: `refund-${b.account}`,
        status: 'ready',
        intent: 'order',
        priority: 'routine',
        code: {
          coding: [{ system: CS_WORK_ITEM, code: REFUND_TASK }],
          text: 'Patient credit balance: refund due',
        },
        description: `The patient paid ${usd(-b.totals.balance)} more than they owe: refund it (or apply it to a balance the patient agrees to).`,
        focus: { reference: `Account/${b.account}` },
        for: { reference: b.patient },
        authoredOn: nowIso,
        lastModified: nowIso,
      };
      const existing = await deps.store.resources.read(tenant, 'Task', task.id).catch(() => undefined);
      if (!existing) {
        writes.push({ op: 'create', resource: task, options: { id: task.id } });
      }
      refunds.push({ patient: b.patient, credit: -b.totals.balance, task: task.id });
      await deps.store.resources.writeBatch(tenant, writes);
      continue;
    }
    if (b.status === 'hold') {
      held.push(b.patient);
    }
    if (b.totals.balance <= 0 || b.status === 'hold') {
      await deps.store.resources.writeBatch(tenant, writes);
      continue;
    }
    const invoice = statementInvoice({
      tenant,
      patient: b.patient,
      cycle: start,
      date: today,
      due,
      lines: b.lines,
      balance: { ...b.totals, chargesByDate: [] },
      aging: b.aging,
      status: b.status,
      now: nowIso,
    });
    const key = statementKey(tenant, b.account, start);
    writes.push({
      op: 'create',
      resource: invoice,
      options: { id: invoice.id, ifNoneExistIdentifier: { system: ID_STATEMENT, value: key } },
    });
    const results = await deps.store.resources.writeBatch(tenant, writes);
    const result = results[1];
    const created = result?.op === 'create' ? result.result.created : true;
    const stored = result?.op === 'create' ? (result.result.resource as Invoice) : invoice;
    let file: string | undefined;
    if (created && deps.dataDir) {
      const dir = path.join(deps.dataDir, 'statements', tenant, start);
      mkdirSync(dir, { recursive: true });
      file = path.join(dir, `${invoice.id}.pdf`);
      writeFileSync(file, await statementPdf(deps, tenant, stored, b, { start, due, date: today }), {
        mode: 0o600,
      });
    }
    statements.push({
      invoice: stored.id ?? invoice.id,
      patient: b.patient,
      amountDue: stored.totalNet?.value ?? b.totals.balance,
      created,
      ...(file ? { pdf: file } : {}),
    });
  }
  const patients = balances.map((b) => b.patient);
  if (patients.length > 0) {
    const now = deps.now();
    const event = buildAuditEvent({
      id: `audit-${createHash('sha256').update(`statements|${tenant}|${start}|${now.toISOString()}|${actor.clientId}`).digest('hex').slice(0, 32)}`,
      now,
      interaction: 'create',
      outcome: '0',
      clientId: actor.clientId,
      ...(actor.requestId ? { requestId: actor.requestId } : {}),
      resources: [
        ...statements.map((s) => `Invoice/${s.invoice}`),
        ...balances.map((b) => `Account/${b.account}`),
      ],
      patients,
      publicUrl: deps.publicUrl,
    });
    await deps.store.resources.create(tenant, event, { id: event.id });
  }
  return { cycle: start, date: today, due, statements, held, refunds };
}
