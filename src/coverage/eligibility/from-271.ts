/**
 * A 271 (as read by src/x12/271) in the same shape as a FHIR payer's answer: a
 * CoverageEligibilityResponse to the request it answers, so everything after (the summary, the
 * findings, the estimate) reads one form. Pure.
 *
 * Mapping (005010X279A1 271 → FHIR R4 CoverageEligibilityResponse):
 * - the patient's level is the 2000C/2000D whose TRN (TRN01 2) returns the request's trace number;
 * - AAA on it or above it → `error` (X12 901 code) and outcome `error`;
 * - 2100A NM1*PR → `insurer` (who answered; the payer id in NM109);
 * - EB01 1–5 / 6–8 for service type 30 (or none named) → `insurance.inforce` true / false;
 * - DTP 346/347 (plan begin/end), else 291 (plan), else 356/357 or 307 (eligibility) → `benefitPeriod`;
 * - EB01 A co-insurance, B co-payment, C deductible, G out of pocket → `insurance.item` per service
 *   type (X12 1365), coverage level (EB02 IND/FAM → unit), network (EB12 Y/N → in/out) and time
 *   period (EB06 → `term`, as X12 615, with HL7's `annual` for calendar, service and contract years):
 *   `benefit` with HL7's benefit-type (deductible, copay, copay-percent) and X12's 1390 code
 *   (G has no HL7 code); amounts in `allowedMoney`, co-insurance as a whole percent in
 *   `allowedUnsignedInt`;
 * - EB11 Y/N → `authorizationRequired` of that item; EB13 (HC:code) → an item for that procedure;
 *   EB01 I → `excluded`; MSG → the item's `description`;
 * - EB01 R with a 2120 NM1 (PR or another payer) → another `insurance` entry, its contained
 *   Coverage naming that payer.
 */
import { ID_PAYER_ID } from '../../contract/canonical.ts';
import { ID_ELIGIBILITY_TRACE } from '../../contract/eligibility.ts';
import type {
  Coverage,
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  CoverageEligibilityResponseInsurance,
  CoverageEligibilityResponseInsuranceItem,
  CoverageEligibilityResponseInsuranceItemBenefit,
  Period,
  Reference,
} from '@medplum/fhirtypes';
import { SYSTEMS } from '../../coding/fhir/extract.ts';
import {
  ACTIVE_CODES,
  BENEFIT_CODES,
  FOLLOW_UP,
  INACTIVE_CODES,
  label,
  REJECT_REASONS,
  TIME_PERIODS,
} from '../../x12/271/codes.ts';
import type { Benefit271, Date271, Level271, Rejection271, Response271 } from '../../x12/271/types.ts';
import { serviceTypeLabel } from './service-types.ts';
import { HL7_SYSTEMS, X12_CODE_SYSTEMS } from './code-systems.ts';

/** X12 EB06 periods that are a year of some kind (HL7 benefit-term `annual`). */
const YEARLY = new Set(['21', '22', '23', '25']);
const COST_SHARING: Readonly<Record<string, { hl7?: string }>> = {
  A: { hl7: 'copay-percent' },
  B: { hl7: 'copay' },
  C: { hl7: 'deductible' },
  G: {},
};
const GENERAL = '30';

/** The request's trace number (its identifier in Dripline's trace system). */
export function traceOf(request: CoverageEligibilityRequest): string | undefined {
  return request.identifier?.find((i) => i.system === ID_ELIGIBILITY_TRACE)?.value;
}

/** The level (2000C/2000D) that answers this trace; undefined when none does. */
export function patientLevel(response: Response271, trace: string | undefined): Level271 | undefined {
  const candidates = response.levels.filter((l) => l.level === 'subscriber' || l.level === 'dependent');
  const traced = candidates.find((l) => l.traces.some((t) => t.type === '2' && t.number === trace));
  if (traced) {
    return traced;
  }
  // Without a returned trace, one subscriber and no dependent is unambiguous.
  return candidates.length === 1 && candidates[0]?.traces.length === 0 ? candidates[0] : undefined;
}

function ancestors(response: Response271, level: Level271 | undefined): Level271[] {
  const out: Level271[] = [];
  let parent = level?.parent;
  while (parent !== undefined) {
    const found = response.levels.find((l) => l.id === parent);
    if (!found) {
      break;
    }
    out.push(found);
    parent = found.parent;
  }
  return out;
}

function errorOf(rejection: Rejection271): NonNullable<CoverageEligibilityResponse['error']>[number] {
  const reason = label(REJECT_REASONS, rejection.reason);
  const follow = rejection.followUp ? `; ${label(FOLLOW_UP, rejection.followUp)}` : '';
  return {
    code: {
      coding: [
        { system: X12_CODE_SYSTEMS.rejectReason, code: rejection.reason || 'unknown', display: reason },
      ],
      text: `${reason}${follow}`,
    },
  };
}

