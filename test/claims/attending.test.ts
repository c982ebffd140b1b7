/**
 * The attending provider of institutional claims (837I loop 2310A): chosen from the encounter's
 * ATND participant, else the ordering practitioner; carried on the Claim's care team; required by
 * the scrubber and the 837I writer.
 */
import { describe, expect, test } from '@jest/globals';
import type {
  Encounter,
  MedicationAdministration,
  MedicationRequest,
  Practitioner,
  Resource,
} from '@medplum/fhirtypes';
import { attendingOf, loadAttending, PARTICIPATION_TYPE } from '../../src/claims/attending.ts';
import { buildClaim } from '../../src/claims/build.ts';
import { scrubClaim } from '../../src/claims/scrub.ts';
import { write837ToString } from '../../src/x12/837/write837.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import { contextOf, fixture } from './fixtures.ts';

const NPI = 'http://hl7.org/fhir/sid/us-npi';

const participant = (code: string, reference: string): NonNullable<Encounter['participant']>[number] => ({
  type: [{ coding: [{ system: PARTICIPATION_TYPE, code }] }],
  individual: { reference },
});
const encounter = (participants: NonNullable<Encounter['participant']>): Encounter => ({
  resourceType: 'Encounter',
  id: 'enc-1',
  status: 'finished',
  class: { code: 'AMB' },
  participant: participants,
});
const administration = (id: string, request: string): MedicationAdministration => ({
  resourceType: 'MedicationAdministration',
  id,
  status: 'completed',
  medicationCodeableConcept: { text: 'x' },
  subject: { reference: 'Patient/pat-1' },
  effectiveDateTime: '2025-03-10T09:00:00Z',
  request: { reference: `MedicationRequest/${request}` },
});
const order = (id: string, requester: string): MedicationRequest => ({
  resourceType: 'MedicationRequest',
  id,
  status: 'active',
  intent: 'order',
  medicationCodeableConcept: { text: 'x' },
  subject: { reference: 'Patient/pat-1' },
  requester: { reference: requester },
});
const doctor: Practitioner = {
  resourceType: 'Practitioner',
  id: 'dr-rao',
  identifier: [{ system: NPI, value: '1922334457' }],
  name: [{ family: 'Rao', given: ['Anjali'], suffix: ['MD'] }],
  qualification: [
    { code: { coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '207RH0003X' }] } },
  ],
};

describe('attendingOf', () => {
  test('the encounter participant of type ATND', () => {
    const choice = attendingOf(
      [encounter([participant('PART', 'Practitioner/rn-1'), participant('ATND', 'Practitioner/dr-rao')])],
      [administration('a1', 'mr-1')],
      [order('mr-1', 'Practitioner/dr-other')],
    );
    expect(choice).toEqual({ reference: 'Practitioner/dr-rao', source: 'encounter' });
  });

  test('else the practitioner who ordered most of the administrations; none when nobody is named', () => {
    const administrations = [
      administration('a1', 'mr-1'),
      administration('a2', 'mr-2'),
      administration('a3', 'mr-3'),
    ];
    const orders = [
      order('mr-1', 'Practitioner/dr-b'),
      order('mr-2', 'Practitioner/dr-a'),
      order('mr-3', 'Practitioner/dr-a'),
    ];
    expect(
      attendingOf([encounter([participant('REF', 'Practitioner/dr-c')])], administrations, orders),
    ).toEqual({
      reference: 'Practitioner/dr-a',
      source: 'order',
    });
    expect(attendingOf([encounter([])], administrations, [])).toEqual({ source: 'none' });
  });

  test('loadAttending reads the orders and the chosen Practitioner', async () => {
    const stored = new Map<string, Resource>([
      ['MedicationRequest/mr-1', order('mr-1', 'Practitioner/dr-rao')],
      ['Practitioner/dr-rao', doctor],
    ]);
    const found = await loadAttending(
      (type, id) => Promise.resolve(stored.get(`${type}/${id}`)),
      [encounter([])],
      [administration('a1', 'mr-1')],
    );
    expect(found.attending?.id).toBe('dr-rao');
    expect(found.requests.map((r) => r.id)).toEqual(['mr-1']);
  });
});

describe('institutional claims carry their attending', () => {
  const tables = loadCodingTables();
  const hospital = () => {
    const f = fixture();
    f.input.setting = 'hospital-outpatient';
    return f;
  };

  test('build: a contained Practitioner (NPI, name) on the care team as attending, with its taxonomy', () => {
    const f = hospital();
    f.input.attending = doctor;
    const claim = buildClaim(f.input);
    const member = claim.careTeam?.find((m) => m.role?.coding?.[0]?.code === 'attending');
    expect(member?.provider.reference).toBe('#attending');
    expect(member?.qualification?.coding?.[0]?.code).toBe('207RH0003X');
    expect(claim.contained?.find((r) => r.id === 'attending')).toEqual({
      resourceType: 'Practitioner',
      id: 'attending',
      identifier: [{ system: NPI, value: '1922334457' }],
      name: doctor.name,
    });
    // Professional claims are unchanged.
    const office = fixture();
    office.input.attending = doctor;
    expect(buildClaim(office.input).careTeam).toHaveLength(1);
  });

  test('the scrubber holds an institutional claim without one; the 837I writer refuses it; with one, NM1*71', async () => {
    const without = contextOf(hospital());
    expect(scrubClaim(without, tables).filter((x) => x.ruleId === 'attending-missing')).toHaveLength(1);
    const envelope = {
      kind: '837I' as const,
      sender: { id: 'SENDER', name: 'Sender' },
      receiver: { id: 'RECEIVER', name: 'Receiver' },
      controlNumbers: { isa: 1, gs: 1 },
      now: new Date('2025-03-12T10:00:00Z'),
      usage: 'T' as const,
    };
    await expect(write837ToString([without], envelope)).rejects.toThrow(/attending provider/);

    const f = hospital();
    f.input.attending = doctor;
    const withAttending = contextOf(f);
    expect(scrubClaim(withAttending, tables).filter((x) => x.ruleId === 'attending-missing')).toEqual([]);
    const x12 = await write837ToString([withAttending], envelope);
    expect(x12).toContain('~NM1*71*1*RAO*ANJALI***MD*XX*1922334457~PRV*AT*PXC*207RH0003X~');

    const noNpi = hospital();
    noNpi.input.attending = { ...doctor, identifier: [{ system: NPI, value: '1922334458' }] };
    expect(
      scrubClaim(contextOf(noNpi), tables).find((x) => x.ruleId === 'attending-missing')?.message,
    ).toMatch(/no valid NPI/);
  });
});
