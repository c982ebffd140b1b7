/**
 * The day plan: the visit mix of a day at the centre (regimen, care setting, payer mix) and the
 * messy cases a real day has, each attached to the visit it happens on, with the deliberate errors
 * it carries and the rule meant to catch each (`SeededError`). Patients cycle through the plan in
 * order (the seed decides who gets which entry); the first MIN_PATIENTS_FOR_FULL_COVERAGE entries
 * hold every setting, therapy class, payer type and messy case.
 */
import type { AdminSpec, PracKey, SeededError, Setting } from '../seed/model.ts';
import { push } from '../seed/regimen-terms.ts';
import { qty } from '../seed/values.ts';
import type { RegimenKey } from './regimens.ts';

/** The smallest `patients` for which every setting, therapy class, payer type and messy case appears. */
export const MIN_PATIENTS_FOR_FULL_COVERAGE = 16;

export type PayerPlan = 'medicare' | 'medicaid' | 'commercial' | 'medicare+medicaid' | 'medicare+commercial';

/** The day's visit mix and the messy cases attached to it. */
export interface PlanEntry {
  regimen: RegimenKey;
  setting: Setting;
  payer: PayerPlan;
  dx?: readonly string[];
  orderer?: PracKey;
  /** Home: the therapy episode begins today (first nursing visit). */
  newEpisode?: boolean;
  /** Home: an evening visit whose infusion runs past midnight. */
  night?: boolean;
  /** Messy cases: fields set on the regimen's first administration of `product`, in this order. */
  changes?: readonly { readonly product: string; readonly set: Partial<AdminSpec> }[];
  /** Administrations the regimen does not have (given today all the same), added after `changes`. */
  extra?: readonly AdminSpec[];
  note?: string;
  /** The commercial coverage is the spouse's, and the EHR never recorded who the spouse is. */
  spouseNotRecorded?: boolean;
  /** The payer ended the primary coverage last month; the EHR still shows it active. */
  coverageEndedAtPayer?: boolean;
  /** The entry's deliberate errors (see SeededError). */
  seeded?: readonly Omit<SeededError, 'encounter'>[];
}

/** The payer requires prior authorization for the drug and none is on file (prior-auth.json). */
const noAuthorization = (drug: string): Omit<SeededError, 'encounter'> => ({
  caughtBy: 'scrub',
  rule: 'prior-auth',
  what: `${drug}: the payer requires prior authorization and none is on file`,
});

