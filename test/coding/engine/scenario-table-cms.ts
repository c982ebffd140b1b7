/**
 * Scenarios on drugs the hand-curated catalog never listed (chemo, anti-infectives, supportive,
 * bone agents, iron, biologics, SC/IM hormonal antineoplastics), in office, hospital outpatient and
 * home, on 2026-02-10 (CMS quarter 2026Q1). Each expectation was worked out by hand from the CMS
 * January 2026 files (../shared/data/cms): the billing unit in the ASP file's "HCPCS Code Dosage",
 * the package of the NDC in the NDC–HCPCS crosswalk (package size, billing units per item), the OPPS
 * status indicator in Addendum B. The arithmetic is in each scenario's comment.
 *
 * Part of SCENARIOS (scenario-table.ts): run through the engine and through FHIR + HTTP.
 */
import type { Scenario } from './scenario-table.ts';
import { adm, input } from './helpers.ts';
import type { AdmExtra } from './helpers.ts';
import type { EncounterContext } from '../../../src/coding/types.ts';

const O = 'office' as const;
const F = 'hospital-outpatient' as const;
const H = 'home' as const;
const DAY = '2026-02-10';

/** An administration on DAY ("09:00", or "+1 09:00" for the next day). */
function given(
  id: string,
  drug: Parameters<typeof adm>[1],
  start: string,
  end: string | undefined,
  extra: AdmExtra,
): ReturnType<typeof adm> {
  return adm(id, drug, start, end, { day: DAY, ...extra });
}

const visit: EncounterContext = { id: 'E1', kind: 'visit', start: `${DAY}T08:50:00Z`, diagnoses: ['C18.9'] };
const oncology = { encounters: [visit] };

function homeEpisode(days: number, visitStart: string, visitEnd: string): EncounterContext[] {
  const end = new Date(`${DAY}T20:00:00Z`);
  end.setUTCDate(end.getUTCDate() + days - 1);
  return [
    {
      id: 'EP',
      kind: 'home-episode',
      start: `${DAY}T08:00:00Z`,
      end: end.toISOString(),
      diagnoses: ['A41.9'],
    },
    {
      id: 'V1',
      kind: 'home-nursing-visit',
      partOf: 'EP',
      start: `${DAY}T${visitStart}:00Z`,
      end: `${DAY}T${visitEnd}:00Z`,
      diagnoses: [],
    },
  ];
}

