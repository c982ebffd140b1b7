/**
 * What to do about a denial: a table of rules by CARC (and RARC where the remark decides), each
 * with the action, the recommended fix in words and its source, and the facts Dripline adds as
 * evidence — the authorization on file for an authorization denial, the coding rule that chose the
 * line's modifiers for a modifier denial, the claim's first submission for a timely-filing denial.
 * The first rule whose codes the denial carries wins; a denial no rule names gets its queue's
 * general advice. Pure: the facts are gathered by the caller (../work/facts.ts).
 *
 * Sources: ../shared/research/market.md §2 ("CARC codes that matter for infusion, and what to
 * do"), the X12 CARC/RARC lists for what the codes mean, CMS Claims Processing Manual ch. 1
 * §70 (timely filing) and ch. 29 (appeals), 42 CFR 405.942 (Medicare redetermination window).
 */
import type { DenialCategory } from '../codes.ts';
import type { DenialGroup } from './denials.ts';

/**
 * correct: fix and send a corrected claim; appeal: ask for reconsideration with evidence;
 * write-off: adjust off; bill-patient: only with a signed waiver; other-payer: bill the right payer
 * first; review: look before acting (duplicates, pended claims).
 */
export type FixAction = 'correct' | 'appeal' | 'write-off' | 'bill-patient' | 'other-payer' | 'review';

export interface FixRule {
  readonly id: string;
  /** The rule applies when the denial carries one of these CARCs … */
  readonly carcs: readonly string[];
  /** … and, when given, one of these RARCs. */
  readonly rarcs?: readonly string[];
  readonly action: FixAction;
  readonly text: string;
  readonly source: string;
}

const MARKET = '../shared/research/market.md §2';