/** The first MIN_PATIENTS_FOR_FULL_COVERAGE entries cover every setting, class, payer and messy case. */
export const PLAN: readonly PlanEntry[] = [
  {
    regimen: 'paclitaxel-carboplatin',
    setting: 'office',
    payer: 'medicare',
    note: 'hydration before sequential chemo',
  },
  {
    regimen: 'folfox',
    setting: 'office',
    payer: 'commercial',
    note: 'concurrent infusions, 5-FU pump with no stop time',
    seeded: [noAuthorization('oxaliplatin and fluorouracil')],
  },
  {
    regimen: 'infliximab',
    setting: 'office',
    payer: 'commercial',
    // Charted stop time mistyped (75 min), corrected hours later to the real 120 min.
    changes: [{ product: 'infliximab-100mg', set: { correctEnd: { chartedMinutes: 75, at: 15 * 60 + 30 } } }],
    seeded: [noAuthorization('infliximab')],
  },
  {
    regimen: 'rituximab-ra',
    setting: 'office',
    payer: 'medicare+commercial',
    // Infusion reaction: diphenhydramine given on a verbal order never entered.
    extra: [
      {
        ...push(
          'diphenhydramine-50mg',
          95,
          qty(25, 'mg'),
          'diphenhydramine 25 mg IV push for infusion reaction',
          2,
        ),
        order: 'verbal',
        noOrder: true,
        note: 'Infusion reaction: rate paused, diphenhydramine given (verbal order)',
      },
    ],
    seeded: [
      {
        caughtBy: 'scrub',
        rule: 'doc-order',
        what: 'diphenhydramine given on a verbal order that was never entered',
      },
    ],
  },
  {
    regimen: 'vedolizumab',
    setting: 'office',
    payer: 'medicaid',
    changes: [{ product: 'vedolizumab-300mg', set: { noDose: true } }],
    seeded: [{ caughtBy: 'coding', rule: 'missing-dose', what: 'vedolizumab charted without a dose' }],
  },
  {
    regimen: 'hydration',
    setting: 'office',
    payer: 'commercial',
    dx: ['E86.0', 'R11.2', 'C50.911'],
    orderer: 'onc2',
    changes: [
      { product: 'ns-1000ml', set: { primary: true } },
      { product: 'ondansetron-40mg', set: { duplicateVoidedAt: 14 * 60 + 10 } },
    ],
    spouseNotRecorded: true,
    seeded: [
      {
        caughtBy: 'scrub',
        rule: 'subscriber-missing',
        what: "the coverage is the spouse's, and the EHR never recorded who the spouse is",
      },
    ],
  },
  {
    regimen: 'leuprolide',
    setting: 'office',
    payer: 'medicare',
    changes: [{ product: 'leuprolide-22.5mg', set: { site: 'none' } }],
  },
  { regimen: 'ivig', setting: 'home', payer: 'medicare', dx: ['D83.9'], orderer: 'im' },
  {
    regimen: 'vancomycin',
    setting: 'home',
    payer: 'commercial',
    night: true,
    coverageEndedAtPayer: true,
    seeded: [
      {
        caughtBy: 'scrub',
        rule: 'eligibility-inactive',
        what: 'the payer ended the coverage last month (a job change); the EHR still shows it active',
      },
    ],
  },
  { regimen: 'ceftriaxone', setting: 'home', payer: 'medicaid', dx: ['A41.9'], newEpisode: true },
  {
    regimen: 'paclitaxel-carboplatin',
    setting: 'hopd',
    payer: 'medicare+medicaid',
    dx: ['C34.90'],
    orderer: 'onc2',
    changes: [{ product: 'ns-500ml', set: { dateTimeOnly: true } }],
    seeded: [
      {
        caughtBy: 'coding',
        rule: 'missing-stop-time',
        what: 'the saline before chemotherapy charted after the fact with a start time only',
      },
    ],
  },
  { regimen: 'rituximab-lymphoma', setting: 'hopd', payer: 'medicare' },
  { regimen: 'iron-sucrose', setting: 'hopd', payer: 'medicaid' },
  {
    regimen: 'ferric-carboxymaltose',
    setting: 'office',
    payer: 'commercial',
    seeded: [noAuthorization('ferric carboxymaltose')],
  },
  { regimen: 'ivig', setting: 'office', payer: 'medicare' },
  { regimen: 'denosumab', setting: 'office', payer: 'medicare' },
  // The rest of a full day.
  {
    regimen: 'ocrelizumab',
    setting: 'office',
    payer: 'commercial',
    seeded: [noAuthorization('ocrelizumab')],
  },
  {
    regimen: 'methotrexate-sc',
    setting: 'office',
    payer: 'commercial',
    seeded: [noAuthorization('methotrexate')],
  },
  { regimen: 'b12', setting: 'office', payer: 'medicare+medicaid' },
  { regimen: 'ceftriaxone', setting: 'office', payer: 'medicaid' },
  { regimen: 'infliximab-ra', setting: 'office', payer: 'medicare' },
  {
    regimen: 'paclitaxel-weekly',
    setting: 'office',
    payer: 'commercial',
    seeded: [noAuthorization('paclitaxel')],
  },
  {
    regimen: 'vedolizumab',
    setting: 'hopd',
    payer: 'commercial',
    dx: ['K50.90'],
    seeded: [noAuthorization('vedolizumab')],
  },
  {
    regimen: 'ivig',
    setting: 'hopd',
    payer: 'medicaid',
    dx: ['D83.9'],
    orderer: 'im',
    seeded: [noAuthorization('immune globulin')],
  },
  { regimen: 'hydration', setting: 'hopd', payer: 'medicare' },
  { regimen: 'vancomycin', setting: 'hopd', payer: 'commercial' },
  { regimen: 'ocrelizumab', setting: 'hopd', payer: 'medicare' },
  { regimen: 'ivig', setting: 'home', payer: 'commercial', seeded: [noAuthorization('immune globulin')] },
  { regimen: 'iron-sucrose', setting: 'office', payer: 'medicare+medicaid', dx: ['N18.4', 'D63.1'] },
  { regimen: 'folfox', setting: 'hopd', payer: 'medicare' },
  {
    regimen: 'infliximab-ra',
    setting: 'hopd',
    payer: 'commercial',
    seeded: [noAuthorization('infliximab')],
  },
  { regimen: 'denosumab', setting: 'office', payer: 'medicare+commercial' },
  { regimen: 'rituximab-ra', setting: 'office', payer: 'commercial', seeded: [noAuthorization('rituximab')] },
  {
    regimen: 'paclitaxel-carboplatin',
    setting: 'office',
    payer: 'commercial',
    seeded: [noAuthorization('paclitaxel and carboplatin')],
  },
  { regimen: 'ferric-carboxymaltose', setting: 'office', payer: 'medicare' },
  { regimen: 'paclitaxel-weekly', setting: 'hopd', payer: 'medicaid', dx: ['C50.911'] },
];
