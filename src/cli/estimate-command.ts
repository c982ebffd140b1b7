/**
 * `dripline estimate <MedicationRequest/id|ServiceRequest/id|Encounter/id> --client <client.json> [--url <base>] [--json]`
 *
 * Asks Dripline for a patient estimate as any API client would: a token from the client file (SMART
 * Backend Services), then `GET /api/coverage/estimate?subject=`. Prints per line the expected
 * allowed amount and the patient's share (co-payment, deductible, co-insurance) with the input each
 * figure came from; the ExplanationOfBenefit itself with `--json`.
 */
import type { ExplanationOfBenefit } from '@medplum/fhirtypes';
import { UsageError } from './client-command.ts';
import { API_CLIENT_OPTIONS, requestDriplineApi } from './api-request.ts';
import { parseCommandLine } from './args.ts';

export const ESTIMATE_USAGE = `Usage: npm run cli -- estimate <MedicationRequest/id|ServiceRequest/id|Encounter/id> --client <client.json> [--url <base>] [--json]

The patient estimate of an order or a coded encounter (GET /api/coverage/estimate): per line the
expected allowed amount and the patient's share, each figure with the input it came from.
The client needs system/ExplanationOfBenefit.r system/ChargeItem.rs system/Coverage.rs
system/Organization.r system/CoverageEligibilityRequest.rs system/CoverageEligibilityResponse.rs
and read on the subject's type (an order: also system/Medication.r system/Encounter.r).`;

const money = (n: number | undefined): string => (n === undefined ? '?' : `$${n.toFixed(2)}`);

/** The estimate in words: the lines, then the totals, then where each figure came from. */
export function describeEstimate(eob: ExplanationOfBenefit): string {
  const out = [eob.disposition ?? 'Estimate'];
  for (const item of eob.item ?? []) {
    const code = item.productOrService.coding?.[0]?.code ?? '?';
    const parts = (item.adjudication ?? []).map(
      (a) => `${a.category.text ?? a.category.coding?.[0]?.code ?? '?'} ${money(a.amount?.value)}`,
    );
    out.push(
      `  ${item.sequence}. ${code} × ${item.quantity?.value ?? '?'} on ${item.servicedDate ?? '?'}: ${parts.join(', ')}`,
    );
    for (const a of item.adjudication ?? []) {
      const basis = a.extension?.[0]?.valueString;
      if (basis) {
        out.push(`       ${a.category.text ?? '?'}: ${basis}`);
      }
    }
  }
  for (const total of eob.total ?? []) {
    out.push(
      `  total ${total.category.text ?? total.category.coding?.[0]?.code ?? '?'}: ${money(total.amount.value)}`,
    );
  }
  return out.join('\n');
}

export async function runEstimate(argv: string[]): Promise<string> {
  const parsed = parseCommandLine(argv, API_CLIENT_OPTIONS, ESTIMATE_USAGE);
  const [subject, ...extra] = parsed.positionals;
  if (!subject || extra.length > 0 || !parsed.values.client) {
    throw new UsageError(
      'estimate needs one <MedicationRequest/id|ServiceRequest/id|Encounter/id> and --client <client.json>',
    );
  }
  const { body } = await requestDriplineApi(
    { client: parsed.values.client, url: parsed.values.url },
    `/api/coverage/estimate?subject=${encodeURIComponent(subject)}`,
    { headers: { accept: 'application/fhir+json' } },
  );
  return parsed.values.json
    ? JSON.stringify(body, null, 2)
    : describeEstimate(body as unknown as ExplanationOfBenefit);
}