export const FIX_RULES: readonly FixRule[] = [
  {
    id: 'authorization-absent',
    carcs: ['197', '15', '62', '243', '284', '296'],
    action: 'correct',
    text: 'Put the authorization on file on the claim (insurance preAuthRef / 837 REF*G1) and send a corrected claim; if none covers the service, ask the payer for a retro-authorization, then correct or appeal.',
    source: `${MARKET}, CARC 197 / 15`,
  },
  {
    id: 'authorization-exceeded',
    carcs: ['198', '210', '302'],
    action: 'appeal',
    text: 'The units, visits or dates went beyond the authorization: get it extended (or a new one for the excess), then send a corrected claim or appeal; otherwise write off the excess.',
    source: `${MARKET}, CARC 198`,
  },
  {
    id: 'rendering-npi',
    carcs: ['16', '206', '207', '208', 'A1'],
    rarcs: ['N290'],
    action: 'correct',
    text: "The rendering provider's NPI is missing or invalid: put the rendering clinician's NPI on the claim (837 loop 2310B / 2420A), then send a corrected claim.",
    source: 'X12 RARC N290; 005010X222A1 loop 2310B',
  },
  {
    id: 'ndc',
    carcs: ['16', 'A1', '211'],
    rarcs: ['M119'],
    action: 'correct',
    text: 'The NDC is missing or invalid: put the 11-digit NDC with its N4 qualifier, unit and quantity on the drug line, then send a corrected claim.',
    source: `${MARKET}, CARC 16 with RARC M119`,
  },
  {
    id: 'diagnosis-missing',
    carcs: ['16', 'A1'],
    rarcs: ['M76', 'MA63', 'M81'],
    action: 'correct',
    text: 'A diagnosis is missing, invalid or not specific enough: fix the ICD-10-CM codes and the line pointers, then send a corrected claim.',
    source: 'X12 RARC M76 / MA63',
  },
  {
    id: 'unprocessable',
    carcs: ['16', 'A1', '125'],
    rarcs: ['MA130', 'N517'],
    action: 'correct',
    text: 'Unprocessable claim, no appeal rights: fix what the remark codes name and send a new claim (not an appeal).',
    source: `${MARKET}, CARC 16 (MA130 means resubmit, no appeal)`,
  },
  {
    id: 'claim-number',
    carcs: ['129'],
    action: 'correct',
    text: "The corrected or void claim names the wrong original: put the payer's latest claim number (835 CLP07) in REF*F8 and send it again.",
    source: 'X12 CARC 129, RARC M47',
  },
  {
    id: 'modifier',
    carcs: ['4', '182'],
    action: 'correct',
    text: "Check the modifier rule that chose the line's modifiers (below) against the payer's policy; fix the documentation, or override the rule with a reason, then send a corrected claim.",
    source: `${MARKET}, CARC 4 (JW/JZ on single-dose drugs; 59/XU on administration codes)`,
  },
  {
    id: 'missing-information',
    carcs: ['16', '125', '226', '252', '163', '164', '250', '251', 'A1'],
    action: 'correct',
    text: 'Send what the remark codes name (an attachment through PWK/275 where one is asked for) with a corrected claim.',
    source: `${MARKET}, CARC 16 / 252`,
  },
  {
    id: 'timely-filing',
    carcs: ['29', 'B4'],
    action: 'appeal',
    text: "Appeal with proof of timely filing (the claim's first submission, below, and its acknowledgment); without proof, write off.",
    source: `${MARKET}, CARC 29; CMS Claims Processing Manual ch. 1 §70`,
  },
  {
    id: 'duplicate',
    carcs: ['18', 'B13'],
    action: 'review',
    text: "Check the original claim's status first and never resend it as is; if the service really was given again, send a corrected claim with modifier 76 (or 59/XS) and the records.",
    source: `${MARKET}, CARC 18`,
  },
  {
    id: 'bundled',
    carcs: ['97', '234', '236', '231', 'B10', '59'],
    action: 'write-off',
    text: 'Paid as part of another service: write it off, or when it was truly distinct, send a corrected claim with the NCCI modifier (59/XE/XS/XP/XU) the documentation supports.',
    source: `${MARKET}, CARC 97 / 234`,
  },
  {
    id: 'units',
    carcs: ['151', '153', '222'],
    action: 'correct',
    text: 'More units than the payer allows: check the dose-to-unit conversion and the MUE; correct the units, or appeal with the records.',
    source: `${MARKET}, CARC 151`,
  },
  {
    id: 'medical-necessity',
    carcs: ['50', '11', '167', '55', '56', '150', '152', '188', '272', '273', '114'],
    action: 'appeal',
    text: "Check the diagnosis codes against the payer's drug policy first; then appeal with a letter of medical necessity and the records (diagnosis, step therapy, dosing). Bill the patient only with a signed waiver.",
    source: `${MARKET}, CARC 50 / 11`,
  },
  {
    id: 'another-payer',
    carcs: ['22', '109', '19', '20', '21', 'B11', '280', '290', '291', '292'],
    action: 'other-payer',
    text: "Another payer comes first or this is not this payer's claim: bill the right payer, then send this payer the claim with the prior payer's adjudication.",
    source: `${MARKET}, CARC 22 / 109`,
  },
  {
    id: 'coverage',
    carcs: ['26', '27', '31', '32', '33', '140', '177', '200', '238', '239'],
    action: 'correct',
    text: 'Re-verify eligibility (member id, name, dates, plan): fix the coverage and send the claim again, or bill the payer that covered the dates, or the patient.',
    source: `${MARKET}, CARC 26 / 27 / 31`,
  },
  {
    id: 'not-covered',
    carcs: ['96', '204', '49', '119', '35', '149', '202'],
    action: 'review',
    text: "Not covered under the patient's plan: check the benefit; a drug carved out to the pharmacy benefit goes to it; bill the patient only with a signed waiver, otherwise write off.",
    source: `${MARKET}, CARC 96 / 204 / 119`,
  },
  {
    id: 'provider-eligibility',
    carcs: ['185', '170', '171', '172', '8', 'B7', '299'],
    action: 'review',
    text: 'The provider is not eligible for this service with this payer: fix the enrollment or credentialing, then send a corrected claim; otherwise write off.',
    source: `${MARKET}, CARC 185`,
  },
];