function periodOf(dates: readonly Date271[]): Period | undefined {
  const find = (q: string): Date271 | undefined => dates.find((d) => d.qualifier === q);
  const begin = find('346')?.start ?? find('356')?.start;
  const end = find('347')?.start ?? find('357')?.start;
  const range = find('291') ?? find('307');
  const start = begin ?? range?.start;
  const stop = end ?? range?.end;
  return start || stop ? { ...(start ? { start } : {}), ...(stop ? { end: stop } : {}) } : undefined;
}

function termOf(period: string | undefined): CoverageEligibilityResponseInsuranceItem['term'] | undefined {
  if (period === undefined) {
    return undefined;
  }
  return {
    coding: [
      ...(YEARLY.has(period) ? [{ system: HL7_SYSTEMS.benefitTerm, code: 'annual' }] : []),
      ...(period === '32' ? [{ system: HL7_SYSTEMS.benefitTerm, code: 'lifetime' }] : []),
      { system: X12_CODE_SYSTEMS.timePeriod, code: period, display: label(TIME_PERIODS, period) },
    ],
  };
}

function benefitOf(eb: Benefit271): CoverageEligibilityResponseInsuranceItemBenefit | undefined {
  const kind = COST_SHARING[eb.code];
  if (!kind) {
    return undefined;
  }
  const type = {
    coding: [
      ...(kind.hl7 ? [{ system: HL7_SYSTEMS.benefitType, code: kind.hl7 }] : []),
      { system: X12_CODE_SYSTEMS.benefit, code: eb.code, display: label(BENEFIT_CODES, eb.code) },
    ],
    text: label(BENEFIT_CODES, eb.code),
  };
  if (eb.code === 'A') {
    return eb.percent === undefined ? undefined : { type, allowedUnsignedInt: Math.round(eb.percent * 100) };
  }
  return eb.amount === undefined ? undefined : { type, allowedMoney: { value: eb.amount, currency: 'USD' } };
}

interface ItemDraft {
  item: CoverageEligibilityResponseInsuranceItem;
  benefits: CoverageEligibilityResponseInsuranceItemBenefit[];
  messages: string[];
}

function itemKey(eb: Benefit271, category: string): string {
  return [
    category,
    eb.coverageLevel ?? '',
    eb.inNetwork ?? '',
    eb.timePeriod ?? '',
    eb.procedure?.code ?? '',
  ].join('|');
}

function newItem(eb: Benefit271, category: string): CoverageEligibilityResponseInsuranceItem {
  const network = eb.inNetwork === 'Y' ? 'in' : eb.inNetwork === 'N' ? 'out' : undefined;
  const unit = eb.coverageLevel === 'IND' ? 'individual' : eb.coverageLevel === 'FAM' ? 'family' : undefined;
  const term = termOf(eb.timePeriod);
  return {
    category: {
      coding: [{ system: X12_CODE_SYSTEMS.serviceType, code: category, display: serviceTypeLabel(category) }],
    },
    ...(eb.procedure?.code
      ? { productOrService: { coding: [{ system: SYSTEMS.hcpcs, code: eb.procedure.code }] } }
      : {}),
    ...(network ? { network: { coding: [{ system: HL7_SYSTEMS.benefitNetwork, code: network }] } } : {}),
    ...(unit ? { unit: { coding: [{ system: HL7_SYSTEMS.benefitUnit, code: unit }] } } : {}),
    ...(term ? { term } : {}),
  };
}

