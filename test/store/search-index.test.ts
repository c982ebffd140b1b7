import { evalFhirPath } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, test } from '@jest/globals';
import {
  compileExpression,
  dateRange,
  indexedFilters,
  indexResource,
  normalizeReference,
  normalizeString,
} from '../../src/store/search-index.ts';
import { ANSWERED_FROM, SEARCH_PARAMETERS } from '../../src/store/search-parameters.ts';
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';

/** One rich example per kept type, touching the elements its search parameters read. */
const EXAMPLES = [
  {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:mrn', value: 'A1' }],
    name: [{ family: 'Ñúñez', given: ['Ana', 'María'], text: 'Ana María Ñúñez' }],
    birthDate: '1961-07',
    gender: 'female',
    active: true,
  },
  {
    resourceType: 'Encounter',
    identifier: [{ value: 'E1' }],
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [{ coding: [{ system: 'http://snomed.info/sct', code: '11429006' }], text: 'Consultation' }],
    subject: { reference: 'https://ehr.example.org/fhir/Patient/p1' },
    period: { start: '2026-11-26T09:00:00-05:00' },
    location: [{ location: { reference: 'Location/chair-3' } }],
    partOf: { reference: 'Encounter/episode-1' },
    serviceProvider: { reference: 'Organization/o1' },
  },
  {
    resourceType: 'MedicationAdministration',
    status: 'completed',
    medicationCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: '0069-0809-01' }] },
    subject: { reference: 'Patient/p1' },
    context: { reference: 'Encounter/e1' },
    effectivePeriod: { start: '2026-11-26T09:10:00Z', end: '2026-11-26T10:05:00Z' },
    request: { reference: 'MedicationRequest/r1' },
  },
  {
    resourceType: 'MedicationAdministration',
    status: 'in-progress',
    medicationReference: { reference: 'Medication/m1' },
    subject: { reference: 'Group/g1' },
    effectiveDateTime: '2026-11-26T09:10:00Z',
  },
  {
    resourceType: 'ChargeItem',
    status: 'billable',
    code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '96413' }] },
    subject: { reference: 'Patient/p1' },
    context: { reference: 'Encounter/e1' },
    occurrencePeriod: { start: '2026-11-26T09:10:00Z', end: '2026-11-26T10:05:00Z' },
    enteredDate: '2026-11-26T12:00:00Z',
  },
  {
    resourceType: 'Claim',
    status: 'active',
    use: 'claim',
    type: { coding: [{ code: 'professional' }] },
    patient: { reference: 'Patient/p1' },
    created: '2026-11-27',
    provider: { reference: 'Organization/o1' },
    insurer: { reference: 'Organization/payer' },
    priority: { coding: [{ code: 'normal' }] },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/c1' } }],
    billablePeriod: { start: '2026-11-26', end: '2026-11-26' },
    extension: [
      { url: EXT_CLAIM_STATE, valueCode: 'held' },
      { url: EXT_CLAIM_PAYER, valueString: 'medicare' },
      { url: 'https://example.org/other', valueCode: 'held-elsewhere' },
      { url: EXT_CLAIM_STATE, extension: [] },
    ],
    item: [
      { sequence: 1, productOrService: { text: 'x' }, encounter: [{ reference: 'Encounter/e1' }] },
      { sequence: 2, productOrService: { text: 'y' }, encounter: [{ reference: 'Encounter/e2' }] },
    ],
  },
  {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    for: { reference: 'Patient/p1' },
    focus: { reference: 'Claim/c1' },
    owner: { reference: 'Practitioner/biller' },
    businessStatus: { text: 'waiting' },
    authoredOn: '2026-11-26T12:00:00Z',
  },
  {
    resourceType: 'AuditEvent',
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    recorded: '2026-11-26T12:00:00.123Z',
    agent: [{ who: { reference: 'Device/d1' }, requestor: true }],
    source: { observer: { display: 'x' } },
    entity: [{ what: { reference: 'Patient/p1' } }, { what: { reference: 'Encounter/e1' } }],
  },
] as unknown as Resource[];

