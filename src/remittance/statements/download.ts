/**
 * A statement as issued, for whoever asks for it: `GET /api/remittance/statements/{id}/pdf`
 * (./routes.ts) and the billers' app (src/web/api/statements.ts) both call these, so the PDF a
 * biller downloads is the one the API serves. Callers audit the read (they know the agent).
 */
import type { Invoice } from '@medplum/fhirtypes';
import type { TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';
import { searchAll } from '../../store/search-all.ts';
import type { StatementDeps } from './run.ts';
import { patientBalances, statementPdf } from './run.ts';
import { cycleOf } from './rules.ts';

export type IssuedStatementPdf =
  | { readonly ok: true; readonly pdf: Buffer; readonly patient: string; readonly account?: string }
  | { readonly ok: false; readonly status: 404 | 409; readonly message: string };

/** The stored statement (Invoice) of the tenant, or undefined. */
export async function readStatementInvoice(
  deps: Pick<StatementDeps, 'store'>,
  tenant: TenantId,
  id: string,
): Promise<(Invoice & { id: string }) | undefined> {
  const found = await readOptional<Invoice>(deps.store, tenant, 'Invoice', id);
  return found?.resourceType === 'Invoice' ? found : undefined;
}

/**
 * The statement's PDF as issued: its lines and amount due as stored, the aging as of today (the
 * patient's current balance); 409 when the patient no longer has a balance to print.
 */
export async function issuedStatementPdf(
  deps: Pick<StatementDeps, 'store' | 'tenants' | 'now'>,
  tenant: TenantId,
  invoice: Invoice,
): Promise<IssuedStatementPdf> {
  const patient = invoice.subject?.reference ?? '';
  const [balance] = patient ? await patientBalances(deps, tenant, patient) : [];
  if (!balance) {
    return { ok: false, status: 409, message: `${patient || 'The statement'} has no balance` };
  }
  const date = (invoice.date ?? '').slice(0, 10);
  const config = deps.tenants().find((t) => t.id === tenant);
  const cycle = cycleOf(date, config?.statements);
  const pdf = await statementPdf(
    deps,
    tenant,
    invoice,
    {
      ...balance,
      totals: { ...balance.totals, balance: invoice.totalNet?.value ?? balance.totals.balance },
    },
    { start: cycle.start, due: (invoice.paymentTerms ?? '').replace('Due by ', '') || cycle.due, date },
  );
  return { ok: true, pdf, patient, account: balance.account };
}

/** The id, read and rendered: 404 when the tenant has no such statement. */
export async function statementPdfById(
  deps: Pick<StatementDeps, 'store' | 'tenants' | 'now'>,
  tenant: TenantId,
  id: string,
): Promise<IssuedStatementPdf & { invoice?: Invoice & { id: string } }> {
  const invoice = await readStatementInvoice(deps, tenant, id);
  if (!invoice) {
    return { ok: false, status: 404, message: `No statement ${id}` };
  }
  return { ...(await issuedStatementPdf(deps, tenant, invoice)), invoice };
}

export interface StatementSummary {
  readonly id: string;
  readonly date: string;
  readonly due?: string;
  readonly amountDue: number;
  readonly status: string;
}

/** A patient's statements, newest first. */
export async function statementsOfPatient(
  deps: Pick<StatementDeps, 'store'>,
  tenant: TenantId,
  patient: string,
): Promise<StatementSummary[]> {
  const invoices = await searchAll<Invoice>(deps.store, tenant, 'Invoice', [
    { code: 'subject', kind: 'reference', values: [patient] },
  ]);
  return invoices
    .filter((i) => i.subject?.reference === patient)
    .map((i) => {
      const due = (i.paymentTerms ?? '').replace(/^Due by /, '');
      return {
        id: i.id,
        date: (i.date ?? '').slice(0, 10),
        ...(due ? { due } : {}),
        amountDue: i.totalNet?.value ?? 0,
        status: i.status,
      };
    })
    .sort((a, b) => b.date.localeCompare(a.date) || a.id.localeCompare(b.id));
}