export const CMS_SCENARIOS: readonly Scenario[] = [
  {
    // Irinotecan J9206 = 20 mg (N). NDC 00009-0112-05: 5 mL, 5 billing units (100 mg) per vial.
    // 180 mg = 9 units from 2 vials (200 mg): 20 mg discarded = 1 JW unit. 09:00–10:30 = 90 min → 96413.
    // Levoleucovorin J0641 = 0.5 mg. NDC 71288-0105-18: 350 billing units (175 mg) per vial; 350 mg
    // = 700 units from 2 vials, nothing discarded → JZ. Running alongside irinotecan → 96368.
    name: 'CMS office Medicare: irinotecan by NDC (waste on JW) with levoleucovorin concurrent (JZ)',
    input: input(
      O,
      [
        given('iri', { ndc: '00009-0112-05' }, '09:00', '10:30', { dose: { value: 180, unit: 'mg' } }),
        given('lev', { ndc: '71288-0105-18' }, '09:00', '10:30', { dose: { value: 350, unit: 'mg' } }),
      ],
      oncology,
    ),
    all: ['96413x1', '96368x1', 'J9206x9', 'J9206x1-JW', 'J0641x700-JZ'],
    issues: ['container-assumed'],
  },
  {
    // Vincristine J9370 = 1 mg; NDC 61703-0309-06: 1 unit (1 mg) per vial; 2 mg = 2 vials, no waste → JZ.
    // Vinorelbine J9390 = 10 mg; NDC 25021-0204-05: 5 units (50 mg) per vial; 40 mg = 4 units, 10 mg
    // discarded = 1 JW unit. Both ≤ 15 min: chemo pushes, 96409 then 96411 (R7.3, R7.1).
    name: 'CMS office Medicare: vincristine and vinorelbine pushes (96409 + 96411)',
    input: input(
      O,
      [
        given('vcr', { ndc: '61703-309-06' }, '09:00', '09:03', { dose: { value: 2, unit: 'mg' } }),
        given('vnr', { ndc: '25021-204-05' }, '09:10', '09:20', { dose: { value: 40, unit: 'mg' } }),
      ],
      oncology,
    ),
    all: ['96409x1', '96411x1', 'J9370x2-JZ', 'J9390x4', 'J9390x1-JW'],
  },
  {
    // Irinotecan in a hospital outpatient department: OPPS status N (packaged) → reported, no JW/JZ (R10.3).
    name: 'CMS hospital outpatient Medicare: irinotecan is packaged (status N): no JW line',
    input: input(
      F,
      [
        given('iri', { ndc: '00009-0112-05' }, '09:00', '10:40', {
          dose: { value: 180, unit: 'mg' },
          site: 'L',
        }),
      ],
      oncology,
    ),
    all: ['96413x1', '96415x1', 'J9206x9'],
  },
  {
    // Cefazolin J0690 = 500 mg (N). Text only: matched by name, coder to confirm. 2 g = 4 units. 30 min → 96365.
    name: 'CMS hospital outpatient Medicare: cefazolin documented by text only (name match, confirm)',
    input: input(
      F,
      [
        given('cfz', { text: 'ceFAZolin 2 g in NS 100 mL' }, '09:00', '09:30', {
          dose: { value: 2, unit: 'g' },
          site: 'L',
        }),
      ],
      oncology,
    ),
    all: ['96365x1', 'J0690x4'],
    issues: ['drug-matched-by-name'],
  },
  {
    // Cefepime J0692 = 500 mg. NDC printed without hyphens as 10 digits, "0409973510": only its 4-4-2
    // reading 00409-9735-10 is in the crosswalk (1 vial = 4 units = 2 g). 2 g = 4 units; NDC UN 1.
    name: 'CMS hospital outpatient commercial: cefepime by a 10-digit NDC without hyphens',
    input: input(
      F,
      [given('cfp', { ndc: '0409973510' }, '09:00', '09:30', { dose: { value: 2, unit: 'g' }, site: 'L' })],
      { ...oncology, payer: 'commercial' },
    ),
    all: ['96365x1', 'J0692x4'],
  },
  {
    // Piperacillin-tazobactam J2543 = 1.125 g: 4.5 g = 4 units. Levofloxacin J1956 = 250 mg: 750 mg = 3
    // units. Two TPD infusions one after the other: 96365, then 96367 (90 min: no add-on hour).
    name: 'CMS office commercial: piperacillin-tazobactam then levofloxacin (96365 + 96367)',
    input: input(
      O,
      [
        given('pip', { hcpcs: 'J2543' }, '09:00', '09:30', { dose: { value: 4.5, unit: 'g' } }),
        given('lev', { hcpcs: 'J1956' }, '09:35', '11:05', { dose: { value: 750, unit: 'mg' } }),
      ],
      { ...oncology, payer: 'commercial' },
    ),
    all: ['96365x1', '96367x1', 'J2543x4', 'J1956x3'],
    issues: ['missing-ndc'],
  },
  {
    // Ertapenem J1335 = 500 mg: 1 g = 2 units a day. Anti-infective (USAN stem -penem) → per diem
    // S9500 (q24h) for the 5 days of the episode; the 90-minute nursing visit → 99601.
    name: 'CMS home commercial: ertapenem daily (anti-infective per diem S9500, nursing visit, drug lines)',
    input: input(
      H,
      [
        given('e0', { text: 'ertapenem 1 g' }, '09:00', '09:30', {
          encounterId: 'V1',
          dose: { value: 1, unit: 'g' },
        }),
        given('e1', { ndc: '00143-9398-10' }, '+1 09:00', '+1 09:30', {
          encounterId: 'EP',
          dose: { value: 1, unit: 'g' },
        }),
        given('e2', { ndc: '00143-9398-10' }, '+2 09:00', '+2 09:30', {
          encounterId: 'EP',
          dose: { value: 1, unit: 'g' },
        }),
      ],
      { payer: 'commercial', encounters: homeEpisode(5, '08:45', '10:15') },
    ),
    all: ['S9500x5', '99601x1', 'J1335x2', 'J1335x2', 'J1335x2'],
    issues: ['drug-matched-by-name'],
  },
  {
    // Cefepime at home under Medicare: anti-infective → HIT category 1, first visit G0088; the drug
    // (DME benefit) 2 g = 4 units from one 2 g vial (NDC 00409-9735-10), nothing discarded → JZ.
    name: 'CMS home Medicare: cefepime (HIT category 1 first visit G0088; drug under DME, JZ)',
    input: input(
      H,
      [
        given('c0', { ndc: '00409-9735-10' }, '09:00', '09:30', {
          encounterId: 'V1',
          dose: { value: 2, unit: 'g' },
        }),
      ],
      { payer: 'medicare', encounters: homeEpisode(3, '08:45', '10:15') },
    ),
    all: ['G0088x1', 'J0692x4-JZ'],
  },
  {
    // Triptorelin J3315 = 3.75 mg, IM; NDC 74676-5902-01: 1 unit per kit. Hormonal antineoplastic → 96402.
    name: 'CMS office Medicare: triptorelin IM (hormonal antineoplastic 96402, JZ)',
    input: input(
      O,
      [
        given('trp', { ndc: '74676-5902-01' }, '09:00', undefined, {
          dose: { value: 3.75, unit: 'mg' },
          route: 'intramuscular',
        }),
      ],
      oncology,
    ),
    all: ['96402x1', 'J3315x1-JZ'],
  },
  {
    // Degarelix J9155 = 1 mg, SC: 240 mg loading dose = 240 units; hormonal antineoplastic → 96402
    // (no commercial override for degarelix). Commercial: no JW/JZ.
    name: 'CMS office commercial: degarelix SC loading dose (96402, 240 units)',
    input: input(
      O,
      [
        given('dgx', { hcpcs: 'J9155' }, '09:00', undefined, {
          dose: { value: 240, unit: 'mg' },
          route: 'subcutaneous',
        }),
      ],
      { ...oncology, payer: 'commercial' },
    ),
    all: ['96402x1', 'J9155x240'],
  },
  {
    // Goserelin J9202 = 3.6 mg implant, SC; NDC 70720-0950-36: 1 unit per implant → 96402, JZ.
    name: 'CMS office Medicare: goserelin implant SC (96402, JZ)',
    input: input(
      O,
      [
        given('gsr', { ndc: '70720-0950-36' }, '09:00', undefined, {
          dose: { value: 3.6, unit: 'mg' },
          route: 'subcutaneous',
        }),
      ],
      oncology,
    ),
    all: ['96402x1', 'J9202x1-JZ'],
  },
  {
    // Zoledronic acid J3489 = 1 mg (N); NDC 16714-0815-01: 4 units (4 mg/5 mL). 15 min → push 96374.
    // Packaged in the facility: no JZ (R10.3).
    name: 'CMS hospital outpatient Medicare: zoledronic acid 15 min is a push; packaged, no JZ',
    input: input(
      F,
      [
        given('zol', { ndc: '16714-0815-01' }, '09:00', '09:15', {
          dose: { value: 4, unit: 'mg' },
          site: 'L',
        }),
      ],
      oncology,
    ),
    all: ['96374x1', 'J3489x4'],
  },
  {
    // Pamidronate J2430 = 30 mg; NDC 61703-0326-18: 3 units (90 mg/10 mL). 90 mg = 3 units, no waste →
    // JZ. 2 h infusion: 96365 + 96366 x1.
    name: 'CMS office Medicare: pamidronate over 2 h (96365 + 96366, JZ)',
    input: input(
      O,
      [given('pam', { ndc: '61703-0326-18' }, '09:00', '11:00', { dose: { value: 90, unit: 'mg' } })],
      oncology,
    ),
    all: ['96365x1', '96366x1', 'J2430x3-JZ'],
  },
  {
    // Ferric derisomaltose J1437 = 10 mg; NDC 73594-9310-01: 100 units (1,000 mg/10 mL). 1,000 mg =
    // 100 units, no waste → JZ. 20 min → 96365. Iron (name rule): TPD, no confirmation.
    name: 'CMS office Medicare: ferric derisomaltose 1,000 mg (96365, JZ)',
    input: input(
      O,
      [given('fdi', { ndc: '73594-9310-01' }, '09:00', '09:20', { dose: { value: 1000, unit: 'mg' } })],
      oncology,
    ),
    all: ['96365x1', 'J1437x100-JZ'],
  },
  {
    // Belimumab J0490 = 10 mg (K); NDC 49401-0102-01: 40 units (400 mg) per vial. 700 mg = 70 units
    // from 2 vials: 100 mg discarded = 10 JW units. Monoclonal antibody → complex (rule, confirm) → 96413.
    name: 'CMS hospital outpatient Medicare: belimumab (complex by class, confirm; JW on the waste)',
    input: input(
      F,
      [
        given('bel', { ndc: '49401-0102-01' }, '09:00', '10:00', {
          dose: { value: 700, unit: 'mg' },
          site: 'L',
        }),
      ],
      oncology,
    ),
    all: ['96413x1', 'J0490x70', 'J0490x10-JW'],
    issues: ['category-unconfirmed'],
  },
  {
    // The same belimumab with its category documented on the order (therapeutic): the documentation
    // decides (R1.2) — 96365, no confirmation asked.
    name: 'CMS hospital outpatient Medicare: category documented on the order wins over the class rule',
    input: input(
      F,
      [
        given('bel', { ndc: '49401-0102-01' }, '09:00', '10:00', {
          dose: { value: 700, unit: 'mg' },
          site: 'L',
          category: { family: 'therapeutic', on: 'order' },
        }),
      ],
      oncology,
    ),
    all: ['96365x1', 'J0490x70', 'J0490x10-JW'],
  },
  {
    // Rituximab-pvvr Q5119 = 10 mg: 700 mg = 70 units. 4 h → 96413 + 96415 x3. Commercial: no JW/JZ.
    name: 'CMS office commercial: rituximab-pvvr over 4 h (96413 + 96415 x3)',
    input: input(
      O,
      [given('rtx', { hcpcs: 'Q5119' }, '09:00', '13:00', { dose: { value: 700, unit: 'mg' } })],
      {
        ...oncology,
        payer: 'commercial',
      },
    ),
    all: ['96413x1', '96415x3', 'Q5119x70'],
    issues: ['category-unconfirmed', 'missing-ndc'],
  },
  {
    // A tenant that bills belimumab as TPD for Medicare (coding.familyOverrides): 96365.
    name: 'CMS office Medicare: tenant override of the family (R1.2) before the class rule',
    input: input(
      O,
      [given('bel', { hcpcs: 'J0490' }, '09:00', '10:00', { dose: { value: 700, unit: 'mg' } })],
      {
        ...oncology,
        options: { familyOverrides: { medicare: { J0490: 'therapeutic' } } },
      },
    ),
    admin: ['96365x1'],
  },
  {
    // Pegfilgrastim J2506 = 0.5 mg; NDC 55513-0190-01: 12 units (6 mg/0.6 mL). 6 mg SC = 12 units, JZ.
    // No family rule names it: TPD default with a coder-confirm finding → 96372.
    name: 'CMS office Medicare: pegfilgrastim SC (TPD default, confirm; 96372, JZ)',
    input: input(
      O,
      [
        given('peg', { ndc: '55513-0190-01' }, '09:00', undefined, {
          dose: { value: 6, unit: 'mg' },
          route: 'subcutaneous',
        }),
      ],
      oncology,
    ),
    all: ['96372x1', 'J2506x12-JZ'],
    issues: ['category-unconfirmed'],
  },
  {
    // A dose per m² is not an amount: the vincristine line is held (units unknown), the push is coded.
    name: 'CMS office Medicare: vincristine documented in mg/m2: administration coded, drug line held',
    input: input(
      O,
      [given('vcr', { hcpcs: 'J9370' }, '09:00', '09:03', { dose: { value: 1.4, unit: 'mg/m2' } })],
      oncology,
    ),
    all: ['96409x1', 'J9370x0!held'],
    issues: ['unconvertible-dose'],
  },
  {
    // A drug Dripline cannot identify: its infusion is still billed (TPD default, confirm), and the
    // missing HCPCS code is an error on the documentation.
    name: 'CMS hospital outpatient: an unidentified drug still bills its infusion',
    input: input(
      F,
      [
        given('x', { text: 'study drug XR-22' }, '09:00', '10:00', {
          dose: { value: 100, unit: 'mg' },
          site: 'L',
        }),
      ],
      oncology,
    ),
    all: ['96365x1'],
    issues: ['unknown-drug', 'category-unconfirmed'],
  },
];
