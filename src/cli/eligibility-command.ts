/**
 * `dripline eligibility <patient> --client <client.json> [--url <dripline base>]`
 *
 * Asks Dripline to check a patient's coverage with every payer now, as any API client would: a
 * token from the client file (SMART Backend Services), then `POST /api/eligibility/check`. Prints
 * what each payer said (in force, plan dates, deductible and out-of-pocket left, co-insurance,
 * authorization) and the findings a person must act on; the full answer with `--json`.
 */
import { UsageError } from './client-command.ts';
import { API_CLIENT_OPTIONS, requestDriplineApi } from './api-request.ts';
import { parseCommandLine } from './args.ts';

export const ELIGIBILITY_USAGE = `Usage: npm run cli -- eligibility <patient id> --client <client.json> [--url <base>] [--json]

Checks the patient's coverage with every payer now (POST /api/eligibility/check) and prints the answers.
The client needs system/CoverageEligibilityRequest.c system/Patient.r system/Coverage.r
system/CoverageEligibilityResponse.rs.

  <patient id>       the Patient's id (or "Patient/<id>")
  --client <file>    a client file from "client create"
  --url <base>       Dripline's base URL (default: from the client file's token_url)
  --json             print the whole answer`;

interface ServiceBenefits {
  category: string;
  deductible?: { total?: number; remaining?: number };
  outOfPocket?: { total?: number; remaining?: number };
  coinsurancePercent?: number;
  copay?: number;
  authorizationRequired?: boolean;
}
interface Outcome {
  coverage: string;
  payer?: string;
  state: string;
  summary?: {
    inforce?: boolean;
    planStart?: string;
    planEnd?: string;
    payerName?: string;
    disposition?: string;
    benefits: ServiceBenefits[];
  };
  findings: { severity: string; ruleId: string; message: string; fix: string }[];
}

const money = (n: number | undefined): string => (n === undefined ? '?' : `$${n.toFixed(2)}`);

/** The answer in words, one coverage after the other. */
export function describeCheck(body: {
  patient?: string;
  date?: string;
  outcomes?: Outcome[];
  note?: string;
}): string {
  const out: string[] = [`${body.patient ?? '?'}${body.date ? ` — date of service ${body.date}` : ''}`];
  if (body.note) {
    out.push(`  ${body.note}`);
  }
  for (const o of body.outcomes ?? []) {
    const s = o.summary;
    const status =
      s?.inforce === true ? 'ACTIVE' : s?.inforce === false ? 'NOT ACTIVE' : o.state.toUpperCase();
    out.push(
      `${o.coverage} (${o.payer ?? 'no configured payer'}): ${status}${s?.planStart || s?.planEnd ? `, plan ${s.planStart ?? '…'} to ${s.planEnd ?? '…'}` : ''}${o.state === 'fresh' ? ' (answer on file, still fresh)' : ''}`,
    );
    for (const b of s?.benefits ?? []) {
      out.push(
        `  service type ${b.category}: deductible left ${money(b.deductible?.remaining)} of ${money(b.deductible?.total)}, out-of-pocket left ${money(b.outOfPocket?.remaining)}, co-insurance ${b.coinsurancePercent ?? '?'}%, co-pay ${money(b.copay)}${b.authorizationRequired ? ', AUTHORIZATION REQUIRED' : ''}`,
      );
    }
    for (const f of o.findings) {
      out.push(`  ${f.severity.toUpperCase()} ${f.ruleId}: ${f.message} Fix: ${f.fix}`);
    }
  }
  return out.join('\n');
}

export async function runEligibility(argv: string[]): Promise<string> {
  const parsed = parseCommandLine(argv, API_CLIENT_OPTIONS, ELIGIBILITY_USAGE);
  const [patient, ...extra] = parsed.positionals;
  if (!patient || extra.length > 0 || !parsed.values.client) {
    throw new UsageError('eligibility needs one <patient id> and --client <client.json>');
  }
  const { status, body } = await requestDriplineApi(
    { client: parsed.values.client, url: parsed.values.url },
    '/api/eligibility/check',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ patient: patient.startsWith('Patient/') ? patient : `Patient/${patient}` }),
    },
  );
  if (status === 202) {
    return `The payers are slow: the check goes on (job ${String(body['job'])}); see GET /api/eligibility/${patient.startsWith('Patient/') ? patient : `Patient/${patient}`} later.`;
  }
  return parsed.values.json ? JSON.stringify(body, null, 2) : describeCheck(body);
}
