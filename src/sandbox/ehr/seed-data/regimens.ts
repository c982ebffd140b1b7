/**
 * What each regimen gives on a visit: its therapy class, the diagnoses it treats, who orders it,
 * how long the patient is observed afterwards, and its administrations (premedications, drugs,
 * fluids) timed in minutes from the chair start, with doses from the patient's weight or body
 * surface area the way the orders are written. The day plan (./plan.ts) picks regimens by key.
 * Doses and times are typical ones (../shared/research/drug-table.md), not clinical advice.
 */
import type { Regimen } from '../seed/model.ts';
import { fromVials, infusion, injection, push, round } from '../seed/regimen-terms.ts';
import { qty } from '../seed/values.ts';

export const REGIMENS = {
  'paclitaxel-carboplatin': {
    therapyClass: 'chemotherapy',
    dx: ['C56.9'],
    orderer: 'onc1',
    observe: 10,
    admins: ({ bsa, rng }) => {
      const pac = round(175 * bsa, 5);
      // Calvert: dose = AUC × (GFR + 25).
      const carbo = round(5 * (rng.int(60, 110) + 25), 10);
      return [
        infusion('ns-500ml', 0, 60, qty(500, 'mL'), 'NS 500 mL IV over 60 min before chemotherapy', {
          rate: qty(500, 'mL/h'),
        }),
        push('dexamethasone-10mg', 62, qty(20, 'mg'), 'dexamethasone 20 mg IV push 30 min before paclitaxel'),
        push('diphenhydramine-50mg', 66, qty(50, 'mg'), 'diphenhydramine 50 mg IV push before paclitaxel', 2),
        push('ondansetron-40mg', 69, qty(16, 'mg'), 'ondansetron 16 mg IV push before chemotherapy'),
        infusion('paclitaxel-300mg', 95, 180, qty(pac, 'mg'), `paclitaxel 175 mg/m2 (${pac} mg) IV over 3 h`),
        infusion(
          'carboplatin-450mg',
          280,
          30,
          qty(carbo, 'mg'),
          `carboplatin AUC 5 (${carbo} mg) IV over 30 min`,
        ),
      ];
    },
  },
  'paclitaxel-weekly': {
    therapyClass: 'chemotherapy',
    dx: ['C50.911'],
    orderer: 'onc2',
    observe: 10,
    admins: ({ bsa }) => {
      const pac = round(80 * bsa, 5);
      return [
        push('dexamethasone-10mg', 0, qty(10, 'mg'), 'dexamethasone 10 mg IV push before paclitaxel'),
        push('diphenhydramine-50mg', 4, qty(25, 'mg'), 'diphenhydramine 25 mg IV push before paclitaxel', 2),
        infusion(
          'paclitaxel-300mg',
          30,
          60,
          qty(pac, 'mg'),
          `paclitaxel 80 mg/m2 (${pac} mg) IV over 1 h weekly`,
        ),
      ];
    },
  },
  folfox: {
    therapyClass: 'chemotherapy',
    dx: ['C18.7'],
    orderer: 'onc2',
    observe: 15,
    admins: ({ bsa }) => {
      const oxali = round(85 * bsa, 5);
      const lv = round(400 * bsa, 10);
      const bolus = round(400 * bsa, 10);
      const pump = round(2400 * bsa, 50);
      return [
        push('ondansetron-40mg', 0, qty(8, 'mg'), 'ondansetron 8 mg IV push before chemotherapy'),
        push('dexamethasone-10mg', 4, qty(10, 'mg'), 'dexamethasone 10 mg IV push before chemotherapy'),
        // Oxaliplatin and leucovorin run together through a Y-site: concurrent infusions.
        infusion(
          'oxaliplatin-100mg',
          20,
          120,
          qty(oxali, 'mg'),
          `oxaliplatin 85 mg/m2 (${oxali} mg) IV over 2 h`,
          { discarded: fromVials('oxaliplatin-100mg', oxali) },
        ),
        infusion(
          'leucovorin-350mg',
          20,
          120,
          qty(lv, 'mg'),
          `leucovorin 400 mg/m2 (${lv} mg) IV over 2 h with oxaliplatin`,
        ),
        {
          ...push(
            'fluorouracil-2500mg',
            145,
            qty(bolus, 'mg'),
            `fluorouracil 400 mg/m2 (${bolus} mg) IV push`,
            5,
          ),
          order: 'fluorouracil-bolus',
        },
        // 46-hour ambulatory pump: started today, disconnected on day 3, so no stop time today.
        infusion(
          'fluorouracil-2500mg',
          155,
          46 * 60,
          qty(pump, 'mg'),
          `fluorouracil 2400 mg/m2 (${pump} mg) continuous IV over 46 h by ambulatory pump`,
          {
            order: 'fluorouracil-pump',
            openEnded: true,
            rate: qty(Number((pump / 46).toFixed(1)), 'mg/h'),
            note: 'Ambulatory pump connected; disconnect in 46 h',
          },
        ),
      ];
    },
  },
  'rituximab-ra': {
    therapyClass: 'biologic',
    dx: ['M05.79'],
    orderer: 'rheum',
    observe: 30,
    admins: () => [
      push('dexamethasone-10mg', 0, qty(10, 'mg'), 'dexamethasone 10 mg IV push 30 min before rituximab'),
      push('diphenhydramine-50mg', 4, qty(50, 'mg'), 'diphenhydramine 50 mg IV push before rituximab', 2),
      infusion(
        'rituximab-500mg',
        30,
        255,
        qty(1000, 'mg'),
        'rituximab 1000 mg IV, titrate per protocol (days 1 and 15)',
      ),
    ],
  },
  'rituximab-lymphoma': {
    therapyClass: 'biologic',
    dx: ['C83.30'],
    orderer: 'onc1',
    observe: 15,
    admins: ({ bsa }) => {
      const dose = round(375 * bsa, 10);
      return [
        push('diphenhydramine-50mg', 0, qty(50, 'mg'), 'diphenhydramine 50 mg IV push before rituximab', 2),
        infusion(
          'rituximab-100mg',
          30,
          240,
          qty(dose, 'mg'),
          `rituximab 375 mg/m2 (${dose} mg) IV, titrate per protocol`,
          { discarded: fromVials('rituximab-100mg', dose) },
        ),
      ];
    },
  },
  infliximab: {
    therapyClass: 'biologic',
    dx: ['K50.90'],
    orderer: 'gi',
    observe: 15,
    admins: ({ weightKg }) => {
      const dose = round(5 * weightKg, 10);
      return [
        push('diphenhydramine-50mg', 0, qty(25, 'mg'), 'diphenhydramine 25 mg IV push before infliximab', 2),
        infusion(
          'infliximab-100mg',
          20,
          120,
          qty(dose, 'mg'),
          `infliximab 5 mg/kg (${dose} mg) IV over 2 h every 8 weeks`,
          { discarded: fromVials('infliximab-100mg', dose) },
        ),
      ];
    },
  },
  'infliximab-ra': {
    therapyClass: 'biologic',
    dx: ['M05.79'],
    orderer: 'rheum',
    observe: 15,
    admins: ({ weightKg }) => {
      const dose = round(3 * weightKg, 10);
      return [
        infusion(
          'infliximab-100mg',
          0,
          120,
          qty(dose, 'mg'),
          `infliximab 3 mg/kg (${dose} mg) IV over 2 h every 8 weeks`,
          { discarded: fromVials('infliximab-100mg', dose) },
        ),
      ];
    },
  },
  ocrelizumab: {
    therapyClass: 'biologic',
    dx: ['G35.A'],
    orderer: 'neuro',
    observe: 60,
    admins: () => [
      push('dexamethasone-10mg', 0, qty(10, 'mg'), 'dexamethasone 10 mg IV push 30 min before ocrelizumab'),
      push('diphenhydramine-50mg', 4, qty(50, 'mg'), 'diphenhydramine 50 mg IV push before ocrelizumab', 2),
      infusion(
        'ocrelizumab-300mg',
        35,
        210,
        qty(600, 'mg'),
        'ocrelizumab 600 mg IV over 3.5 h every 6 months',
      ),
    ],
  },
  vedolizumab: {
    therapyClass: 'biologic',
    dx: ['K51.90'],
    orderer: 'gi',
    observe: 10,
    admins: () => [
      infusion(
        'vedolizumab-300mg',
        0,
        30,
        qty(300, 'mg'),
        'vedolizumab 300 mg IV over 30 min every 8 weeks',
        { rate: qty(500, 'mL/h') },
      ),
    ],
  },
  ivig: {
    therapyClass: 'immune-globulin',
    dx: ['G61.81'],
    orderer: 'neuro',
    observe: 15,
    admins: ({ weightKg }) => {
      const grams = round(0.4 * weightKg, 2.5);
      return [
        push('diphenhydramine-50mg', 0, qty(25, 'mg'), 'diphenhydramine 25 mg IV push before IVIG', 2),
        infusion(
          'ivig-privigen-10g',
          15,
          150 + Math.round(grams * 2),
          qty(grams, 'g'),
          `immune globulin 10% 0.4 g/kg (${grams} g) IV, titrate per protocol`,
          { discarded: fromVials('ivig-privigen-10g', grams) },
        ),
      ];
    },
  },
  'iron-sucrose': {
    therapyClass: 'iron',
    dx: ['D50.0'],
    orderer: 'im',
    observe: 15,
    admins: () => [
      push(
        'iron-sucrose-100mg',
        0,
        qty(200, 'mg'),
        'iron sucrose 200 mg slow IV push over 5 min, 5 doses',
        5,
      ),
    ],
  },
  'ferric-carboxymaltose': {
    therapyClass: 'iron',
    dx: ['D50.0'],
    orderer: 'im',
    observe: 30,
    admins: () => [
      infusion(
        'ferric-carboxymaltose-750mg',
        0,
        18,
        qty(750, 'mg'),
        'ferric carboxymaltose 750 mg IV over at least 15 min, repeat in 7 days',
      ),
    ],
  },
  hydration: {
    therapyClass: 'hydration',
    dx: ['E86.0', 'R11.2'],
    orderer: 'im',
    observe: 10,
    admins: () => [
      push('ondansetron-40mg', 0, qty(8, 'mg'), 'ondansetron 8 mg IV push for nausea'),
      infusion('ns-1000ml', 5, 120, qty(1000, 'mL'), 'NS 1,000 mL IV over 2 h for dehydration', {
        rate: qty(500, 'mL/h'),
      }),
    ],
  },
  ceftriaxone: {
    therapyClass: 'anti-infective',
    dx: ['L03.115'],
    orderer: 'id',
    observe: 10,
    admins: () => [
      infusion('ceftriaxone-2g', 0, 30, qty(2, 'g'), 'ceftriaxone 2 g IV over 30 min every 24 h'),
    ],
  },
  vancomycin: {
    therapyClass: 'anti-infective',
    dx: ['L03.115'],
    orderer: 'id',
    observe: 10,
    admins: () => [
      infusion(
        'vancomycin-500mg',
        0,
        120,
        qty(1500, 'mg'),
        'vancomycin 1,500 mg IV over 2 h every 12 h (trough-guided)',
      ),
    ],
  },
  denosumab: {
    therapyClass: 'injection',
    dx: ['M81.0'],
    orderer: 'im',
    observe: 10,
    admins: ({ rng }) => [
      injection(
        'denosumab-60mg',
        0,
        qty(60, 'mg'),
        rng.pick(['l-upper-arm', 'r-upper-arm', 'abdomen'] as const),
        'denosumab 60 mg SC every 6 months',
      ),
    ],
  },
  leuprolide: {
    therapyClass: 'injection',
    dx: ['C61'],
    orderer: 'onc2',
    observe: 10,
    admins: () => [
      injection(
        'leuprolide-22.5mg',
        0,
        qty(22.5, 'mg'),
        'buttock',
        'leuprolide acetate depot 22.5 mg IM every 3 months',
      ),
    ],
  },
  'methotrexate-sc': {
    therapyClass: 'injection',
    dx: ['L40.50'],
    orderer: 'rheum',
    observe: 10,
    admins: () => [
      {
        ...injection('methotrexate-50mg', 0, qty(25, 'mg'), 'abdomen', 'methotrexate 25 mg SC weekly'),
        discarded: fromVials('methotrexate-50mg', 25),
      },
    ],
  },
  b12: {
    therapyClass: 'injection',
    dx: ['D51.0'],
    orderer: 'im',
    observe: 5,
    admins: ({ rng }) => [
      injection(
        'cyanocobalamin-1000mcg',
        0,
        qty(1000, 'ug'),
        rng.pick(['l-upper-arm', 'r-upper-arm'] as const),
        'cyanocobalamin 1,000 mcg IM monthly',
      ),
    ],
  },
} satisfies Record<string, Regimen>;
export type RegimenKey = keyof typeof REGIMENS;
