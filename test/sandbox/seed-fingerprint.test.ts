/**
 * The seeded day is byte-identical for the same inputs (date, patients, seed, zone): a SHA-256 of
 * `generateInfusionDay`'s JSON for a few inputs, recorded from the generator as it stood before its
 * data was moved out of the code (issue 12). A change to the seed data or to how it becomes FHIR
 * shows here; when the change is meant, record the new fingerprints in the same commit and say why.
 * Issue 13 added `payerEnrollment` (coverages a payer ended that the EHR shows active); the FHIR
 * timeline and the seeded errors were unchanged by it.
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
    sha256: '8b98f5fc2147f32de37a83ff5cb88015341d5554b4bd0d21f2a3330e444ffc2b',
  },
  // The sandbox's default day size, on the day summer time ends (a 25-hour day).
  {
    options: { date: '2026-11-01', patients: 36, timeZone: NY },
    sha256: '09ef93a488710e044b62597cdb21295269b2c114023827b33966f4e25a23cb34',
  },
  // An ordinary day, 16 and 36 patients, in the fixed default offset.
  {
    options: { date: '2026-12-03', patients: 16 },
    sha256: '5680652e69a39b5067a28f78b4b989ecd2fce2a23047326bf581bac66bc9c9a2',
  },
  {
    options: { date: '2026-12-03', patients: 36 },
    sha256: 'ff77ff6553643ee635f1886f16ef86d4f5709604a46eecc57280bb7294c69823',
  },
  // Another seed, more patients than the plan (its visit mix cycles), a year's last day.
  {
    options: { date: '2026-12-31', patients: 80, seed: 3, timeZone: '-08:00' },
    sha256: 'd3a8dcf4d566a6cd7d12ac1c85f735ab5f70ef79f51171f6de4e38c596267009',
  },
];

const fingerprint = (options: InfusionDayOptions): string =>
  createHash('sha256')
    .update(JSON.stringify(generateInfusionDay(options)))
    .digest('hex');

test.each(CASES)('the day for $options is byte-identical to the recorded one', ({ options, sha256 }) => {
  expect(fingerprint(options)).toBe(sha256);
});