describe('compiled search expressions', () => {
  test('every definition uses the fast path', () => {
    for (const [type, definitions] of Object.entries(SEARCH_PARAMETERS)) {
      for (const d of definitions) {
        expect({ type, code: d.code, fast: compileExpression(d.expression).fastPath }).toEqual({
          type,
          code: d.code,
          fast: true,
        });
      }
    }
  });

  test('the fast path returns exactly what @medplum/core FHIRPath returns', () => {
    let compared = 0;
    for (const resource of EXAMPLES) {
      for (const d of SEARCH_PARAMETERS[resource.resourceType] ?? []) {
        expect(compileExpression(d.expression)(resource)).toEqual(evalFhirPath(d.expression, resource));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(60);
  });

  test('an expression outside the simple subset falls back to FHIRPath', () => {
    const fn = compileExpression("Encounter.subject.where(reference.contains('/Patient/'))");
    expect(fn.fastPath).toBe(false);
    expect(fn(EXAMPLES[1]!)).toEqual([{ reference: 'https://ehr.example.org/fhir/Patient/p1' }]);
  });
});

describe('indexResource', () => {
  test("reads a resource's content only, not the id and meta a write stamps (the store derives it before the lock)", () => {
    // src/store/sqlite/resources.ts derives a write's index entries before it stamps the resource.
    for (const [type, definitions] of Object.entries(SEARCH_PARAMETERS)) {
      for (const definition of definitions) {
        for (const path of definition.expression.split('|').map((p) => p.trim())) {
          expect(path).not.toMatch(new RegExp(`^(${type}\\.)?(id|meta)\\b`));
        }
      }
    }
    for (const example of EXAMPLES) {
      const stamped = {
        ...example,
        id: 'stamped-1',
        meta: { versionId: '7', lastUpdated: '2026-12-07T10:00:00.000Z', tag: [{ code: 'x' }] },
      } as Resource;
      expect(indexResource(stamped)).toEqual(indexResource(example));
    }
  });

  test('references are normalized to Type/id and typed parameters keep only their targets', () => {
    const entries = indexResource(EXAMPLES[1]!).entries;
    expect(entries).toContainEqual({ code: 'subject', kind: 'reference', value: 'Patient/p1' });
    expect(entries).toContainEqual({ code: 'location', kind: 'reference', value: 'Location/chair-3' });
    const groupSubject = indexResource(EXAMPLES[3]!).entries;
    expect(groupSubject).toContainEqual({ code: 'subject', kind: 'reference', value: 'Group/g1' });
  });

  test("a parameter narrowing another's references, or an alias, has no rows of its own: searches on it read the other's", () => {
    expect(ANSWERED_FROM['Encounter']).toEqual({ patient: 'subject' });
    expect(ANSWERED_FROM['AuditEvent']).toEqual({ patient: 'entity' });
    expect(ANSWERED_FROM['ChargeItem']).toEqual({
      patient: 'subject',
      encounter: 'context',
      date: 'occurrence',
    });
    expect(ANSWERED_FROM['MedicationAdministration']).toEqual({
      patient: 'subject',
      encounter: 'context',
      date: 'effective-time',
    });
    expect(ANSWERED_FROM['Provenance']).toEqual({ patient: 'target' });
    for (const example of EXAMPLES) {
      const narrowed = Object.keys(ANSWERED_FROM[example.resourceType] ?? {});
      expect(indexResource(example).entries.filter((e) => narrowed.includes(e.code))).toEqual([]);
    }
    // An alias has neither rows nor a sort key of its own: a ChargeItem's date of service once.
    const charge = indexResource({
      resourceType: 'ChargeItem',
      status: 'billable',
      occurrenceDateTime: '2026-03-01',
    } as Resource);
    expect(charge.entries.filter((e) => e.kind === 'date').map((e) => e.code)).toEqual(['occurrence']);
    expect(Object.keys(charge.sortKeys).sort()).toEqual(['occurrence', 'status']);
    // One reference row per audited patient read (it was two: entity and patient).
    const audit = indexResource({
      resourceType: 'AuditEvent',
      entity: [{ what: { reference: 'Patient/p1' } }],
    } as Resource);
    expect(audit.entries.filter((e) => e.kind === 'reference')).toEqual([
      { code: 'entity', kind: 'reference', value: 'Patient/p1' },
    ]);
    expect(
      indexedFilters('Encounter', [
        { code: 'patient', kind: 'reference', values: ['Patient/p1', 'Group/g1'] },
        { code: 'status', kind: 'token', values: [{ value: 'finished' }] },
      ]),
    ).toEqual([
      { code: 'subject', kind: 'reference', values: ['Patient/p1'] },
      { code: 'status', kind: 'token', values: [{ value: 'finished' }] },
    ]);
  });

  test('open periods run to the end of time; zones are applied', () => {
    const date = indexResource(EXAMPLES[1]!).entries.find((e) => e.code === 'date');
    expect(date).toEqual({
      code: 'date',
      kind: 'date',
      start: '2026-11-26T14:00:00.000Z',
      end: '9999-12-31T23:59:59.999Z',
    });
  });

  test('strings are case and accent folded; sort keys take the smallest value', () => {
    const index = indexResource(EXAMPLES[0]!);
    expect(index.entries.filter((e) => e.code === 'family')).toEqual([
      { code: 'family', kind: 'string', value: 'nunez' },
    ]);
    expect(index.sortKeys.name).toBe('ana');
    expect(index.sortKeys.birthdate).toBe('1961-07-01T00:00:00.000Z');
    expect(index.identifiers).toEqual([{ system: 'urn:mrn', value: 'A1' }]);
  });

  test('each entry appears once', () => {
    const entries = indexResource(EXAMPLES[7]!).entries.map((e) => JSON.stringify(e));
    expect(new Set(entries).size).toBe(entries.length);
  });

  test('entries that differ in any field are all kept; exact repeats are dropped', () => {
    const index = indexResource({
      resourceType: 'Patient',
      id: 'p1',
      meta: { versionId: '1', lastUpdated: '2026-01-01T00:00:00.000Z' },
      identifier: [
        { value: 'A1' },
        { system: 'urn:x', value: 'A1' },
        { system: 'urn:x', value: 'A1' },
        { system: 'urn:x A1', value: 'B' },
        { system: 'urn:x', value: 'A1 B' },
        { system: 'urn:y', value: 'A1' },
      ],
      name: [{ family: 'Nunez' }, { family: 'Nunez' }, { family: 'Nunez Diaz' }],
    });
    expect(index.entries.filter((e) => e.code === 'identifier')).toEqual([
      { code: 'identifier', kind: 'token', value: 'A1' },
      { code: 'identifier', kind: 'token', value: 'A1', system: 'urn:x' },
      { code: 'identifier', kind: 'token', value: 'B', system: 'urn:x A1' },
      { code: 'identifier', kind: 'token', value: 'A1 B', system: 'urn:x' },
      { code: 'identifier', kind: 'token', value: 'A1', system: 'urn:y' },
    ]);
    expect(index.entries.filter((e) => e.code === 'family')).toEqual([
      { code: 'family', kind: 'string', value: 'nunez' },
      { code: 'family', kind: 'string', value: 'nunez diaz' },
    ]);
  });
});

describe('value helpers', () => {
  test.each([
    ['2026', '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2026-02', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    ['2026-12-31', '2026-12-31T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2026-11-26T10:00', '2026-11-26T10:00:00.000Z', '2026-11-26T10:01:00.000Z'],
    ['2026-11-26T10:00:00+01:00', '2026-11-26T09:00:00.000Z', '2026-11-26T09:00:01.000Z'],
    ['2026-11-26T10:00:00.25Z', '2026-11-26T10:00:00.250Z', '2026-11-26T10:00:00.251Z'],
    // Dates before 1901 and years below 100 (Date.UTC read them as 19xx: every date before 1901
    // was indexed as the empty range at 0001-01-01, and 0050 as 1950).
    ['1899-03-04', '1899-03-04T00:00:00.000Z', '1899-03-05T00:00:00.000Z'],
    ['1901-01-01', '1901-01-01T00:00:00.000Z', '1901-01-02T00:00:00.000Z'],
    ['1850', '1850-01-01T00:00:00.000Z', '1851-01-01T00:00:00.000Z'],
    ['0050-06-01', '0050-06-01T00:00:00.000Z', '0050-06-02T00:00:00.000Z'],
    ['1600-02-29', '1600-02-29T00:00:00.000Z', '1600-03-01T00:00:00.000Z'],
    ['1899-12-31T23:59:59Z', '1899-12-31T23:59:59.000Z', '1900-01-01T00:00:00.000Z'],
    // A zone offset that pushes a bound past the years 0001–9999 is clamped.
    ['0001-01-01T00:30:00+01:00', '0001-01-01T00:00:00.000Z', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31', '9999-12-31T00:00:00.000Z', '9999-12-31T23:59:59.999Z'],
  ])('dateRange(%s)', (value, start, end) => {
    expect(dateRange(value)).toEqual({ start, end });
  });

  test.each([
    '2026-02-30',
    '2026-13',
    '2026-11-26T24:00:00Z',
    'yesterday',
    '26/11/2026',
    '1900-02-29',
    '0000',
  ])('dateRange(%s) is invalid', (v) => {
    expect(dateRange(v)).toBeUndefined();
  });

  test('normalizeReference and normalizeString', () => {
    expect(normalizeReference('Patient/1')).toBe('Patient/1');
    expect(normalizeReference('https://x/fhir/Patient/1/_history/4')).toBe('Patient/1');
    expect(normalizeReference('#contained')).toBeUndefined();
    expect(normalizeString('  Ærø Ñúñez ')).toBe('ærø nunez');
  });
});
