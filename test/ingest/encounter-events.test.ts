/**
 * The encounter-changed jobs a stored copy triggers (src/ingest/encounter-events.ts): which
 * encounter, which cause, and keys that make a redelivered copy one job, not two (without a store);
 * and which encounters a corrected Coverage leaves behind (with one).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import type { Coverage, Medication, MedicationAdministration, Patient } from '@medplum/fhirtypes';
import { toCopy } from '../../src/ingest/copies.ts';
import { domainEvent, encountersLeft, recomputeFor } from '../../src/ingest/encounter-events.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';

const BASE = 'https://ehr.example.org/fhir';

function administration(context: string, versionId?: string, dose = 100): MedicationAdministration {
  return {
    resourceType: 'MedicationAdministration',
    id: 'ma1',
    ...(versionId ? { meta: { versionId } } : {}),
    status: 'completed',
    subject: { reference: 'Patient/p1' },
    context: { reference: context },
    medicationCodeableConcept: { text: 'infliximab' },
    effectivePeriod: { start: '2026-12-03T14:00:00Z', end: '2026-12-03T16:00:00Z' },
    dosage: { dose: { value: dose, unit: 'mg' } },
  };
}

describe('domainEvent', () => {
  test("an administration's copy recomputes its encounter, caused by the EHR version stored", () => {
    const copy = toCopy(administration('Encounter/e1', '3'), BASE);
    expect(domainEvent(copy)).toEqual([
      {
        op: 'enqueue',
        job: {
          queue: ENCOUNTER_CHANGED_QUEUE,
          key: 'Encounter/e1|MedicationAdministration/ma1/_history/3',
          payload: { encounter: 'Encounter/e1', causes: ['MedicationAdministration/ma1/_history/3'] },
        },
      },
    ]);
  });

  test('an absolute encounter reference names the same encounter', () => {
    const [op] = domainEvent(toCopy(administration(`${BASE}/Encounter/e1`, '3'), BASE));
    expect(op?.op === 'enqueue' && op.job.payload).toEqual({
      encounter: 'Encounter/e1',
      causes: ['MedicationAdministration/ma1/_history/3'],
    });
  });

  test('without an EHR version the cause is a content hash: the same copy twice is one key, a change another', () => {
    const keyOf = (dose: number): string | undefined => {
      const [op] = domainEvent(toCopy(administration('Encounter/e1', undefined, dose), BASE));
      return op?.op === 'enqueue' ? op.job.key : undefined;
    };
    expect(keyOf(100)).toMatch(/^Encounter\/e1\|MedicationAdministration\/ma1\/_history\/[0-9a-f]{32}$/);
    expect(keyOf(100)).toBe(keyOf(100));
    expect(keyOf(200)).not.toBe(keyOf(100));
  });

  test('a resource that belongs to no encounter triggers nothing', () => {
    const patient: Patient = { resourceType: 'Patient', id: 'p1', meta: { versionId: '1' } };
    expect(domainEvent(toCopy(patient, BASE))).toEqual([]);
    expect(domainEvent(toCopy(administration('Patient/p1', '1'), BASE))).toEqual([]);
  });
});

describe('recomputeFor', () => {
  const medication: Medication = { resourceType: 'Medication', id: 'm1', meta: { versionId: '2' } };

  test('one job per encounter that used a late Medication, each caused by its version', () => {
    const ops = recomputeFor(toCopy(medication, BASE), ['Encounter/e1', 'Encounter/e2']);
    expect(
      ops.map((op) => (op.op === 'enqueue' ? [op.job.queue, op.job.key, op.job.payload] : op.op)),
    ).toEqual([
      [
        ENCOUNTER_CHANGED_QUEUE,
        'Encounter/e1|Medication/m1/_history/2',
        { encounter: 'Encounter/e1', causes: ['Medication/m1/_history/2'] },
      ],
      [
        ENCOUNTER_CHANGED_QUEUE,
        'Encounter/e2|Medication/m1/_history/2',
        { encounter: 'Encounter/e2', causes: ['Medication/m1/_history/2'] },
      ],
    ]);
  });

  test('no encounters, no jobs', () => {
    expect(recomputeFor(toCopy(medication, BASE), [])).toEqual([]);
  });
});

describe('encountersLeft', () => {
  test("a Coverage moved to another beneficiary recomputes the old patient's encounters; unmoved, nothing", async () => {
    const store = await openSqliteStore({
      path: path.join(mkdtempSync(path.join(tmpdir(), 'encounters-left-')), 'db.sqlite'),
    });
    try {
      for (const [id, patient] of [
        ['e-1', 'Patient/p-1'],
        ['e-2', 'Patient/p-1'],
        ['e-3', 'Patient/p-2'],
      ] as const) {
        await store.resources.create(
          't',
          {
            resourceType: 'Encounter',
            status: 'finished',
            class: { code: 'AMB' },
            subject: { reference: patient },
          },
          { id },
        );
      }
      const coverage = (beneficiary: string): Coverage => ({
        resourceType: 'Coverage',
        id: 'cov-1',
        status: 'active',
        beneficiary: { reference: beneficiary },
        payor: [{ reference: 'Organization/payer' }],
      });
      expect(await encountersLeft(store, 't', coverage('Patient/p-2'), coverage('Patient/p-1'))).toEqual([
        'Encounter/e-1',
        'Encounter/e-2',
      ]);
      expect(await encountersLeft(store, 't', coverage('Patient/p-1'), coverage('Patient/p-1'))).toEqual([]);
      expect(await encountersLeft(store, 't', coverage('Patient/p-1'), undefined)).toEqual([]);
      expect(
        await encountersLeft(store, 't', administration('Encounter/e-3'), administration('Encounter/e-1')),
      ).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
