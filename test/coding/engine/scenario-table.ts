/**
 * The coding-engine scenario table: small documented encounters → expected lines (code × units ×
 * modifiers), one rule id per name. Expectations compare the administration lines unless `drugs`
 * (drug and waste lines) or `all` (every line) is given. Real tables (src/coding/tables).
 *
 * Run through the engine by scenarios.test.ts and through FHIR + HTTP by ../operation-http.test.ts.
 */
import type { CodingTables } from '../../../src/coding/tables/types.ts';
import type { CodingInput } from '../../../src/coding/types.ts';
import { adm, at, input, TABLES, visit } from './helpers.ts';
import { CMS_SCENARIOS } from './scenario-table-cms.ts';

export interface Scenario {
  readonly name: string;
  readonly input: CodingInput;
  readonly admin?: readonly string[];
  readonly drugs?: readonly string[];
  readonly all?: readonly string[];
  readonly withDates?: boolean;
  readonly issues?: readonly string[];
  readonly held?: readonly string[];
  readonly tables?: CodingTables;
}

const O = 'office' as const;
const F = 'hospital-outpatient' as const;
const H = 'home' as const;

// Drugs (real catalog): J1756 iron sucrose, J3370 vancomycin, J0696 ceftriaxone, J0131 acetaminophen,
// J1100 dexamethasone, J2405 ondansetron (TPD); J9271 pembrolizumab, J9228 ipilimumab, J9263 oxaliplatin,
// J9190 fluorouracil, J9250 methotrexate, J1745 infliximab (chemo/complex for Medicare); J0640 leucovorin;
// J7030 normal saline (hydration); J0897 denosumab; J9217 leuprolide (hormonal).
const S: Scenario[] = [
  // ---- R3.1 / R3.2 push vs infusion boundary (15/16 min)
  {
    name: 'R3.1 facility TPD IV 15 min is a push',
    input: input(F, [adm('a', 'J2405', '09:00', '09:15', { site: 'L' })]),
    admin: ['96374x1'],
  },
  {
    name: 'R3.2 facility TPD IV 16 min is an infusion',
    input: input(F, [adm('a', 'J2405', '09:00', '09:16', { site: 'L' })]),
    admin: ['96365x1'],
  },
  {
    name: 'R3.1 office TPD IV 15 min is a push',
    input: input(O, [adm('a', 'J1100', '09:00', '09:15')]),
    admin: ['96374x1'],
  },
  {
    name: 'R3.2 office TPD IV 16 min is an infusion',
    input: input(O, [adm('a', 'J1100', '09:00', '09:16')]),
    admin: ['96365x1'],
  },
  {
    name: 'R7.3 chemo IV 15 min is a chemo push',
    input: input(O, [adm('a', 'J9271', '09:00', '09:15')]),
    admin: ['96409x1'],
  },
  {
    name: 'R3.2 chemo IV 16 min is a chemo infusion',
    input: input(O, [adm('a', 'J9271', '09:00', '09:16')]),
    admin: ['96413x1'],
  },
  {
    name: 'R3.1 documented infusion of 10 min is still a push',
    input: input(O, [adm('a', 'J1100', '09:00', '09:10', { method: 'infusion' })]),
    admin: ['96374x1'],
  },
  {
    name: 'R3.1 documented push of 20 min stays a push',
    input: input(O, [adm('a', 'J1100', '09:00', '09:20', { method: 'push' })]),
    admin: ['96374x1'],
  },
  {
    name: 'R3.1 IV push with start only is coded when technique is documented',
    input: input(O, [adm('a', 'J2405', '09:00', undefined, { method: 'push' })]),
    admin: ['96374x1'],
    issues: ['missing-stop-time'],
  },
  // ---- R3.3 add-on hours (90/91, 150/151, 210/211)
  {
    name: 'R3.3 TPD infusion 90 min: no add-on',
    input: input(O, [adm('a', 'J1756', '09:00', '10:30')]),
    admin: ['96365x1'],
  },
  {
    name: 'R3.3 TPD infusion 91 min: 1 add-on hour',
    input: input(O, [adm('a', 'J1756', '09:00', '10:31')]),
    admin: ['96365x1', '96366x1'],
  },
  {
    name: 'R3.3 TPD infusion 150 min: 1 add-on hour',
    input: input(O, [adm('a', 'J1756', '09:00', '11:30')]),
    admin: ['96365x1', '96366x1'],
  },
  {
    name: 'R3.3 TPD infusion 151 min: 2 add-on hours',
    input: input(O, [adm('a', 'J1756', '09:00', '11:31')]),
    admin: ['96365x1', '96366x2'],
  },
  {
    name: 'R3.3 TPD infusion 210 min: 2 add-on hours',
    input: input(O, [adm('a', 'J1756', '09:00', '12:30')]),
    admin: ['96365x1', '96366x2'],
  },
  {
    name: 'R3.3 TPD infusion 211 min: 3 add-on hours',
    input: input(O, [adm('a', 'J1756', '09:00', '12:31')]),
    admin: ['96365x1', '96366x3'],
  },
  {
    name: 'R3.3 facility TPD infusion 91 min: 1 add-on hour',
    input: input(F, [adm('a', 'J1756', '09:00', '10:31', { site: 'L' })]),
    admin: ['96365x1', '96366x1'],
  },
  {
    name: 'R3.3 facility TPD infusion 90 min: no add-on',
    input: input(F, [adm('a', 'J1756', '09:00', '10:30', { site: 'L' })]),
    admin: ['96365x1'],
  },
  {
    name: 'R3.3 chemo infusion 90 min: no add-on',
    input: input(O, [adm('a', 'J9271', '09:00', '10:30')]),
    admin: ['96413x1'],
  },
  {
    name: 'R3.3 chemo infusion 91 min: 96415 x1',
    input: input(O, [adm('a', 'J9271', '09:00', '10:31')]),
    admin: ['96413x1', '96415x1'],
  },
  {
    name: 'R3.3 chemo infusion 150 min: 96415 x1',
    input: input(O, [adm('a', 'J9271', '09:00', '11:30')]),
    admin: ['96413x1', '96415x1'],
  },
  {
    name: 'R3.3 chemo infusion 151 min: 96415 x2',
    input: input(O, [adm('a', 'J9271', '09:00', '11:31')]),
    admin: ['96413x1', '96415x2'],
  },
  // ---- R3.4 hydration (30/31, 90/91, 150/151)
  {
    name: 'R3.4 hydration 30 min is not reported',
    input: input(O, [adm('a', 'J7030', '09:00', '09:30')]),
    all: [],
    issues: ['hydration-too-short'],
  },
  {
    name: 'R3.4 hydration 31 min: 96360',
    input: input(O, [adm('a', 'J7030', '09:00', '09:31')]),
    admin: ['96360x1'],
  },
  {
    name: 'R3.4 hydration 90 min: 96360 only',
    input: input(O, [adm('a', 'J7030', '09:00', '10:30')]),
    admin: ['96360x1'],
  },
  {
    name: 'R3.4 hydration 91 min: 96360 + 96361',
    input: input(O, [adm('a', 'J7030', '09:00', '10:31')]),
    admin: ['96360x1', '96361x1'],
  },
  {
    name: 'R3.4 hydration 150 min: 96361 x1',
    input: input(O, [adm('a', 'J7030', '09:00', '11:30')]),
    admin: ['96360x1', '96361x1'],
  },
  {
    name: 'R3.4 hydration 151 min: 96361 x2',
    input: input(O, [adm('a', 'J7030', '09:00', '11:31')]),
    admin: ['96360x1', '96361x2'],
  },
  {
    name: 'R3.4 facility hydration 31 min: 96360',
    input: input(F, [adm('a', 'J7030', '09:00', '09:31', { site: 'L' })]),
    admin: ['96360x1'],
  },
  {
    name: 'R3.4 hydration as a 10 min bolus is not hydration',
    input: input(O, [adm('a', 'J7030', '09:00', '09:10')]),
    all: [],
    issues: ['hydration-too-short'],
  },
  // ---- R3.7 midnight
  {
    name: 'R3.7 office: 23:00–02:00 hydration counted by total time on the encounter date (CPT example)',
    input: input(O, [adm('a', 'J7030', '23:00', '+1 02:00')], { encounters: [visit('E1', '22:50')] }),
    admin: ['96360x1@2025-03-10', '96361x2@2025-03-10'],
    withDates: true,
  },
  {
    name: 'R3.7 facility: 23:00–02:00 hydration dated by the day provided',
    input: input(F, [adm('a', 'J7030', '23:00', '+1 02:00', { site: 'L' })]),
    admin: ['96360x1@2025-03-10', '96361x2@2025-03-11'],
    withDates: true,
  },
  {
    name: 'R3.7 facility: 22:00–01:00 drug infusion splits its add-on hours per day',
    input: input(F, [adm('a', 'J1756', '22:00', '+1 01:00', { site: 'L' })]),
    admin: ['96365x1@2025-03-10', '96366x1@2025-03-10', '96366x1@2025-03-11'],
    withDates: true,
  },
  {
    name: 'R3.7 office: 22:00–01:00 drug infusion all on the encounter date',
    input: input(O, [adm('a', 'J1756', '22:00', '+1 01:00')], { encounters: [visit('E1', '21:55')] }),
    admin: ['96365x1@2025-03-10', '96366x2@2025-03-10'],
    withDates: true,
  },
  {
    name: 'R3.7 facility: 23:30–00:45 push-free infusion keeps one initial on the start day',
    input: input(F, [adm('a', 'J1756', '23:30', '+1 00:45', { site: 'L' })]),
    admin: ['96365x1@2025-03-10'],
    withDates: true,
  },
  {
    name: 'R3.7 clinic offset: 03:00Z is the previous local day at -05:00',
    input: input(O, [adm('a', 'J2405', '+1 03:00', '+1 03:05')], {
      encounters: [visit('E1', '+1 02:55')],
      options: { utcOffset: '-05:00' },
    }),
    admin: ['96374x1@2025-03-10'],
    withDates: true,
  },
  // ---- R1.3 / R1.4 hierarchy vs office primary
  {
    name: 'R1.3 facility: push outranks hydration → 96374 + 96361',
    input: input(F, [
      adm('h', 'J7030', '09:00', '10:00', { site: 'L' }),
      adm('p', 'J2405', '10:05', '10:07', { site: 'L' }),
    ]),
    admin: ['96374x1', '96361x1'],
  },
  {
    name: 'R1.4 office: hydration flagged primary → 96360 + 96375',
    input: input(O, [
      adm('h', 'J7030', '09:00', '10:00', { primary: true }),
      adm('p', 'J2405', '10:05', '10:07'),
    ]),
    admin: ['96360x1', '96375x1'],
  },
  {
    name: 'R1.4 office: no primary flagged → hierarchy 96374 + 96361',
    input: input(O, [adm('h', 'J7030', '09:00', '10:00'), adm('p', 'J2405', '10:05', '10:07')]),
    admin: ['96374x1', '96361x1'],
  },
  {
    name: 'R1.3 facility: chemo push outranks a TPD infusion',
    input: input(F, [
      adm('i', 'J1756', '09:00', '10:00', { site: 'L' }),
      adm('c', 'J9250', '10:10', '10:12', { site: 'L' }),
    ]),
    admin: ['96409x1', '96367x1'],
  },
  {
    name: 'R1.3 facility: chemo initial even after a TPD infusion started earlier',
    input: input(F, [
      adm('d', 'J1100', '09:00', '09:20', { site: 'L' }),
      adm('c', 'J9271', '09:30', '10:00', { site: 'L' }),
    ]),
    admin: ['96413x1', '96367x1'],
  },
  {
    name: 'R1.4 office: primary TPD infusion stays initial before chemo → 96365 + 96417',
    input: input(O, [
      adm('i', 'J1756', '09:00', '10:00', { primary: true }),
      adm('c', 'J9271', '10:05', '10:40'),
    ]),
    admin: ['96365x1', '96417x1'],
  },
  {
    name: 'R1.3 facility ignores the primary flag → 96413 + 96367',
    input: input(F, [
      adm('i', 'J1756', '09:00', '10:00', { primary: true, site: 'L' }),
      adm('c', 'J9271', '10:05', '10:40', { site: 'L' }),
    ]),
    admin: ['96413x1', '96367x1'],
  },
  {
    name: 'R1.5 TPD push after chemo infusion is 96375',
    input: input(F, [
      adm('c', 'J9271', '09:00', '09:30', { site: 'L' }),
      adm('p', 'J2405', '09:35', '09:37', { site: 'L' }),
    ]),
    admin: ['96413x1', '96375x1'],
  },
  {
    name: 'R1.5 hydration after a chemo infusion is 96361 (R4.5)',
    input: input(F, [
      adm('c', 'J9271', '09:00', '09:30', { site: 'L' }),
      adm('h', 'J7030', '09:30', '10:30', { site: 'L' }),
    ]),
    admin: ['96413x1', '96361x1'],
  },
  {
    name: 'R4.5 secondary hydration of 91 min: 96361 x2',
    input: input(O, [adm('c', 'J9271', '09:00', '09:30'), adm('h', 'J7030', '09:30', '11:01')]),
    admin: ['96413x1', '96361x2'],
  },
  {
    name: 'R4.5 secondary hydration of 30 min is not reported',
    input: input(O, [adm('c', 'J9271', '09:00', '09:30'), adm('h', 'J7030', '09:30', '10:00')]),
    admin: ['96413x1'],
    issues: ['hydration-too-short'],
  },
  // ---- R4 sequential and concurrent
  {
    name: 'R4.1 sequential new drug: 96365 + 96367',
    input: input(F, [
      adm('v', 'J3370', '09:00', '10:30', { site: 'L' }),
      adm('c', 'J0696', '10:30', '11:00', { site: 'L' }),
    ]),
    admin: ['96365x1', '96367x1'],
  },
  {
    name: 'R4.1 sequential infusion of 91 min takes 96366',
    input: input(O, [adm('v', 'J3370', '09:00', '10:00'), adm('c', 'J0696', '10:00', '11:31')]),
    admin: ['96365x1', '96367x1', '96366x1'],
  },
  {
    name: 'R4.1 a sequential "infusion" of 15 min is a push (96375)',
    input: input(O, [adm('v', 'J3370', '09:00', '10:00'), adm('c', 'J0696', '10:00', '10:15')]),
    admin: ['96365x1', '96375x1'],
  },
  {
    name: 'R4.2 concurrent infusion: 96368',
    input: input(O, [adm('v', 'J3370', '09:00', '11:00'), adm('t', 'J0131', '09:30', '10:00')]),
    admin: ['96365x1', '96366x1', '96368x1'],
  },
  {
    name: 'R4.2 96368 at most once per encounter',
    input: input(O, [
      adm('v', 'J3370', '09:00', '10:00'),
      adm('t', 'J0131', '09:10', '09:40'),
      adm('d', 'J1100', '09:20', '09:50'),
    ]),
    admin: ['96365x1', '96368x1'],
    issues: ['concurrent-already-reported'],
  },
  {
    name: 'R4.2 96368 once even across two sites in a facility',
    input: input(F, [
      adm('v', 'J3370', '09:00', '10:00', { site: 'L' }),
      adm('t', 'J0131', '09:10', '09:40', { site: 'L' }),
      adm('c', 'J0696', '09:00', '10:00', { site: 'R' }),
      adm('d', 'J1100', '09:10', '09:40', { site: 'R' }),
    ]),
    admin: ['96365x1', '96365x1-XS', '96368x1'],
  },
  {
    name: 'R4.2 hydration running with a drug is never 96368',
    input: input(O, [adm('v', 'J3370', '09:00', '10:30'), adm('h', 'J7030', '09:00', '10:30')]),
    admin: ['96365x1'],
    issues: ['hydration-overlap'],
  },
  {
    name: 'R4.4 overlapping hydration counts only its non-overlapping time (60 min → 96361)',
    input: input(F, [
      adm('h', 'J7030', '09:00', '11:00', { site: 'L' }),
      adm('v', 'J3370', '09:30', '10:30', { site: 'L' }),
    ]),
    admin: ['96365x1', '96361x1'],
  },
  {
    name: 'R4.4 overlapping hydration with 30 min left is not reported',
    input: input(O, [adm('h', 'J7030', '09:00', '10:30'), adm('v', 'J3370', '09:15', '10:15')]),
    admin: ['96365x1'],
    issues: ['hydration-too-short'],
  },
  {
    name: 'R4.4 overlapping hydration with 31 min left → 96361',
    input: input(O, [adm('h', 'J7030', '09:00', '10:31'), adm('v', 'J3370', '09:15', '10:15')]),
    admin: ['96365x1', '96361x1'],
  },
  {
    name: 'R4.4 office hydration primary but overlapped below 31 min falls back to the hierarchy',
    input: input(O, [
      adm('h', 'J7030', '09:00', '10:00', { primary: true }),
      adm('v', 'J3370', '09:10', '10:00'),
    ]),
    admin: ['96365x1'],
  },
  {
    name: 'R4.1 same drug in two bags is one infusion by total time (105 min → 96366)',
    input: input(O, [adm('v1', 'J3370', '09:00', '10:00'), adm('v2', 'J3370', '10:30', '11:15')]),
    admin: ['96365x1', '96366x1'],
  },
  // ---- R5 pushes
  {
    name: 'R5.3 two pushes of different drugs: 96374 + 96375',
    input: input(O, [adm('a', 'J2405', '09:00', '09:02'), adm('b', 'J1100', '09:05', '09:07')]),
    admin: ['96374x1', '96375x1'],
  },
  {
    name: 'R5.3 three new-drug pushes: 96374 + 96375 x2',
    input: input(O, [
      adm('a', 'J2405', '09:00', '09:02'),
      adm('b', 'J1100', '09:05', '09:07'),
      adm('c', 'J1200', '09:10', '09:12'),
    ]),
    admin: ['96374x1', '96375x2'],
  },
  {
    name: 'R5.1 facility same drug pushed 31 min after: 96376',
    input: input(F, [
      adm('a', 'J2405', '09:00', '09:02', { site: 'L' }),
      adm('b', 'J2405', '09:31', '09:33', { site: 'L' }),
    ]),
    admin: ['96374x1', '96376x1'],
  },
  {
    name: 'R5.1 facility same drug pushed 20 min after: no 96376',
    input: input(F, [
      adm('a', 'J2405', '09:00', '09:02', { site: 'L' }),
      adm('b', 'J2405', '09:20', '09:22', { site: 'L' }),
    ]),
    admin: ['96374x1'],
    issues: ['repeat-push-not-coded'],
  },
  {
    name: 'R5.2 office same drug pushed 60 min after: no code (96376 facility only)',
    input: input(O, [adm('a', 'J2405', '09:00', '09:02'), adm('b', 'J2405', '10:00', '10:02')]),
    admin: ['96374x1'],
    drugs: ['J2405x2'],
    issues: ['repeat-push-not-coded'],
  },
  {
    name: 'R5.1 facility push A, push B, push A 45 min later: 96374 + 96375 + 96376',
    input: input(F, [
      adm('a', 'J2405', '09:00', '09:02', { site: 'L' }),
      adm('b', 'J1100', '09:10', '09:12', { site: 'L' }),
      adm('c', 'J2405', '09:45', '09:47', { site: 'L' }),
    ]),
    admin: ['96374x1', '96375x1', '96376x1'],
  },
  {
    name: 'R5.1 facility: 96376 measured from the last reported push of the drug',
    input: input(F, [
      adm('a', 'J2405', '09:00', '09:02', { site: 'L' }),
      adm('b', 'J2405', '09:20', '09:22', { site: 'L' }),
      adm('c', 'J2405', '09:40', '09:42', { site: 'L' }),
    ]),
    admin: ['96374x1', '96376x1'],
  },
  // ---- R7 chemo
  {
    name: 'R7.1 chemo sequential different drug: 96413 + 96417',
    input: input(O, [adm('p', 'J9271', '09:00', '09:30'), adm('y', 'J9228', '09:45', '10:45')]),
    admin: ['96413x1', '96417x1'],
  },
  {
    name: 'R7.1 sequential chemo of 91 min: 96417 + 96415',
    input: input(O, [adm('p', 'J9271', '09:00', '09:30'), adm('y', 'J9228', '09:30', '11:01')]),
    admin: ['96413x1', '96417x1', '96415x1'],
  },
  {
    name: 'R7.1 chemo infusion + chemo push of a new drug: 96413 + 96411',
    input: input(O, [adm('p', 'J9271', '09:00', '09:30'), adm('m', 'J9250', '09:35', '09:37')]),
    admin: ['96413x1', '96411x1'],
  },
  {
    name: 'R7.1 repeat chemo push of the same drug is not coded again',
    input: input(O, [adm('m1', 'J9250', '09:00', '09:02'), adm('m2', 'J9250', '10:00', '10:02')]),
    admin: ['96409x1'],
    issues: ['repeat-push-not-coded'],
  },
  {
    name: 'R7.2 prolonged pump of 46 h: 96416, never timed',
    input: input(O, [adm('f', 'J9190', '11:00', '+2 09:00')], { encounters: [visit('E1', '10:50')] }),
    admin: ['96416x1'],
  },
  {
    name: 'R7.2 chemo infusion of exactly 8 h is timed (96413 + 96415 x7)',
    input: input(O, [adm('f', 'J9190', '09:00', '17:00')]),
    admin: ['96413x1', '96415x7'],
  },
  {
    name: 'R7.2 chemo infusion of 8 h 1 min is a prolonged pump',
    input: input(O, [adm('f', 'J9190', '09:00', '17:01')]),
    admin: ['96416x1'],
  },
  {
    name: 'R7.1 FOLFOX day: oxaliplatin 2 h + concurrent leucovorin + 5-FU push + 5-FU pump',
    input: input(F, [
      adm('ox', 'J9263', '09:00', '11:00', { site: 'port' }),
      adm('lv', 'J0640', '09:00', '11:00', { site: 'port' }),
      adm('fp', 'J9190', '11:05', '11:08', { site: 'port' }),
      adm('fu', 'J9190', '11:10', '+2 09:10', { site: 'port' }),
    ]),
    admin: ['96413x1', '96415x1', '96368x1', '96411x1', '96416x1'],
  },
  // ---- R1.2 family overrides
  {
    name: 'R1.2 infliximab Medicare 120 min: chemo/complex codes',
    input: input(O, [adm('r', 'J1745', '09:00', '11:00')]),
    admin: ['96413x1', '96415x1'],
  },
  {
    name: 'R1.2 infliximab commercial 120 min: therapeutic override',
    input: input(O, [adm('r', 'J1745', '09:00', '11:00')], { payer: 'commercial' }),
    admin: ['96365x1', '96366x1'],
  },
  // ---- R6.1 injections
  {
    name: 'R6.1 denosumab SC injection: 96372',
    input: input(O, [adm('d', 'J0897', '09:00', undefined, { route: 'subcutaneous' })]),
    admin: ['96372x1'],
  },
  {
    name: 'R6.1 leuprolide IM (hormonal antineoplastic) Medicare: 96402',
    input: input(O, [adm('l', 'J9217', '09:00', '09:01', { route: 'intramuscular' })]),
    admin: ['96402x1'],
  },
  {
    name: 'R6.1 leuprolide commercial override to therapeutic: 96372',
    input: input(O, [adm('l', 'J9217', '09:00', '09:01', { route: 'intramuscular' })], {
      payer: 'commercial',
    }),
    admin: ['96372x1'],
  },
  {
    name: 'R6.1 methotrexate SC (non-hormonal): 96401',
    input: input(O, [adm('m', 'J9250', '09:00', undefined, { route: 'subcutaneous' })]),
    admin: ['96401x1'],
  },
  {
    name: 'R6.1 two SC injections of different drugs: 96372 x2',
    input: input(O, [
      adm('d', 'J0897', '09:00', undefined, { route: 'subcutaneous' }),
      adm('b', 'J3420', '09:05', undefined, { route: 'intramuscular' }),
    ]),
    admin: ['96372x2'],
  },
  {
    name: 'R6.1 injection alongside an infusion keeps its own code',
    input: input(O, [
      adm('v', 'J3370', '09:00', '10:00'),
      adm('d', 'J0897', '10:05', undefined, { route: 'subcutaneous' }),
    ]),
    admin: ['96365x1', '96372x1'],
  },
  {
    name: 'R1.3 facility: TPD injection outranks hydration → 96372 + 96361',
    input: input(F, [
      adm('d', 'J0897', '08:55', undefined, { route: 'subcutaneous' }),
      adm('h', 'J7030', '09:00', '10:00', { site: 'L' }),
    ]),
    admin: ['96372x1', '96361x1'],
  },
  // ---- R2.3 / R2.2 sites, R2.4 encounters
  {
    name: 'R2.3 facility: second vascular access site gets its own initial with XS (Medicare)',
    input: input(F, [
      adm('v', 'J3370', '09:00', '10:00', { site: 'L' }),
      adm('c', 'J0696', '09:00', '10:00', { site: 'R' }),
    ]),
    admin: ['96365x1', '96365x1-XS'],
  },
  {
    name: 'R2.2 facility commercial: separate-site initial takes 59',
    input: input(
      F,
      [
        adm('v', 'J3370', '09:00', '10:00', { site: 'L' }),
        adm('c', 'J0696', '09:00', '10:00', { site: 'R' }),
      ],
      { payer: 'commercial' },
    ),
    admin: ['96365x1', '96365x1-59'],
  },
  {
    name: 'R2.3 facility: lower-ranked site is the one modified (chemo site keeps the plain initial)',
    input: input(F, [
      adm('h', 'J7030', '08:00', '09:00', { site: 'R' }),
      adm('c', 'J9271', '09:00', '09:30', { site: 'L' }),
    ]),
    admin: ['96413x1', '96360x1-XS'],
  },
  {
    name: 'R2.3 facility: missing site groups with other undocumented sites',
    input: input(F, [adm('v', 'J3370', '09:00', '10:00'), adm('c', 'J0696', '09:10', '09:50')]),
    admin: ['96365x1', '96368x1'],
    issues: ['missing-site'],
  },
  {
    name: 'R2.1 office: two sites still one initial per encounter',
    input: input(O, [
      adm('v', 'J3370', '09:00', '10:00', { site: 'L' }),
      adm('c', 'J0696', '10:00', '11:00', { site: 'R' }),
    ]),
    admin: ['96365x1', '96367x1'],
  },
  {
    name: 'R2.4 office: two encounters the same day → second initial with XE (Medicare)',
    input: input(
      O,
      [adm('v', 'J3370', '09:00', '10:00'), adm('w', 'J3370', '14:00', '15:00', { encounterId: 'E2' })],
      {
        encounters: [visit('E1', '08:55'), visit('E2', '13:55')],
      },
    ),
    admin: ['96365x1', '96365x1-XE'],
  },
  {
    name: 'R2.4 facility commercial: two encounters the same day → 59',
    input: input(
      F,
      [
        adm('v', 'J2405', '09:00', '09:02', { site: 'L' }),
        adm('w', 'J2405', '14:00', '14:02', { encounterId: 'E2', site: 'L' }),
      ],
      {
        payer: 'commercial',
        encounters: [visit('E1', '08:55'), visit('E2', '13:55')],
      },
    ),
    admin: ['96374x1', '96374x1-59'],
  },
  {
    name: 'R2.4 encounters on different days need no modifier',
    input: input(
      O,
      [adm('v', 'J3370', '09:00', '10:00'), adm('w', 'J3370', '+1 09:00', '+1 10:00', { encounterId: 'E2' })],
      {
        encounters: [visit('E1', '08:55'), visit('E2', '+1 08:55')],
      },
    ),
    admin: ['96365x1', '96365x1'],
  },
  // ---- R9 units, R10 JW/JZ, R11 NDC, R12 340B, R14 revenue codes (R14: see details.test.ts)
  {
    name: 'R10.1 infliximab 350 mg from 100 mg vials (Medicare): J1745 x35 + JW x5',
    input: input(O, [
      adm('r', { ndc: '57894-0030-01' }, '09:00', '11:00', { dose: { value: 350, unit: 'mg' } }),
    ]),
    drugs: ['J1745x35', 'J1745x5-JW'],
  },
  {
    name: 'R10.1 documented discarded amount decides the JW line',
    input: input(O, [
      adm('r', { ndc: '57894-0030-01' }, '09:00', '11:00', {
        dose: { value: 350, unit: 'mg' },
        discarded: { value: 150, unit: 'mg' },
      }),
    ]),
    drugs: ['J1745x35', 'J1745x15-JW'],
  },
  {
    name: 'R10.2 infliximab 400 mg, nothing discarded, DOS after 2023-07-01: JZ',
    input: input(O, [
      adm('r', { ndc: '57894-0030-01' }, '09:00', '11:00', { dose: { value: 400, unit: 'mg' } }),
    ]),
    drugs: ['J1745x40-JZ'],
  },
  {
    name: 'R10.2 JZ not required before 2023-07-01',
    input: input(
      O,
      [
        adm('r', { ndc: '57894-0030-01' }, '09:00', '11:00', {
          dose: { value: 400, unit: 'mg' },
          day: '2023-03-01',
        }),
      ],
      {
        encounters: [visit('E1', '2023-03-01T08:00:00Z')],
      },
    ),
    drugs: ['J1745x40'],
  },
  {
    name: 'R10.5 commercial: no JW line for the same waste',
    input: input(
      O,
      [adm('r', { ndc: '57894-0030-01' }, '09:00', '11:00', { dose: { value: 350, unit: 'mg' } })],
      { payer: 'commercial' },
    ),
    drugs: ['J1745x35'],
  },
  {
    name: 'R10.5 Medicaid: neither JW nor JZ',
    input: input(
      O,
      [adm('r', { ndc: '57894-0030-01' }, '09:00', '11:00', { dose: { value: 400, unit: 'mg' } })],
      { payer: 'medicaid' },
    ),
    drugs: ['J1745x40'],
  },
  {
    // The CMS FAQ example (restated by Noridian JD DME, "Modifier JZ"): one unit, with JZ.
    name: 'R10.4 waste inside the billed unit: 25 mg of a 50 mg code, no JW line, JZ',
    input: input(O, [
      adm('b', { ndc: '63323-664-01' }, '09:00', '09:02', { dose: { value: 25, unit: 'mg' } }),
    ]),
    drugs: ['J1200x1-JZ'],
  },
  {
    name: 'R10.3 multi-dose vial: neither JW nor JZ',
    input: input(O, [
      adm('o', { ndc: '0409-4759-01' }, '09:00', '09:02', { dose: { value: 4, unit: 'mg' } }),
    ]),
    drugs: ['J2405x4'],
  },
  {
    name: 'R9.2 units round up: leucovorin 410 mg / 50 mg → 9',
    input: input(O, [adm('l', 'J0640', '09:00', '10:00', { dose: { value: 410, unit: 'mg' } })], {
      payer: 'commercial',
    }),
    drugs: ['J0640x9'],
  },
  {
    name: 'R9.1 units: oxaliplatin 150 mg / 0.5 mg → 300',
    input: input(O, [adm('x', 'J9263', '09:00', '11:00', { dose: { value: 150, unit: 'mg' } })], {
      payer: 'commercial',
    }),
    drugs: ['J9263x300'],
  },
  {
    name: 'R9.1 grams to mg: IVIG 10 g / 500 mg → 20',
    input: input(O, [adm('g', 'J1459', '09:00', '12:00', { dose: { value: 10, unit: 'g' } })], {
      payer: 'commercial',
    }),
    drugs: ['J1459x20'],
  },
  {
    name: 'R9.1 mg to mcg: cyanocobalamin 1 mg / 1000 mcg → 1',
    input: input(
      O,
      [adm('c', 'J3420', '09:00', undefined, { route: 'intramuscular', dose: { value: 1, unit: 'mg' } })],
      { payer: 'commercial' },
    ),
    drugs: ['J3420x1'],
  },
  {
    name: 'R9.1 units: epoetin 40,000 units / 1,000 → 40',
    input: input(
      O,
      [adm('e', 'J0885', '09:00', undefined, { route: 'subcutaneous', dose: { value: 40000, unit: 'U' } })],
      { payer: 'commercial' },
    ),
    drugs: ['J0885x40'],
  },
  {
    name: 'R9.1 mL dose through the package concentration: pembrolizumab 8 mL = 200 mg',
    input: input(
      O,
      [adm('p', { ndc: '00006-3026-02' }, '09:00', '09:30', { dose: { value: 8, unit: 'mL' } })],
      { payer: 'commercial' },
    ),
    drugs: ['J9271x200'],
  },
  {
    name: 'R12.1 340B JG on drug and JW lines',
    input: input(
      F,
      [adm('r', { ndc: '57894-0030-01' }, '09:00', '11:00', { dose: { value: 350, unit: 'mg' }, site: 'L' })],
      { options: { modifier340B: 'JG' } },
    ),
    drugs: ['J1745x35-JG', 'J1745x5-JW-JG'],
  },
  {
    name: 'R12.1 340B TB with JZ',
    input: input(
      O,
      [adm('r', { ndc: '57894-0030-01' }, '09:00', '11:00', { dose: { value: 400, unit: 'mg' } })],
      { options: { modifier340B: 'TB' } },
    ),
    drugs: ['J1745x40-JZ-TB'],
  },
  {
    name: 'R5.2 office repeat push: full quantity on one drug line',
    input: input(
      O,
      [
        adm('a', 'J1100', '09:00', '09:02', { dose: { value: 4, unit: 'mg' } }),
        adm('b', 'J1100', '10:00', '10:02', { dose: { value: 6, unit: 'mg' } }),
      ],
      { payer: 'commercial' },
    ),
    drugs: ['J1100x10'],
  },
  // ---- R15 home infusion
  {
    name: 'R15.2 commercial home: per diem x days of the episode, nursing visit, drug lines',
    input: input(
      H,
      [0, 1, 2].map((d) =>
        adm(`c${d}`, 'J0696', `+${d} 09:00`, `+${d} 09:30`, {
          encounterId: d === 0 ? 'V1' : 'EP',
          dose: { value: 2, unit: 'g' },
        }),
      ),
      {
        payer: 'commercial',
        encounters: [
          { id: 'EP', kind: 'home-episode', start: at('08:00'), end: at('+4 20:00'), diagnoses: ['A41.9'] },
          {
            id: 'V1',
            kind: 'home-nursing-visit',
            partOf: 'EP',
            start: at('08:45'),
            end: at('10:15'),
            diagnoses: [],
          },
        ],
      },
    ),
    all: ['S9500x5', '99601x1', 'J0696x8', 'J0696x8', 'J0696x8'],
  },
  {
    name: 'R15.2 commercial home: q8h anti-infective per diem by doses per day',
    input: input(
      H,
      ['06:00', '14:00', '22:00'].map((t, i) =>
        adm(`v${i}`, 'J3370', t, undefined, { encounterId: 'EP', dose: { value: 1, unit: 'g' } }),
      ),
      { payer: 'commercial', encounters: [{ id: 'EP', kind: 'home-episode', diagnoses: ['A41.9'] }] },
    ),
    all: ['S9502x1', 'J3370x6'],
  },
  {
    name: 'R15.2 nursing visit of 180 min: 99601 + 99602 x1 (whole hours)',
    input: input(
      H,
      [adm('c', 'J0696', '09:00', '09:30', { encounterId: 'V1', dose: { value: 1, unit: 'g' } })],
      {
        payer: 'commercial',
        encounters: [
          { id: 'EP', kind: 'home-episode', start: at('08:00'), end: at('20:00'), diagnoses: ['A41.9'] },
          {
            id: 'V1',
            kind: 'home-nursing-visit',
            partOf: 'EP',
            start: at('08:00'),
            end: at('11:00'),
            diagnoses: [],
          },
        ],
      },
    ),
    all: ['S9500x1', '99601x1', '99602x1', 'J0696x4'],
  },
  {
    name: 'R15.2 nursing visit of 179 min: 99601 only (whole hours)',
    input: input(
      H,
      [adm('c', 'J0696', '09:00', '09:30', { encounterId: 'V1', dose: { value: 1, unit: 'g' } })],
      {
        payer: 'medicaid',
        encounters: [
          { id: 'EP', kind: 'home-episode', start: at('08:00'), end: at('20:00'), diagnoses: ['A41.9'] },
          {
            id: 'V1',
            kind: 'home-nursing-visit',
            partOf: 'EP',
            start: at('08:00'),
            end: at('10:59'),
            diagnoses: [],
          },
        ],
      },
    ),
    all: ['S9500x1', '99601x1', 'J0696x4'],
  },
  {
    name: 'R15.1 Medicare HIT: first visit code on the first administration day, subsequent after; no S-codes, no 99601',
    input: input(
      H,
      [
        adm('a1', 'J0133', '09:00', '10:00', { encounterId: 'V1', dose: { value: 500, unit: 'mg' } }),
        adm('a2', 'J0133', '+2 09:00', '+2 10:00', { encounterId: 'V2', dose: { value: 500, unit: 'mg' } }),
      ],
      {
        encounters: [
          { id: 'EP', kind: 'home-episode', start: at('08:00'), diagnoses: ['B00.4'] },
          {
            id: 'V1',
            kind: 'home-nursing-visit',
            partOf: 'EP',
            start: at('08:50'),
            end: at('10:10'),
            diagnoses: [],
          },
          {
            id: 'V2',
            kind: 'home-nursing-visit',
            partOf: 'EP',
            start: at('+2 08:50'),
            end: at('+2 10:10'),
            diagnoses: [],
          },
        ],
      },
    ),
    all: ['G0088x1@2025-03-10', 'G0068x1@2025-03-12', 'J0133x100@2025-03-10', 'J0133x100@2025-03-12'],
    withDates: true,
  },
  {
    name: 'R15.1 Medicare HIT category 2 (SCIG) and 3 (chemo pump)',
    input: input(
      H,
      [
        adm('g', 'J1569', '09:00', '10:00', {
          encounterId: 'V1',
          route: 'subcutaneous',
          method: 'injection',
          dose: { value: 10, unit: 'g' },
        }),
        adm('f', 'J9190', '09:30', '+2 09:30', { encounterId: 'V1', dose: { value: 2400, unit: 'mg' } }),
      ],
      {
        encounters: [
          { id: 'EP', kind: 'home-episode', diagnoses: ['C18.9'] },
          {
            id: 'V1',
            kind: 'home-nursing-visit',
            partOf: 'EP',
            start: at('08:50'),
            end: at('10:10'),
            diagnoses: [],
          },
        ],
      },
    ),
    all: ['G0089x1', 'G0090x1', 'J1569x20', 'J9190x5'],
    issues: ['waste-undocumented'],
  },
  {
    name: 'R15.1 Medicare: a visit with no HIT drug is not an administration day',
    input: input(
      H,
      [adm('c', 'J0696', '15:00', '15:30', { encounterId: 'EP', dose: { value: 2, unit: 'g' } })],
      {
        encounters: [
          { id: 'EP', kind: 'home-episode', diagnoses: ['A41.9'] },
          {
            id: 'V1',
            kind: 'home-nursing-visit',
            partOf: 'EP',
            start: at('08:50'),
            end: at('10:10'),
            diagnoses: [],
          },
        ],
      },
    ),
    all: ['J0696x8-JZ'],
    issues: ['hit-no-eligible-drug'],
  },
  // ---- documentation issues ("Bad input")
  {
    name: 'R3.6 infusion without a stop time is held; the rest is coded',
    input: input(O, [adm('a', 'J3370', '09:00', undefined), adm('b', 'J2405', '09:05', '09:07')]),
    admin: ['96374x1'],
    held: ['a'],
    issues: ['missing-stop-time'],
  },
  {
    name: 'R3.6 stop before start is held',
    input: input(O, [adm('a', 'J3370', '10:00', '09:00')]),
    all: [],
    held: ['a'],
    issues: ['impossible-period'],
  },
  {
    name: 'R1.2 unknown drug: administration coded as TPD (coder to confirm), drug line waits for its code',
    input: input(O, [
      adm('a', { text: 'mystery infusion' }, '09:00', '10:00'),
      adm('b', 'J2405', '10:05', '10:07'),
    ]),
    all: ['96365x1', '96375x1', 'J2405x1'],
    held: [],
    issues: ['unknown-drug', 'category-unconfirmed'],
  },
  {
    name: 'R9.1 unconvertible dose: administration coded, drug line held',
    input: input(O, [adm('a', 'J1745', '09:00', '10:00', { dose: { value: 3, unit: 'mEq' } })]),
    all: ['96413x1', 'J1745x0!held'],
    issues: ['unconvertible-dose'],
  },
  {
    name: 'R9.1 missing dose: administration coded, drug line held',
    input: input(O, [adm('a', 'J3370', '09:00', '10:00', { dose: undefined })]),
    all: ['96365x1', 'J3370x0!held'],
    issues: ['missing-dose'],
  },
  {
    name: 'R1.1 route "other" has no administration code: the drug line alone, warned',
    input: input(O, [adm('a', 'J3370', '09:00', '10:00', { route: 'other' })]),
    all: ['J3370x1-JZ'],
    held: [],
    issues: ['administration-not-coded'],
  },
  {
    name: 'R2.1 SC infusion (96369) is not coded by the rules: the drug line alone, warned',
    input: input(O, [adm('a', 'J1569', '09:00', '10:00', { route: 'subcutaneous', method: 'infusion' })]),
    all: ['J1569x1'],
    held: [],
    issues: ['administration-not-coded'],
  },
  {
    name: 'R3.1 neither route nor method documented is held',
    input: input(O, [adm('a', 'J3370', '09:00', '10:00', { route: undefined })]),
    all: [],
    held: ['a'],
    issues: ['missing-route'],
  },
  {
    name: 'R2.3 facility missing site is a warning, still coded',
    input: input(F, [adm('a', 'J3370', '09:00', '10:00')]),
    admin: ['96365x1'],
    issues: ['missing-site'],
  },
  {
    name: 'R3.5 administration without an order: warning, still coded',
    input: input(O, [adm('a', 'J3370', '09:00', '10:00', { ordered: false })]),
    admin: ['96365x1'],
    issues: ['unordered-drug'],
  },
  {
    name: 'R0 entered-in-error produces nothing',
    input: input(O, [adm('a', 'J3370', '09:00', '10:00', { status: 'entered-in-error' })]),
    all: [],
    held: [],
  },
  {
    name: 'R0 not-done produces nothing',
    input: input(O, [adm('a', 'J3370', '09:00', '10:00', { status: 'not-done' })]),
    all: [],
    held: [],
  },
  {
    name: 'R0 entered-in-error does not change the rest (second push stays 96374)',
    input: input(O, [
      adm('a', 'J2405', '09:00', '09:02', { status: 'entered-in-error' }),
      adm('b', 'J1100', '09:05', '09:07'),
    ]),
    admin: ['96374x1'],
  },
  {
    name: 'R0 in-progress is not coded yet',
    input: input(O, [adm('a', 'J3370', '09:00', undefined, { status: 'in-progress' })]),
    all: [],
    issues: ['not-complete'],
  },
  {
    name: 'R0 unknown status is held',
    input: input(O, [adm('a', 'J3370', '09:00', '10:00', { status: 'unknown' })]),
    all: [],
    held: ['a'],
    issues: ['unknown-status'],
  },
  {
    name: 'R11.1 NDC not in the catalog: matched by HCPCS, warned',
    input: input(O, [adm('a', { ndc: '99999-9999-99', hcpcs: 'J3370' }, '09:00', '10:00')], {
      payer: 'commercial',
    }),
    admin: ['96365x1'],
    issues: ['ndc-not-in-crosswalk', 'missing-ndc'],
  },
  {
    name: 'R11.5 NDC required by the payer but not documented: warning',
    input: input(O, [adm('a', 'J3370', '09:00', '10:00')], { payer: 'medicaid' }),
    drugs: ['J3370x1'],
    issues: ['missing-ndc'],
  },
  {
    name: 'R3.6 push without any start takes its encounter date, warned',
    input: input(O, [adm('a', 'J2405', undefined, undefined, { method: 'push' })], {
      encounters: [visit('E1', '09:00')],
    }),
    admin: ['96374x1'],
    issues: ['missing-start-time'],
  },
];

/** Refusal by payer rule set (a carrier refusing 96376). */
const REFUSING: CodingTables = {
  ...TABLES,
  payers: { ...TABLES.payers, commercial: { ...TABLES.payers.commercial, refusedCodes: ['96376'] } },
};
S.push({
  name: 'R5.1 payer rule set refusing 96376 drops the line',
  input: input(
    F,
    [adm('a', 'J2405', '09:00', '09:02', { site: 'L' }), adm('b', 'J2405', '09:45', '09:47', { site: 'L' })],
    { payer: 'commercial' },
  ),
  admin: ['96374x1'],
  issues: ['payer-refused-code'],
  tables: REFUSING,
});

/** Every scenario, in table order, then the ones on drugs the catalog does not list. */
export const SCENARIOS: readonly Scenario[] = [...S, ...CMS_SCENARIOS];
