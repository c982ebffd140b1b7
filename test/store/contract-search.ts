/** The store contract (./contract.ts): search. */
import { beforeAll, describe, expect } from '@jest/globals';
import type { Patient, Resource, Task } from '@medplum/fhirtypes';
import type {
  DatePrefix,
  StoredResource,
  StoreQuery,
  StoreSearchResult,
  TenantId,
} from '../../src/store/port.ts';
import {
  ACT_CODE_SYSTEM,
  claim,
  coverage,
  encounter,
  medicationAdministration,
  MEMBER_SYSTEM,
  MRN_SYSTEM,
  organization,
  patient,
  RXNORM,
} from './fixtures.ts';
import type { Store } from '../../src/store/port.ts';
import type { ContractTest } from './contract-support.ts';
import { newTenant, sleep, query, token, ref, str, dateFilter } from './contract-support.ts';

/** `opened`: the store under test once opened (the shared data is written in a beforeAll). */
export function describeSearchContract(it: ContractTest, opened: () => Store | undefined): void {
  describe('search', () => {
    /** One tenant with a small infusion clinic's worth of data, shared by the search tests. */
    let tenant: TenantId;
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      const store = opened();
      if (!store) {
        return;
      }
      tenant = newTenant();
      const create = async (key: string, resource: Resource, id?: string): Promise<void> => {
        ids[key] = (await store.resources.create(tenant, resource, id ? { id } : undefined)).resource.id;
      };
      await create(
        'muller',
        patient({ mrn: 'S-1', family: 'Müller', given: ['Zoë'], birthDate: '1980-05', gender: 'female' }),
      );
      await create(
        'nguyen',
        patient({ mrn: 'S-2', family: 'Nguyen', given: ['Anh'], birthDate: '1975-11-30', gender: 'male' }),
      );
      await create(
        'mullins',
        patient({ mrn: 'S-3', family: 'MULLINS', given: ['José'], birthDate: '1990', gender: 'other' }),
      );
      // A patient whose gender is coded with a system (to tell "|code" from "code").
      await create('ostergaard', {
        resourceType: 'Patient',
        identifier: [{ value: 'S-4-NO-SYSTEM' }],
        name: [{ family: 'Østergaard' }],
      });
      const muller = ids['muller']!;
      const nguyen = ids['nguyen']!;
      // Encounters with ids chosen so the id tie-breaker is predictable.
      await create(
        'e1',
        encounter({
          patientId: muller,
          period: { start: '2024-03-10T10:00:00Z', end: '2024-03-10T12:00:00Z' },
          visitNumber: 'V-1',
        }),
        'enc-b',
      );
      await create(
        'e2',
        encounter({
          patientId: muller,
          period: { start: '2024-03-12', end: '2024-03-12' },
          classCode: 'IMP',
          status: 'in-progress',
        }),
        'enc-d',
      );
      await create(
        'e3',
        encounter({
          patientId: nguyen,
          period: { start: '2024-03-01T08:00:00Z', end: '2024-03-01T09:00:00Z' },
          status: 'cancelled',
        }),
        'enc-c',
      );
      await create(
        'e4',
        encounter({ patientId: nguyen, period: { start: '2024-03-05T00:00:00Z' } }),
        'enc-a',
      );
      await create('e5', encounter({ patientId: nguyen, status: 'planned' }), 'enc-e'); // no period
      // Same start as e1, to exercise the id tie-breaker.
      await create(
        'e6',
        encounter({
          patientId: nguyen,
          period: { start: '2024-03-10T10:00:00Z', end: '2024-03-10T11:00:00Z' },
        }),
        'enc-0',
      );
      await create(
        'ma1',
        medicationAdministration({
          patientId: muller,
          encounterId: 'enc-b',
          effectivePeriod: { start: '2024-03-10T10:15:00-05:00', end: '2024-03-10T11:45:00-05:00' },
        }),
      );
      await create(
        'ma2',
        medicationAdministration({
          patientId: nguyen,
          encounterId: 'enc-c',
          effectivePeriod: { start: '2024-03-01T08:10:00Z', end: '2024-03-01T08:50:00Z' },
          rxnorm: '1defunct',
          status: 'stopped',
        }),
      );
      await create('payer', organization('Blue Prairie Health Plan', '1234567893'));
      await create('cov1', coverage({ patientId: muller, payorId: ids['payer']!, memberId: 'MEM-001' }));
      await create(
        'claim1',
        claim({
          patientId: muller,
          encounterId: 'enc-b',
          coverageId: ids['cov1']!,
          billablePeriod: { start: '2024-03-10', end: '2024-03-10' },
          created: '2024-03-11T15:04:05Z',
          claimNumber: 'CLM-0001',
        }),
      );
    });

    async function find(q: StoreQuery): Promise<string[]> {
      const store = opened()!;
      return (await store.resources.search(tenant, q)).resources.map((r) => r.id);
    }

    function key(id: string): string {
      return Object.entries(ids).find(([, v]) => v === id)?.[0] ?? id;
    }

    async function findKeys(q: StoreQuery): Promise<string[]> {
      return (await find(q)).map(key).sort();
    }

    it('token: code without system, with system, |code, identifier, several values OR-ed', async () => {
      expect(await findKeys(query('Encounter', [token('status', [{ value: 'finished' }])]))).toEqual([
        'e1',
        'e4',
        'e6',
      ]);
      expect(
        await findKeys(query('Encounter', [token('class', [{ system: ACT_CODE_SYSTEM, value: 'IMP' }])])),
      ).toEqual(['e2']);
      expect(
        await findKeys(query('Encounter', [token('class', [{ system: 'urn:wrong', value: 'IMP' }])])),
      ).toEqual([]);
      expect(await findKeys(query('Encounter', [token('class', [{ value: 'IMP' }])]))).toEqual(['e2']);
      // "|IMP": only codes without a system; the class coding has one.
      expect(await findKeys(query('Encounter', [token('class', [{ system: null, value: 'IMP' }])]))).toEqual(
        [],
      );
      // gender is a plain code: no system, so "|female" matches.
      expect(
        await findKeys(query('Patient', [token('gender', [{ system: null, value: 'female' }])])),
      ).toEqual(['muller']);
      expect(
        await findKeys(query('Patient', [token('identifier', [{ system: null, value: 'S-4-NO-SYSTEM' }])])),
      ).toEqual(['ostergaard']);
      expect(
        await findKeys(query('Patient', [token('identifier', [{ system: null, value: 'S-1' }])])),
      ).toEqual([]);
      expect(
        await findKeys(query('Patient', [token('identifier', [{ system: MRN_SYSTEM, value: 'S-2' }])])),
      ).toEqual(['nguyen']);
      expect(
        await findKeys(
          query('Encounter', [
            token('status', [{ value: 'cancelled' }, { value: 'planned' }, { value: 'nope' }]),
          ]),
        ),
      ).toEqual(['e3', 'e5']);
      expect(
        await findKeys(
          query('MedicationAdministration', [token('code', [{ system: RXNORM, value: '1791701' }])]),
        ),
      ).toEqual(['ma1']);
      expect(
        await findKeys(
          query('Coverage', [token('identifier', [{ system: MEMBER_SYSTEM, value: 'MEM-001' }])]),
        ),
      ).toEqual(['cov1']);
    });

    it('token :not excludes resources having a matching entry (and keeps those without the code)', async () => {
      expect(
        await findKeys(
          query('Encounter', [token('status', [{ value: 'finished' }, { value: 'planned' }], true)]),
        ),
      ).toEqual(['e2', 'e3']);
      expect(await findKeys(query('Patient', [token('gender', [{ value: 'female' }], true)]))).toEqual([
        'mullins',
        'nguyen',
        'ostergaard',
      ]);
    });

    it('reference: exact "Type/id", several values OR-ed, combined with other filters', async () => {
      const muller = ids['muller']!;
      const nguyen = ids['nguyen']!;
      expect(await findKeys(query('Encounter', [ref('patient', [`Patient/${muller}`])]))).toEqual([
        'e1',
        'e2',
      ]);
      expect(
        await findKeys(query('Encounter', [ref('subject', [`Patient/${muller}`, `Patient/${nguyen}`])])),
      ).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
      expect(await findKeys(query('Encounter', [ref('patient', [`Patient/${muller.slice(0, 8)}`])]))).toEqual(
        [],
      );
      expect(
        await findKeys(query('MedicationAdministration', [ref('encounter', ['Encounter/enc-b'])])),
      ).toEqual(['ma1']);
      expect(
        await findKeys(query('MedicationAdministration', [ref('context', ['Encounter/enc-c'])])),
      ).toEqual(['ma2']);
      expect(await findKeys(query('Claim', [ref('encounter', ['Encounter/enc-b'])]))).toEqual(['claim1']);
      expect(await findKeys(query('Coverage', [ref('payor', [`Organization/${ids['payer']!}`])]))).toEqual([
        'cov1',
      ]);
      expect(
        await findKeys(
          query('Encounter', [
            ref('patient', [`Patient/${nguyen}`]),
            token('status', [{ value: 'finished' }]),
            dateFilter('date', 'ge', '2024-03-06T00:00:00.000Z', '2024-03-07T00:00:00.000Z'),
          ]),
        ),
      ).toEqual(['e4', 'e6']);
    });

    // Entry ranges: e1 [03-10T10, 03-10T12), e2 [03-12, 03-13), e3 [03-01T08, 03-01T09),
    // e4 [03-05, ∞), e6 [03-10T10, 03-10T11), e5 has no period.
    const day = { start: '2024-03-10T00:00:00.000Z', end: '2024-03-11T00:00:00.000Z' };
    const dateCases: [DatePrefix, string[]][] = [
      ['eq', ['e1', 'e6']],
      ['ne', ['e2', 'e3', 'e4']],
      ['lt', ['e3', 'e4']],
      ['gt', ['e2', 'e4']],
      ['le', ['e1', 'e3', 'e4', 'e6']],
      ['ge', ['e1', 'e2', 'e4', 'e6']],
      ['sa', ['e2']],
      ['eb', ['e3']],
    ];
    for (const [prefix, expected] of dateCases) {
      it(`date ${prefix}2024-03-10 on Encounter.period`, async () => {
        expect(await findKeys(query('Encounter', [dateFilter('date', prefix, day.start, day.end)]))).toEqual(
          expected,
        );
      });
    }

    it('date prefixes at the exact boundaries of half-open ranges', async () => {
      const store = opened()!;
      const t = newTenant();
      // before = [03-09, 03-10), exact = [03-10, 03-11), after = [03-11, 03-12); value = [03-10, 03-11).
      const mk = async (id: string, d: string): Promise<void> => {
        await store.resources.create(t, encounter({ patientId: 'p', period: { start: d, end: d } }), {
          id,
        });
      };
      await mk('before', '2024-03-09');
      await mk('exact', '2024-03-10');
      await mk('after', '2024-03-11');
      const expected: Record<DatePrefix, string[]> = {
        eq: ['exact'],
        ne: ['after', 'before'],
        lt: ['before'],
        gt: ['after'],
        le: ['before', 'exact'],
        ge: ['after', 'exact'],
        sa: ['after'],
        eb: ['before'],
      };
      for (const [prefix, ids] of Object.entries(expected) as [DatePrefix, string[]][]) {
        const found = await store.resources.search(
          t,
          query('Encounter', [dateFilter('date', prefix, day.start, day.end)]),
        );
        expect({ prefix, ids: found.resources.map((r) => r.id).sort() }).toEqual({ prefix, ids });
      }
    });

    it('date: partial dates (month, year), instants with offsets, Period and partial-date resource values', async () => {
      const month = ['2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z'] as const;
      expect(await findKeys(query('Encounter', [dateFilter('date', 'eq', ...month)]))).toEqual([
        'e1',
        'e2',
        'e3',
        'e6',
      ]);
      expect(await findKeys(query('Encounter', [dateFilter('date', 'ge', ...month)]))).toEqual([
        'e1',
        'e2',
        'e3',
        'e4',
        'e6',
      ]);
      // birthDate 1980-05 covers May 1980: eq 1980 matches, eq 1980-05-10 does not, ge 1980-05-10 does.
      const y1980 = ['1980-01-01T00:00:00.000Z', '1981-01-01T00:00:00.000Z'] as const;
      const may10 = ['1980-05-10T00:00:00.000Z', '1980-05-11T00:00:00.000Z'] as const;
      expect(await findKeys(query('Patient', [dateFilter('birthdate', 'eq', ...y1980)]))).toEqual(['muller']);
      expect(await findKeys(query('Patient', [dateFilter('birthdate', 'eq', ...may10)]))).toEqual([]);
      expect(await findKeys(query('Patient', [dateFilter('birthdate', 'ge', ...may10)]))).toEqual([
        'muller',
        'mullins',
      ]);
      expect(await findKeys(query('Patient', [dateFilter('birthdate', 'lt', ...y1980)]))).toEqual(['nguyen']);
      // ma1 is 10:15-11:45 at -05:00, i.e. 15:15Z-16:45Z.
      const hour15 = ['2024-03-10T15:00:00.000Z', '2024-03-10T16:00:00.000Z'] as const;
      expect(
        await findKeys(query('MedicationAdministration', [dateFilter('effective-time', 'ge', ...hour15)])),
      ).toEqual(['ma1']);
      expect(
        await findKeys(query('MedicationAdministration', [dateFilter('effective-time', 'eq', ...hour15)])),
      ).toEqual([]);
      expect(
        await findKeys(query('MedicationAdministration', [dateFilter('date', 'eq', day.start, day.end)])),
      ).toEqual(['ma1']);
      // Claim.billablePeriod and Claim.created.
      expect(await findKeys(query('Claim', [dateFilter('date', 'eq', day.start, day.end)]))).toEqual([
        'claim1',
      ]);
      expect(await findKeys(query('Claim', [dateFilter('created', 'sa', day.start, day.end)]))).toEqual([
        'claim1',
      ]);
      // Two date filters AND-ed: a range.
      expect(
        await findKeys(
          query('Encounter', [
            dateFilter('date', 'ge', '2024-03-09T00:00:00.000Z', '2024-03-10T00:00:00.000Z'),
            dateFilter('date', 'lt', '2024-03-11T00:00:00.000Z', '2024-03-12T00:00:00.000Z'),
          ]),
        ),
      ).toEqual(['e1', 'e4', 'e6']);
    });

    it('string: prefix by default, exact on request; case- and accent-insensitive; values OR-ed', async () => {
      expect(await findKeys(query('Patient', [str('name', ['mul'])]))).toEqual(['muller', 'mullins']);
      expect(await findKeys(query('Patient', [str('name', ['MÜL'])]))).toEqual(['muller', 'mullins']);
      expect(await findKeys(query('Patient', [str('family', ['muller'])]))).toEqual(['muller']);
      expect(await findKeys(query('Patient', [str('family', ['Müller'], true)]))).toEqual(['muller']);
      expect(await findKeys(query('Patient', [str('family', ['mull'], true)]))).toEqual([]);
      expect(await findKeys(query('Patient', [str('given', ['zoe'])]))).toEqual(['muller']);
      expect(await findKeys(query('Patient', [str('given', ['JOSE'], true)]))).toEqual(['mullins']);
      expect(await findKeys(query('Patient', [str('name', ['anh', 'zo'])]))).toEqual(['muller', 'nguyen']);
      // name covers family and given.
      expect(await findKeys(query('Patient', [str('name', ['jos'])]))).toEqual(['mullins']);
      expect(await findKeys(query('Patient', [str('name', ['xyz'])]))).toEqual([]);
      expect(await findKeys(query('Organization', [str('name', ['blue prairie'])]))).toEqual(['payer']);
      // Ø has no decomposition; it must still match itself case-insensitively.
      expect(await findKeys(query('Patient', [str('family', ['øster'])]))).toEqual(['ostergaard']);
    });

    it('_id: values OR-ed, :not, combined with another filter', async () => {
      expect(
        await findKeys(query('Encounter', [token('_id', [{ value: 'enc-a' }, { value: 'enc-c' }])])),
      ).toEqual(['e3', 'e4']);
      expect(
        await findKeys(
          query('Encounter', [
            token('_id', [{ value: 'enc-a' }, { value: 'enc-c' }]),
            token('status', [{ value: 'finished' }]),
          ]),
        ),
      ).toEqual(['e4']);
      expect(
        await findKeys(query('Encounter', [token('_id', [{ value: 'enc-a' }, { value: 'enc-b' }], true)])),
      ).toEqual(['e2', 'e3', 'e5', 'e6']);
      expect(await findKeys(query('Encounter', [token('_id', [{ value: ids['muller']! }])]))).toEqual([]);
    });

    it('sort: date asc/desc with resources lacking the value first asc and last desc; id breaks ties', async () => {
      // e5 has no date; e6 (enc-0) and e1 (enc-b) share the earliest start 03-10T10:00.
      expect(await find(query('Encounter', [], { sort: [{ code: 'date', descending: false }] }))).toEqual([
        'enc-e',
        'enc-c',
        'enc-a',
        'enc-0',
        'enc-b',
        'enc-d',
      ]);
      expect(await find(query('Encounter', [], { sort: [{ code: 'date', descending: true }] }))).toEqual([
        'enc-d',
        'enc-0',
        'enc-b',
        'enc-a',
        'enc-c',
        'enc-e',
      ]);
      expect(await find(query('Encounter', [], { sort: [{ code: '_id', descending: true }] }))).toEqual([
        'enc-e',
        'enc-d',
        'enc-c',
        'enc-b',
        'enc-a',
        'enc-0',
      ]);
      expect(await find(query('Encounter', []))).toEqual([
        'enc-0',
        'enc-a',
        'enc-b',
        'enc-c',
        'enc-d',
        'enc-e',
      ]);
      // Two sort keys: status, then date descending.
      expect(
        await find(
          query('Encounter', [], {
            sort: [
              { code: 'status', descending: false },
              { code: 'date', descending: true },
            ],
          }),
        ),
      ).toEqual(['enc-c', 'enc-0', 'enc-b', 'enc-a', 'enc-d', 'enc-e']);
      // String sort on normalized family names.
      expect(
        (await find(query('Patient', [], { sort: [{ code: 'family', descending: false }] }))).map(key),
      ).toEqual(['muller', 'mullins', 'nguyen', 'ostergaard']);
    });

    it('sort by a token: its smallest value, missing first ascending and last descending, as updated', async () => {
      const store = opened()!;
      const own = newTenant();
      // Task codes: t-2 has two (its smallest, "a-review", sorts it first), t-3 none.
      const task = (id: string, codes: string[], status: 'requested' | 'completed' = 'requested') =>
        store.resources.create(
          own,
          {
            resourceType: 'Task',
            status,
            intent: 'order',
            ...(codes.length > 0
              ? { code: { coding: codes.map((code) => ({ system: 'urn:test:task', code })) } }
              : {}),
          } satisfies Task,
          { id },
        );
      await task('t-1', ['b-charge']);
      await task('t-2', ['c-claim', 'a-review']);
      await task('t-3', []);
      await task('t-4', ['b-charge']);
      const sorted = async (sort: StoreQuery['sort']): Promise<string[]> =>
        (await store.resources.search(own, { ...query('Task', []), sort })).resources.map((r) => r.id);
      expect(await sorted([{ code: 'code', descending: false }])).toEqual(['t-3', 't-2', 't-1', 't-4']);
      expect(await sorted([{ code: 'code', descending: true }])).toEqual(['t-1', 't-4', 't-2', 't-3']);
      // An update moves the resource to where its new values sort.
      const done: Task & { id: string } = {
        resourceType: 'Task',
        id: 't-2',
        status: 'completed',
        intent: 'order',
        code: { coding: [{ system: 'urn:test:task', code: 'd-done' }] },
      };
      await store.resources.update(own, done);
      expect(await sorted([{ code: 'code', descending: false }])).toEqual(['t-3', 't-1', 't-4', 't-2']);
      // Two token sorts: status, then code descending.
      expect(
        await sorted([
          { code: 'status', descending: false },
          { code: 'code', descending: true },
        ]),
      ).toEqual(['t-2', 't-1', 't-4', 't-3']);
    });

    it('sort by _lastUpdated follows write order', async () => {
      const store = opened()!;
      const t = newTenant();
      const written: string[] = [];
      for (let i = 0; i < 3; i++) {
        written.push((await store.resources.create(t, patient({ mrn: `LU-${i}` }))).resource.id);
        await sleep(3);
      }
      // Touch the first one: it becomes the most recent.
      const first = await store.resources.read(t, 'Patient', written[0]!);
      await store.resources.update(t, first);
      const asc = (
        await store.resources.search(
          t,
          query('Patient', [], { sort: [{ code: '_lastUpdated', descending: false }] }),
        )
      ).resources.map((r) => r.id);
      expect(asc).toEqual([written[1], written[2], written[0]]);
      const desc = (
        await store.resources.search(
          t,
          query('Patient', [], { sort: [{ code: '_lastUpdated', descending: true }] }),
        )
      ).resources.map((r) => r.id);
      expect(desc).toEqual([written[0], written[2], written[1]]);
    });

    it('count / offset / total', async () => {
      const store = opened()!;
      const sorted = ['enc-0', 'enc-a', 'enc-b', 'enc-c', 'enc-d', 'enc-e'];
      const page1 = await store.resources.search(tenant, query('Encounter', [], { count: 4, total: true }));
      expect(page1.resources.map((r) => r.id)).toEqual(sorted.slice(0, 4));
      expect(page1.total).toBe(6);
      const page2 = await store.resources.search(
        tenant,
        query('Encounter', [], { count: 4, offset: 4, total: true }),
      );
      expect(page2.resources.map((r) => r.id)).toEqual(sorted.slice(4));
      expect(page2.total).toBe(6);
      const beyond = await store.resources.search(
        tenant,
        query('Encounter', [], { count: 4, offset: 10, total: true }),
      );
      expect(beyond.resources).toEqual([]);
      expect(beyond.total).toBe(6);
      const countOnly = await store.resources.search(
        tenant,
        query('Encounter', [token('status', [{ value: 'finished' }])], { count: 0, total: true }),
      );
      expect(countOnly.resources).toEqual([]);
      expect(countOnly.total).toBe(3);
      const noTotal: StoreSearchResult = await store.resources.search(
        tenant,
        query('Encounter', [], { count: 2 }),
      );
      expect(noTotal.resources).toHaveLength(2);
      expect(noTotal.total).toBeUndefined();
    });

    it('returns the current version of each resource, with its meta', async () => {
      const store = opened()!;
      const t = newTenant();
      const v1 = (await store.resources.create(t, patient({ mrn: 'CUR', family: 'Old' })))
        .resource as Patient & StoredResource;
      const v2 = (await store.resources.update(t, { ...v1, name: [{ family: 'New' }] })).resource;
      expect((await store.resources.search(t, query('Patient', [str('family', ['old'])]))).resources).toEqual(
        [],
      );
      const found = await store.resources.search(t, query('Patient', [str('family', ['new'])]));
      expect(found.resources).toEqual([v2]);
    });

    it('_lastUpdated filters on the store-assigned instant', async () => {
      const store = opened()!;
      const t = newTenant();
      const a = (await store.resources.create(t, patient({ mrn: 'LUA' }))).resource;
      await sleep(5);
      const b = (await store.resources.create(t, patient({ mrn: 'LUB' }))).resource;
      expect(b.meta.lastUpdated > a.meta.lastUpdated).toBe(true);
      const at = (r: StoredResource): [string, string] => [
        r.meta.lastUpdated,
        new Date(Date.parse(r.meta.lastUpdated) + 1).toISOString(),
      ];
      const lu = async (prefix: DatePrefix, range: [string, string]): Promise<string[]> =>
        (
          await store.resources.search(t, query('Patient', [dateFilter('_lastUpdated', prefix, ...range)]))
        ).resources
          .map((r) => (r.id === a.id ? 'a' : r.id === b.id ? 'b' : r.id))
          .sort();
      expect(await lu('eq', at(a))).toEqual(['a']);
      expect(await lu('ne', at(a))).toEqual(['b']);
      expect(await lu('ge', at(b))).toEqual(['b']);
      expect(await lu('gt', at(a))).toEqual(['b']);
      expect(await lu('lt', at(b))).toEqual(['a']);
      expect(await lu('le', at(a))).toEqual(['a']);
      expect(await lu('sa', at(a))).toEqual(['b']);
      expect(await lu('eb', at(b))).toEqual(['a']);
      const wide: [string, string] = ['2000-01-01T00:00:00.000Z', '2100-01-01T00:00:00.000Z'];
      expect(await lu('eq', wide)).toEqual(['a', 'b']);
    });

    it('keyset paging: afterId continues after the last id seen, with filters, to the end', async () => {
      const store = opened()!;
      const t = newTenant();
      const ids = ['k-01', 'k-02', 'k-03', 'k-04', 'k-05', 'k-06', 'k-07'];
      for (const [i, id] of ids.entries()) {
        await store.resources.create(t, patient({ mrn: `KS${i}`, gender: i % 2 === 0 ? 'female' : 'male' }), {
          id,
        });
      }
      const byId = { sort: [{ code: '_id', descending: false }], count: 3 } as const;
      const pages: string[][] = [];
      let afterId: string | undefined;
      for (;;) {
        const page = await store.resources.search(
          t,
          query('Patient', [], { ...byId, ...(afterId !== undefined ? { afterId } : {}) }),
        );
        if (page.resources.length === 0) {
          break;
        }
        pages.push(page.resources.map((r) => r.id));
        afterId = page.resources.at(-1)?.id;
      }
      expect(pages).toEqual([['k-01', 'k-02', 'k-03'], ['k-04', 'k-05', 'k-06'], ['k-07']]);
      const women = await store.resources.search(
        t,
        query('Patient', [token('gender', [{ value: 'female' }])], { ...byId, afterId: 'k-03' }),
      );
      expect(women.resources.map((r) => r.id)).toEqual(['k-05', 'k-07']);
      const past = await store.resources.search(t, query('Patient', [], { ...byId, afterId: 'k-07' }));
      expect(past.resources).toEqual([]);
    });

    it('a type with nothing stored, or an unknown parameter, finds nothing', async () => {
      expect(await find(query('ExplanationOfBenefit', []))).toEqual([]);
      expect(await find(query('Encounter', [token('no-such-param', [{ value: 'x' }])]))).toEqual([]);
    });
  });
}
