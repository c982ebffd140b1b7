/**
 * The authorization ledger (src/coverage/ledger.ts) and what in it needs a person
 * (src/coverage/ledger-alerts.ts): charges counted against authorizations in date order, within
 * periods, per payer, in units or visits; what remains; alerts for running out, expiring and
 * infusions given without an authorization.
 */
import { describe, expect, test } from '@jest/globals';
import type { ChargeItem, Claim } from '@medplum/fhirtypes';
import { EXT_CLAIM_FREQUENCY, EXT_CLAIM_REPLACED_BY, EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';
import type { Authorization } from '../../src/coverage/authorizations.ts';
import { authorizationLedger, numbersFor } from '../../src/coverage/ledger.ts';
import type { LedgerInputs } from '../../src/coverage/ledger.ts';
import { ledgerAlerts } from '../../src/coverage/ledger-alerts.ts';
import type { AlertOptions } from '../../src/coverage/ledger-alerts.ts';

const PATIENT = 'Patient/p1';

function charge(
  id: string,
  date: string,
  units: number,
  over: { code?: string; encounter?: string; status?: ChargeItem['status'] } = {},
): ChargeItem {
  return {
    resourceType: 'ChargeItem',
    id,
    status: over.status ?? 'billable',
    code: {
      coding: [
        { system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: over.code ?? 'J1745' },
      ],
    },
    subject: { reference: PATIENT },
    context: { reference: over.encounter ?? `Encounter/e-${date}` },
    occurrenceDateTime: `${date}T14:00:00-05:00`,
    quantity: { value: units },
  };
}

function claim(
  id: string,
  encounters: readonly string[],
  over: {
    state?: string;
    numbers?: string[];
    payerId?: string;
    extension?: Claim['extension'];
    use?: Claim['use'];
  } = {},
): Claim {
  return {
    resourceType: 'Claim',
    id,
    status: 'active',
    use: over.use ?? 'claim',
    type: { coding: [{ code: 'professional' }] },
    patient: { reference: PATIENT },
    created: '2026-11-01',
    provider: { display: 'Clinic' },
    priority: { coding: [{ code: 'normal' }] },
    insurer: { identifier: { value: over.payerId ?? 'COMM1' } },
    extension: [
      ...(over.state ? [{ url: EXT_CLAIM_STATE, valueCode: over.state }] : []),
      ...(over.extension ?? []),
    ],
    insurance: [
      {
        sequence: 1,
        focal: true,
        coverage: { reference: 'Coverage/c1' },
        ...(over.numbers ? { preAuthRef: over.numbers } : {}),
      },
    ],
    item: encounters.map((e, i) => ({
      sequence: i + 1,
      productOrService: { coding: [{ code: 'J1745' }] },
      encounter: [{ reference: e }],
    })),
  };
}

function auth(over: Partial<Authorization> = {}): Authorization {
  return {
    number: 'PA-1',
    source: 'ClaimResponse/cr-1',
    payerId: 'COMM1',
    patient: PATIENT,
    start: '2026-11-01',
    end: '2027-04-30',
    services: [{ code: 'J1745', units: 300, start: '2026-11-01', end: '2027-04-30' }],
    ...over,
  };
}

const inputs = (over: Partial<LedgerInputs>): LedgerInputs => ({
  authorizations: [auth()],
  charges: [],
  claims: [],
  defaultPayerId: 'COMM1',
  today: '2026-12-04',
  ...over,
});

describe('authorizationLedger', () => {
  test('charges use units in date order; what remains; the one past the units is beyond, whatever order they are listed in', () => {
    const ledger = authorizationLedger(
      inputs({
        charges: [
          charge('c3', '2026-11-19', 100),
          charge('c1', '2026-11-05', 100),
          charge('c2', '2026-11-12', 150),
        ],
      }),
    );
    const [entry] = ledger.entries;
    const [service] = entry?.services ?? [];
    expect(service).toMatchObject({
      code: 'J1745',
      measure: 'units',
      authorized: 300,
      used: 350,
      remaining: 0,
      beyond: 50,
    });
    expect(service?.uses.map((u) => [u.chargeItem, u.used, u.beyond])).toEqual([
      ['ChargeItem/c1', 100, 0],
      ['ChargeItem/c2', 150, 0],
      ['ChargeItem/c3', 100, 50],
    ]);
    expect(entry?.status).toBe('used-up');
    expect(entry?.daysLeft).toBe(147);
    expect(ledger.allocations.get('ChargeItem/c3')?.use.beyond).toBe(50);
    expect(numbersFor(ledger, ['ChargeItem/c1', 'ChargeItem/x'])).toEqual(['PA-1']);
  });

  test('only billable charges, inside the period, of the code and the payer count; the rest are uncovered', () => {
    const ledger = authorizationLedger(
      inputs({
        charges: [
          charge('in', '2026-11-05', 100),
          charge('before', '2026-10-31', 100),
          charge('after', '2027-05-01', 100),
          charge('void', '2026-11-06', 100, { status: 'entered-in-error' }),
          charge('held', '2026-11-06', 0, { status: 'planned' }),
          charge('other-code', '2026-11-07', 4, { code: '96365' }),
          charge('other-payer', '2026-11-08', 100, { encounter: 'Encounter/e-medicaid' }),
        ],
        claims: [claim('cl-medicaid', ['Encounter/e-medicaid'], { payerId: 'MCD1', state: 'held' })],
      }),
    );
    expect(ledger.entries[0]?.services[0]?.used).toBe(100);
    expect(ledger.uncovered.map((c) => [c.chargeItem, c.payerId])).toEqual([
      ['ChargeItem/before', 'COMM1'],
      ['ChargeItem/other-code', 'COMM1'],
      ['ChargeItem/other-payer', 'MCD1'],
      ['ChargeItem/after', 'COMM1'],
    ]);
  });

  test('units on claims not yet paid count like the rest, and the use says where its claim is', () => {
    const ledger = authorizationLedger(
      inputs({
        charges: [
          charge('a', '2026-11-05', 100),
          charge('b', '2026-11-12', 100),
          charge('c', '2026-11-19', 50),
          charge('d', '2026-11-26', 10),
        ],
        claims: [
          claim('cl-a', ['Encounter/e-2026-11-05'], { state: 'adjudicated', numbers: ['PA-1'] }),
          claim('cl-b', ['Encounter/e-2026-11-12'], { state: 'submitted', numbers: ['PA-1'] }),
          claim('cl-c', ['Encounter/e-2026-11-19'], { state: 'held', numbers: ['PA-1'] }),
          // A prior authorization request is not a billing claim.
          claim('pas-1', ['Encounter/e-2026-11-26'], { use: 'preauthorization' }),
        ],
      }),
    );
    const uses = ledger.entries[0]?.services[0]?.uses ?? [];
    expect(uses.map((u) => [u.chargeItem, u.billing, u.claim ?? null])).toEqual([
      ['ChargeItem/a', 'adjudicated', 'Claim/cl-a'],
      ['ChargeItem/b', 'sent', 'Claim/cl-b'],
      ['ChargeItem/c', 'on-claim', 'Claim/cl-c'],
      ['ChargeItem/d', 'unbilled', null],
    ]);
    expect(ledger.entries[0]?.services[0]?.remaining).toBe(40);
  });

  test('a voided claim, or one replaced by its corrected claim, does not decide which claim bills a charge', () => {
    const e = 'Encounter/e-2026-11-05';
    const ledger = authorizationLedger(
      inputs({
        charges: [charge('a', '2026-11-05', 100)],
        claims: [
          claim('void', [e], {
            state: 'adjudicated',
            extension: [{ url: EXT_CLAIM_FREQUENCY, valueCode: '8' }],
          }),
          claim('orig', [e], {
            state: 'adjudicated',
            extension: [{ url: EXT_CLAIM_REPLACED_BY, valueReference: { reference: 'Claim/corr' } }],
          }),
          claim('corr', [e], { state: 'held' }),
        ],
      }),
    );
    expect(ledger.allocations.get('ChargeItem/a')?.use.claim).toBe('Claim/corr');
  });

  test('overlapping authorizations: the one expiring first is used first, then the next; a number a sent claim carries keeps its charge', () => {
    const old = auth({
      number: 'PA-OLD',
      source: 'ClaimResponse/old',
      end: '2026-11-30',
      services: [{ code: 'J1745', units: 150, start: '2026-10-01', end: '2026-11-30' }],
    });
    const renewed = auth({ number: 'PA-NEW', source: 'ClaimResponse/new', start: '2026-11-15' });
    const ledger = authorizationLedger(
      inputs({
        authorizations: [renewed, old],
        charges: [
          charge('a', '2026-11-16', 100),
          charge('b', '2026-11-23', 130),
          charge('c', '2026-11-20', 30),
        ],
        claims: [claim('cl-a', ['Encounter/e-2026-11-16'], { state: 'submitted', numbers: ['PA-NEW'] })],
      }),
    );
    expect(['a', 'c', 'b'].map((id) => ledger.allocations.get(`ChargeItem/${id}`)?.entry.number)).toEqual([
      'PA-NEW', // the payer has it under PA-NEW
      'PA-OLD', // expires first, and has room
      'PA-NEW', // PA-OLD has 120 left: no room for 130
    ]);
  });

  test('a service authorized in visits counts each encounter once; an authorization of any service counts per code without a limit', () => {
    const ledger = authorizationLedger(
      inputs({
        authorizations: [
          auth({ services: [{ code: 'J1745', visits: 2, start: '2026-11-01', end: '2027-04-30' }] }),
          auth({ number: 'PORTAL-9', source: 'ClaimResponse/portal', services: [] }),
        ],
        charges: [
          charge('a1', '2026-11-05', 100),
          charge('a2', '2026-11-05', 20),
          charge('b', '2026-11-12', 100),
          charge('c', '2026-11-19', 100),
          charge('h', '2026-11-19', 2, { code: '96365' }),
        ],
      }),
    );
    const [visits, portal] = ledger.entries;
    expect(visits?.services[0]).toMatchObject({
      measure: 'visits',
      authorized: 2,
      used: 3,
      beyond: 1,
      remaining: 0,
    });
    expect(visits?.services[0]?.uses.map((u) => u.used)).toEqual([1, 0, 1, 1]);
    expect(portal?.anyService).toBe(true);
    expect(portal?.services.map((s) => [s.code, s.used, s.authorized ?? null])).toEqual([['96365', 2, null]]);
  });

  test('status: not started, expired, active', () => {
    const status = (today: string): string | undefined =>
      authorizationLedger(inputs({ today })).entries[0]?.status;
    expect([status('2026-10-31'), status('2026-11-01'), status('2027-04-30'), status('2027-05-01')]).toEqual([
      'not-started',
      'active',
      'active',
      'expired',
    ]);
  });
});

describe('ledgerAlerts', () => {
  const options = (over: Partial<AlertOptions> = {}): AlertOptions => ({
    patient: PATIENT,
    scheduled: [],
    visitsAhead: 3,
    expiringDays: 14,
    requirement: ({ code }) => (code.startsWith('J') ? 'prior-auth.json commercial [UNVERIFIED]' : undefined),
    ...over,
  });
  const visits = (...dates: string[]): AlertOptions['scheduled'] =>
    dates.map((date) => ({ encounter: `Encounter/planned-${date}`, date }));

  test('running out within the next N booked visits, at the units one visit uses; not when they are covered', () => {
    const ledger = authorizationLedger(
      inputs({ charges: [charge('a', '2026-11-05', 100), charge('b', '2026-11-12', 100)] }),
    );
    // 100 left, 100 per visit: the second of three booked visits runs out.
    const [alert, ...more] = ledgerAlerts(
      ledger,
      options({ scheduled: visits('2026-12-17', '2026-12-10', '2027-01-07', '2027-01-14') }),
    );
    expect(more).toEqual([]);
    expect(alert).toMatchObject({
      kind: 'authorization-running-out',
      focus: 'ClaimResponse/cr-1',
      number: 'PA-1',
      code: 'J1745',
      figures: { remaining: 100, perVisit: 100, visitsBooked: 3, nextVisit: '2026-12-10' },
    });
    expect(alert?.text).toContain('runs out at the visit of 2026-12-17');
    // One visit booked ahead: covered.
    expect(ledgerAlerts(ledger, options({ scheduled: visits('2026-12-10') }))).toEqual([]);
    // N = 1: only the next visit matters.
    expect(
      ledgerAlerts(ledger, options({ visitsAhead: 1, scheduled: visits('2026-12-10', '2026-12-17') })),
    ).toEqual([]);
    // Visits before today or after the authorization ends do not count.
    expect(
      ledgerAlerts(
        ledger,
        options({ scheduled: visits('2026-12-01', '2026-12-03', '2027-05-02', '2027-06-01') }),
      ),
    ).toEqual([]);
  });

  test('used beyond the authorization, or used up with a visit booked', () => {
    const beyond = authorizationLedger(
      inputs({ charges: [charge('a', '2026-11-05', 250), charge('b', '2026-11-12', 100)] }),
    );
    const [over] = ledgerAlerts(beyond, options());
    expect(over?.text).toMatch(/PA-1.*J1745.*50 beyond/);
    const usedUp = authorizationLedger(inputs({ charges: [charge('a', '2026-11-05', 300)] }));
    expect(ledgerAlerts(usedUp, options())).toEqual([]);
    expect(ledgerAlerts(usedUp, options({ scheduled: visits('2026-12-10') }))[0]?.text).toContain(
      'none left',
    );
  });

  test('expiring within 14 days (the tenant’s days), with what is left and what is booked after', () => {
    const given = inputs({
      authorizations: [
        auth({
          end: '2026-12-18',
          services: [{ code: 'J1745', units: 300, start: '2026-11-01', end: '2026-12-18' }],
        }),
      ],
      charges: [charge('a', '2026-11-05', 100)],
    });
    const ledger = authorizationLedger(given);
    const [alert] = ledgerAlerts(ledger, options({ scheduled: visits('2026-12-28') }));
    expect(alert).toMatchObject({
      kind: 'authorization-expiring',
      number: 'PA-1',
      figures: { daysLeft: 14, visitsBookedAfter: 1 },
    });
    expect(alert?.text).toContain('J1745 200 unit(s) left');
    expect(ledgerAlerts(ledger, options({ expiringDays: 13 }))).toEqual([]);
    // Already expired: not in force, nothing to extend.
    expect(ledgerAlerts(authorizationLedger({ ...given, today: '2026-12-19' }), options())).toEqual([]);
  });

  test('an infusion given without an authorization, when the payer requires one for the code', () => {
    const ledger = authorizationLedger(
      inputs({
        authorizations: [],
        charges: [
          charge('a', '2026-11-05', 100),
          charge('b', '2026-11-12', 80),
          charge('h', '2026-11-12', 2, { code: '96365' }),
        ],
      }),
    );
    const alerts = ledgerAlerts(ledger, options());
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      kind: 'authorization-missing',
      code: 'J1745',
      focus: 'ChargeItem/a',
      figures: { dates: '2026-11-05, 2026-11-12', units: 180, administrations: 2 },
    });
    expect(alerts[0]?.text).toContain('COMM1');
    expect(ledgerAlerts(ledger, options({ requirement: () => undefined }))).toEqual([]);
  });
});