/** The insurance entries of the patient's level (in force, dates, items; other payers named) and the Coverages they contain. */
function insuranceOf(
  level: Level271,
  coverage: Reference<Coverage>,
  beneficiary: CoverageEligibilityRequest['patient'],
): { insurance: CoverageEligibilityResponseInsurance[]; contained: Coverage[] } {
  const status = (eb: Benefit271): boolean =>
    eb.serviceTypes.length === 0 || eb.serviceTypes.includes(GENERAL);
  const statusEntries = level.benefits.filter(
    (eb) => (ACTIVE_CODES.has(eb.code) || INACTIVE_CODES.has(eb.code)) && status(eb),
  );
  const inforce = statusEntries.some((eb) => ACTIVE_CODES.has(eb.code))
    ? true
    : statusEntries.length > 0
      ? false
      : undefined;
  const drafts = new Map<string, ItemDraft>();
  const draftFor = (eb: Benefit271, category: string): ItemDraft => {
    const key = itemKey(eb, category);
    let draft = drafts.get(key);
    if (!draft) {
      draft = { item: newItem(eb, category), benefits: [], messages: [] };
      drafts.set(key, draft);
    }
    return draft;
  };
  const others: CoverageEligibilityResponseInsurance[] = [];
  const contained: Coverage[] = [];
  for (const eb of level.benefits) {
    const categories = eb.serviceTypes.length > 0 ? eb.serviceTypes : [GENERAL];
    if (eb.code === 'R') {
      for (const entity of eb.entities) {
        const id = `other-${contained.length + 1}`;
        contained.push({
          resourceType: 'Coverage',
          id,
          status: 'active',
          beneficiary,
          payor: [
            {
              display: entity.name,
              ...(entity.id ? { identifier: { system: ID_PAYER_ID, value: entity.id } } : {}),
            },
          ],
        });
        others.push({ coverage: { reference: `#${id}` }, inforce: true });
      }
      continue;
    }
    for (const category of categories) {
      const cost = benefitOf(eb);
      const relevant =
        cost !== undefined ||
        eb.authorizationRequired === 'Y' ||
        eb.authorizationRequired === 'N' ||
        eb.code === 'I' ||
        eb.procedure !== undefined ||
        eb.messages.length > 0;
      if (!relevant) {
        continue;
      }
      const draft = draftFor(eb, category);
      if (cost) {
        draft.benefits.push(cost);
      }
      if (eb.authorizationRequired === 'Y' || eb.authorizationRequired === 'N') {
        draft.item.authorizationRequired =
          draft.item.authorizationRequired === true || eb.authorizationRequired === 'Y';
      }
      if (eb.code === 'I') {
        draft.item.excluded = true;
      }
      draft.messages.push(...eb.messages);
    }
  }
  const items = [...drafts.values()].map((d) => ({
    ...d.item,
    ...(d.benefits.length > 0 ? { benefit: d.benefits } : {}),
    ...(d.messages.length > 0 ? { description: [...new Set(d.messages)].join(' ') } : {}),
  }));
  const period = periodOf(level.dates);
  const own: CoverageEligibilityResponseInsurance = {
    coverage,
    ...(inforce !== undefined ? { inforce } : {}),
    ...(period ? { benefitPeriod: period } : {}),
    ...(items.length > 0 ? { item: items } : {}),
  };
  return { insurance: [own, ...others], contained };
}

export interface From271Input {
  readonly request: CoverageEligibilityRequest & { id: string };
  readonly response: Response271;
  readonly id: string;
  readonly now: Date;
}

/** The 271 as a CoverageEligibilityResponse to `request` (outcome `error` when it rejects it). */
export function responseFrom271(input: From271Input): CoverageEligibilityResponse & { id: string } {
  const { request, response } = input;
  const trace = traceOf(request);
  const level = patientLevel(response, trace);
  const above = ancestors(response, level);
  const source = response.levels.find((l) => l.level === 'source');
  const rejections = [
    ...(level?.rejections ?? []),
    ...above.flatMap((l) => l.rejections),
    ...(level ? [] : response.levels.flatMap((l) => l.rejections)),
  ];
  const payer = source?.party;
  // The request always names the coverage it asks about (./request.ts).
  const coverage = request.insurance?.[0]?.coverage ?? { reference: 'Coverage/unknown' };
  const { insurance, contained } = level
    ? insuranceOf(level, coverage, request.patient)
    : { insurance: [], contained: [] };
  const errors = rejections.map(errorOf);
  const missing = !level && rejections.length === 0;
  const own = insurance[0];
  const disposition = missing
    ? 'The 271 answers no subscriber or dependent with this request’s trace number'
    : errors.length > 0
      ? `Not answered: ${errors.map((e) => e.code.text ?? '').join('; ')}`
      : own?.inforce === true
        ? 'Coverage active'
        : own?.inforce === false
          ? 'Coverage not active'
          : 'Answered without a coverage status';
  return {
    resourceType: 'CoverageEligibilityResponse',
    id: input.id,
    ...(contained.length > 0 ? { contained } : {}),
    identifier: [...(trace ? [{ system: ID_ELIGIBILITY_TRACE, value: trace }] : [])],
    status: 'active',
    purpose: request.purpose,
    patient: request.patient,
    ...(request.servicedDate ? { servicedDate: request.servicedDate } : {}),
    created: input.now.toISOString(),
    ...(request.provider ? { requestor: request.provider } : {}),
    request: { reference: `CoverageEligibilityRequest/${request.id}` },
    outcome: errors.length > 0 || missing ? 'error' : 'complete',
    disposition,
    insurer: payer
      ? {
          ...(payer.id ? { identifier: { system: ID_PAYER_ID, value: payer.id } } : {}),
          display: payer.name,
        }
      : request.insurer,
    ...(insurance.length > 0 ? { insurance } : {}),
    ...(missing
      ? {
          error: [
            {
              code: {
                coding: [
                  { system: X12_CODE_SYSTEMS.rejectReason, code: '80', display: label(REJECT_REASONS, '80') },
                ],
                text: 'no answer for this request in the 271',
              },
            },
          ],
        }
      : errors.length > 0
        ? { error: errors }
        : {}),
  };
}
