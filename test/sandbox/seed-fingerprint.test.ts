/**
 * The seeded day is byte-identical for the same inputs (date, patients, seed, zone): a SHA-256 of
 * `generateInfusionDay`'s JSON for a few inputs, recorded from the generator as it stood before its
 * data was moved out of the code (issue 12). A change to the seed data or to how it becomes FHIR
 * shows here; when the change is meant, record the new fingerprints in the same commit and say why.
 * Issue 13 added `payerEnrollment` (coverages a payer ended that the EHR shows active) and the
 * seeded error it makes (eligibility-inactive); the FHIR timeline was unchanged by them.
 */
import { createHash } from 'node:crypto';
import { expect, test } from '@jest/globals';
import { generateInfusionDay } from '../../src/sandbox/ehr/seed/generate.ts';
import type { InfusionDayOptions } from '../../src/sandbox/ehr/seed/generate.ts';

const NY = 'America/New_York';

const CASES: readonly { readonly options: InfusionDayOptions; readonly sha256: string }[] = [
  // The smallest full day, on the day summer time begins in New York (a 23-hour day).
  {
    options: { date: '2026-03-08', patients: 16, timeZone: NY },
    sha256: '7928e0cfaaa2dbbacb987dd05f4bfef38be9f3c9c98ddd504f2ecb3ee477dc6d',
  },
  // The sandbox's default day size, on the day summer time ends (a 25-hour day).
  {
    options: { date: '2026-11-01', patients: 36, timeZone: NY },
    sha256: 'd400b5227f17d97915ab8c2cbb51674468e06d06d3d74b6ea9fdcdddf8c655db',
  },
  // An ordinary day, 16 and 36 patients, in the fixed default offset.
  {
    options: { date: '2026-12-03', patients: 16 },
    sha256: 'b9c1b81637cbc883ef17758543d467dcd3feb5f213875e0b5d6ee9a6ea29ac64',
  },
  {
    options: { date: '2026-12-03', patients: 36 },
    sha256: '5895a37d2be4e695126602e8cf8aa43eb0ade66d5e66f36d421db30543d6cd02',
  },
  // Another seed, more patients than the plan (its visit mix cycles), a year's last day.
  {
    options: { date: '2026-12-31', patients: 80, seed: 3, timeZone: '-08:00' },
    sha256: '404ae7258db679015a6eeeb3350d6448dcd3392d6152edf986b4939f5068f701',
  },
];

const fingerprint = (options: InfusionDayOptions): string =>
  createHash('sha256')
    .update(JSON.stringify(generateInfusionDay(options)))
    .digest('hex');

test.each(CASES)('the day for $options is byte-identical to the recorded one', ({ options, sha256 }) => {
  expect(fingerprint(options)).toBe(sha256);
});
