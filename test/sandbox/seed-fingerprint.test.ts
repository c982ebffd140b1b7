/**
 * The seeded day is byte-identical for the same inputs (date, patients, seed, zone): a SHA-256 of
 * `generateInfusionDay`'s JSON for a few inputs, recorded from the generator as it stood before its
 * data was moved out of the code (issue 12). A change to the seed data or to how it becomes FHIR
 * shows here; when the change is meant, record the new fingerprints in the same commit and say why.
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
    sha256: 'f85d6645eda516ac3f90a772c67f934d22376740ef4436c63781a5bfd592cb4c',
  },
  // The sandbox's default day size, on the day summer time ends (a 25-hour day).
  {
    options: { date: '2026-11-01', patients: 36, timeZone: NY },
    sha256: '99bf5178c8a69851351f9c3a4c6972fd485485ea4ebfcde425e066945fbf0951',
  },
  // An ordinary day, 16 and 36 patients, in the fixed default offset.
  {
    options: { date: '2026-12-03', patients: 16 },
    sha256: 'c7511a079d4e14e2a4488635955d3a3fd5f49e247f9b480a294e78b77ecc8e08',
  },
  {
    options: { date: '2026-12-03', patients: 36 },
    sha256: '1c4de52a21161b9255349d400c0bec1c3238cafa2b2d238e1283d81db56c95e4',
  },
  // Another seed, more patients than the plan (its visit mix cycles), a year's last day.
  {
    options: { date: '2026-12-31', patients: 80, seed: 3, timeZone: '-08:00' },
    sha256: 'b3e8898f5157f4c9aa938550ee27f4efcca36ce66c63d95002cdeab40ca08d41',
  },
];

const fingerprint = (options: InfusionDayOptions): string =>
  createHash('sha256')
    .update(JSON.stringify(generateInfusionDay(options)))
    .digest('hex');

test.each(CASES)('the day for $options is byte-identical to the recorded one', ({ options, sha256 }) => {
  expect(fingerprint(options)).toBe(sha256);
});