/** General advice per queue, for denials no rule names. */
export const QUEUE_ADVICE: Readonly<Record<DenialCategory, { action: FixAction; text: string }>> = {
  eligibility: {
    action: 'review',
    text: 'Re-verify coverage and benefits, then correct, bill the right payer or write off.',
  },
  authorization: { action: 'correct', text: 'Find or obtain the authorization, then correct or appeal.' },
  coding: {
    action: 'correct',
    text: 'Check the codes and modifiers against the documentation, then send a corrected claim.',
  },
  documentation: { action: 'correct', text: 'Supply what the remark codes ask for with a corrected claim.' },
  'medical-necessity': {
    action: 'appeal',
    text: 'Appeal with the records and a letter of medical necessity.',
  },
  bundling: {
    action: 'write-off',
    text: 'Write off, or correct with the modifier the documentation supports.',
  },
  'timely-filing': { action: 'appeal', text: 'Appeal with proof of timely filing, or write off.' },
  duplicate: { action: 'review', text: "Check the original claim's status before anything is sent again." },
  'patient-responsibility': { action: 'bill-patient', text: 'Patient responsibility: bill the patient.' },
  other: { action: 'review', text: "Read the payer's remarks and decide: correct, appeal or write off." },
};

/** What Dripline knows that bears on the fix (gathered by ../work/facts.ts). */
export interface TriageFacts {
  /** Authorizations on file for the patient and payer that cover a denied line (number, dates, codes). */
  readonly authorizations?: readonly { readonly number: string; readonly covers: readonly string[] }[];
  /** By Claim.item.sequence: the coding rules that chose the line's modifiers (rule id and text). */
  readonly modifierRules?: Readonly<
    Record<number, readonly { readonly rule: string; readonly text: string }[]>
  >;
  /** When the claim was first sent (instant) and the payer's filing limit. */
  readonly firstSubmitted?: {
    readonly at: string;
    readonly serviceDate?: string;
    readonly limitDays: number;
  };
}

export interface RecommendedFix {
  readonly rule: string;
  readonly action: FixAction;
  readonly text: string;
  readonly source: string;
  /** Facts Dripline found for this denial, in words. */
  readonly evidence: readonly string[];
}

function ruleFor(group: DenialGroup): FixRule | undefined {
  return FIX_RULES.find(
    (r) =>
      r.carcs.some((c) => group.carcs.includes(c)) &&
      (r.rarcs === undefined || r.rarcs.some((m) => group.rarcs.includes(m))),
  );
}

/** The recommended fix of a denial group, with the evidence the facts give. */
export function recommendedFix(group: DenialGroup, facts: TriageFacts = {}): RecommendedFix {
  const rule = ruleFor(group);
  const evidence: string[] = [];
  if (rule?.id === 'authorization-absent' || rule?.id === 'authorization-exceeded') {
    const auths = facts.authorizations ?? [];
    evidence.push(
      auths.length > 0
        ? `Authorization on file: ${auths.map((a) => `${a.number} (covers ${a.covers.join(', ')})`).join('; ')}.`
        : 'No authorization on file covers the denied services: request a retro-authorization.',
    );
  }
  if (rule?.id === 'modifier') {
    for (const line of group.lines) {
      const rules = line.itemSequence !== undefined ? facts.modifierRules?.[line.itemSequence] : undefined;
      evidence.push(
        rules && rules.length > 0
          ? `Line ${line.itemSequence ?? line.position} ${line.code}${line.modifiers.length > 0 ? `-${line.modifiers.join('-')}` : ''}: ${rules.map((r) => `rule ${r.rule} (${r.text})`).join('; ')}.`
          : `Line ${line.itemSequence ?? line.position} ${line.code}: no coding rule chose its modifiers (none billed or set by hand).`,
      );
    }
  }
  if (rule?.id === 'timely-filing') {
    const first = facts.firstSubmitted;
    if (first) {
      const days =
        first.serviceDate !== undefined
          ? Math.round((Date.parse(first.at.slice(0, 10)) - Date.parse(first.serviceDate)) / 86_400_000)
          : undefined;
      evidence.push(
        `First sent ${first.at.slice(0, 10)}${
          days !== undefined ? `, ${days} day(s) after the date of service ${first.serviceDate ?? ''}` : ''
        }; the payer's limit is ${first.limitDays} days${
          days !== undefined
            ? days <= first.limitDays
              ? ' (within it: appeal with this proof)'
              : ' (past it)'
            : ''
        }.`,
      );
    } else {
      evidence.push('No record of an earlier submission of this claim.');
    }
  }
  if (rule) {
    return { rule: rule.id, action: rule.action, text: rule.text, source: rule.source, evidence };
  }
  const advice = QUEUE_ADVICE[group.category];
  return {
    rule: `queue-${group.category}`,
    action: advice.action,
    text: advice.text,
    source: MARKET,
    evidence,
  };
}
