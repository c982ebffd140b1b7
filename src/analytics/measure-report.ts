/**
 * The standard measures as FHIR R4 MeasureReports (pure): a `summary` report for the tenant over
 * the period, the total as the group's populations (numerator, denominator) and measureScore, and
 * the slices as one stratifier named by the slice (payer, location, drug, code). Counts are claims;
 * a dollar-based denominator (net collection) is not a population count in R4, so it reports the
 * score alone and its dollars as the stratum's score components in the JSON answer.
 */
import type { MeasureReport, MeasureReportGroupPopulation } from '@medplum/fhirtypes';
import {
  MEASURE_CLEAN_CLAIM_RATE,
  MEASURE_DAYS_IN_AR,
  MEASURE_DENIAL_RATE,
  MEASURE_FIRST_PASS_RESOLUTION_RATE,
  MEASURE_NET_COLLECTION_RATE,
} from '../contract/analytics.ts';
import type { MeasureName, MeasureResult, MeasureRow } from './measures.ts';

export const STANDARD_MEASURES: Partial<Readonly<Record<MeasureName, string>>> = {
  'clean-claim-rate': MEASURE_CLEAN_CLAIM_RATE,
  'denial-rate': MEASURE_DENIAL_RATE,
  'first-pass-resolution-rate': MEASURE_FIRST_PASS_RESOLUTION_RATE,
  'net-collection-rate': MEASURE_NET_COLLECTION_RATE,
  'days-in-ar': MEASURE_DAYS_IN_AR,
};

const POPULATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/measure-population';
/** Measures whose numerator and denominator are claim counts. */
const COUNTED: ReadonlySet<MeasureName> = new Set([
  'clean-claim-rate',
  'denial-rate',
  'first-pass-resolution-rate',
]);

function populations(name: MeasureName, row: MeasureRow): MeasureReportGroupPopulation[] {
  if (!COUNTED.has(name)) {
    return [];
  }
  return [
    { code: { coding: [{ system: POPULATION_SYSTEM, code: 'numerator' }] }, count: row.numerator ?? 0 },
    { code: { coding: [{ system: POPULATION_SYSTEM, code: 'denominator' }] }, count: row.denominator ?? 0 },
  ];
}

const score = (row: MeasureRow, unit: string): { value: number; unit?: string } | undefined =>
  row.value === null ? undefined : { value: row.value, ...(unit === 'days' ? { unit: 'd' } : {}) };

export function measureReport(
  result: MeasureResult,
  options: { readonly id: string; readonly created: string; readonly reporter?: string },
): MeasureReport | undefined {
  const measure = STANDARD_MEASURES[result.measure];
  if (!measure) {
    return undefined;
  }
  const total = score(result.total, result.unit);
  return {
    resourceType: 'MeasureReport',
    id: options.id,
    status: 'complete',
    type: 'summary',
    measure,
    date: options.created,
    period: { start: result.from, end: result.to },
    ...(options.reporter ? { reporter: { display: options.reporter } } : {}),
    group: [
      {
        code: { text: result.title },
        population: populations(result.measure, result.total),
        ...(total ? { measureScore: total } : {}),
        ...(result.by
          ? {
              stratifier: [
                {
                  code: [{ text: result.by }],
                  stratum: result.slices.map((row) => {
                    const s = score(row, result.unit);
                    return {
                      value: { text: row.key },
                      population: populations(result.measure, row),
                      ...(s ? { measureScore: s } : {}),
                    };
                  }),
                },
              ],
            }
          : {}),
      },
    ],
  };
}
