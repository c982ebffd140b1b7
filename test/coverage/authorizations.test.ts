/**
 * Prior authorizations on file (src/coverage/authorizations.ts): what a stored preauthorization
 * ClaimResponse authorizes, read from hand-written Da Vinci PAS-shaped responses and, when
 * ../shared is present, from the official PAS 2.2.1 IG examples.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import type { Bundle, ChargeItem, Claim, ClaimResponse, ClaimResponseItem } from '@medplum/fhirtypes';
import { validateResource } from '@medplum/core';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import {
  authorizationOnFile,
  authorizationsOf,
  EXT_AUTHORIZATION_NUMBER,
  EXT_ITEM_AUTHORIZED_DETAIL,
  EXT_ITEM_PREAUTH_PERIOD,
  EXT_REVIEW_ACTION,
  EXT_REVIEW_ACTION_CODE,
  servicesFor,
  withinDates,
} from '../../src/coverage/authorizations.ts';
import { authorizationLedger, numbersFor } from '../../src/coverage/ledger.ts';
import { describeShared } from '../support/shared.ts';

const X12_306 = 'https://codesystem.x12.org/005010/306';

function reviewed(code: string, number?: string): ClaimResponseItem['adjudication'][number] {
  return {
    category: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/adjudication', code: 'submitted' }],
    },
    extension: [
      {
        url: EXT_REVIEW_ACTION,
        extension: [
          ...(number ? [{ url: 'number', valueString: number }] : []),
          { url: EXT_REVIEW_ACTION_CODE, valueCodeableConcept: { coding: [{ system: X12_306, code }] } },
        ],
      },
    ],
  };
}

const request: Claim = {
  resourceType: 'Claim',
  id: 'pa-req-1',
  status: 'active',
  use: 'preauthorization',
  type: { coding: [{ code: 'professional' }] },
  patient: { reference: 'Patient/p1' },
  created: '2026-10-01',
  provider: { display: 'Clinic' },
  priority: { coding: [{ code: 'normal' }] },
  insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/c1' } }],
  item: [
    {
      sequence: 1,
      productOrService: {
        coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'J1745' }],
      },
      quantity: { value: 200 },
    },
    {
      sequence: 2,
      productOrService: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '96413' }] },
      quantity: { value: 6 },
    },
  ],
};

function response(over: Partial<ClaimResponse>): ClaimResponse {
  return {
    resourceType: 'ClaimResponse',
    id: 'pa-resp-1',
    status: 'active',
    type: { coding: [{ code: 'professional' }] },
    use: 'preauthorization',
    patient: { reference: 'Patient/p1' },
    created: '2026-10-02',
    insurer: { identifier: { value: 'LSM01' } },
    outcome: 'complete',
    request: { reference: 'Claim/pa-req-1' },
    preAuthPeriod: { start: '2026-10-01', end: '2027-03-31' },
    ...over,
  };
}

describe('authorizationsOf', () => {
  test('A1 items authorize the requested code and units under the reviewAction number', () => {
    const [auth, ...rest] = authorizationsOf(
      [response({ item: [{ itemSequence: 1, adjudication: [reviewed('A1', 'AUTH-9')] }] })],
      [request],
    );
    expect(rest).toHaveLength(0);
    expect(auth).toEqual({
      number: 'AUTH-9',
      source: 'ClaimResponse/pa-resp-1',
      payerId: 'LSM01',
      patient: 'Patient/p1',
      start: '2026-10-01',
      end: '2027-03-31',
      services: [{ code: 'J1745', units: 200, start: '2026-10-01', end: '2027-03-31' }],
    });
  });

  test('preAuthRef wins over the item number; A3, A4 and A6 items authorize nothing; A6 + addItem authorizes the addItem', () => {
    const [auth] = authorizationsOf(
      [
        response({
          preAuthRef: 'PA-1',
          item: [
            { itemSequence: 1, adjudication: [reviewed('A6', 'AUTH-9')] },
            { itemSequence: 2, adjudication: [reviewed('A3')] },
          ],
          addItem: [
            {
              itemSequence: [1],
              productOrService: { coding: [{ code: 'j1745' }] },
              quantity: { value: 120 },
              adjudication: [reviewed('A1')],
              extension: [
                { url: EXT_ITEM_PREAUTH_PERIOD, valuePeriod: { start: '2026-11-01', end: '2026-12-31' } },
              ],
            },
          ],
        }),
      ],
      [request],
    );
    expect(auth?.number).toBe('PA-1');
    expect(auth?.services).toEqual([{ code: 'J1745', units: 120, start: '2026-11-01', end: '2026-12-31' }]);
  });

  test('pended, denied, errored, cancelled, non-preauthorization and numberless responses grant nothing', () => {
    const responses = [
      response({ item: [{ itemSequence: 1, adjudication: [reviewed('A4', 'PEND-1')] }] }),
      response({ item: [{ itemSequence: 1, adjudication: [reviewed('A3', 'DEN-1')] }] }),
      response({ preAuthRef: 'X', outcome: 'error' }),
      response({ preAuthRef: 'X', status: 'cancelled' }),
      response({ preAuthRef: 'X', use: 'claim' }),
      response({}),
    ];
    expect(authorizationsOf(responses, [request])).toEqual([]);
  });

  test('a response with no items authorizes any service in its dates (an authorization recorded by hand)', () => {
    const [auth] = authorizationsOf([response({ preAuthRef: 'PORTAL-77' })]);
    expect(auth?.services).toEqual([]);
    expect(servicesFor(auth!, 'j9999')).toEqual([{ code: 'j9999', start: '2026-10-01', end: '2027-03-31' }]);
  });

  test('an approved item whose request Claim is not on file names no service', () => {
    expect(
      authorizationsOf([response({ item: [{ itemSequence: 1, adjudication: [reviewed('A1', 'A')] }] })]),
    ).toEqual([]);
  });
});

describe('authorizationsOf: what PAS answers carry beyond the review code', () => {
  const detail = (code: string | undefined, quantity: { value: number; unit?: string; code?: string }) => ({
    url: EXT_ITEM_AUTHORIZED_DETAIL,
    extension: [
      ...(code
        ? [
            {
              url: 'productOrServiceCode',
              valueCodeableConcept: {
                coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code }],
              },
            },
          ]
        : []),
      { url: 'quantity', valueQuantity: quantity },
    ],
  });

  test('itemAuthorizedDetail says what was authorized: fewer units than requested (A2), another code', () => {
    const [auth] = authorizationsOf(
      [
        response({
          item: [
            {
              itemSequence: 1,
              adjudication: [reviewed('A2', 'AUTH-9')],
              extension: [detail(undefined, { value: 120, unit: 'units' })],
            },
            {
              itemSequence: 2,
              adjudication: [reviewed('A1', 'AUTH-9')],
              extension: [detail('96365', { value: 4 })],
            },
          ],
        }),
      ],
      [request],
    );
    expect(auth?.services).toEqual([
      { code: 'J1745', units: 120, start: '2026-10-01', end: '2027-03-31' },
      { code: '96365', units: 4, start: '2026-10-01', end: '2027-03-31' },
    ]);
  });

  test('items under different numbers are different authorizations; the REF*BB authorizationNumber counts when no certification number is given', () => {
    const auths = authorizationsOf(
      [
        response({
          item: [
            { itemSequence: 1, adjudication: [reviewed('A1', 'AUTH-DRUG')] },
            {
              itemSequence: 2,
              adjudication: [reviewed('A1')],
              extension: [{ url: EXT_AUTHORIZATION_NUMBER, valueString: 'REF-BB-7' }],
            },
          ],
        }),
      ],
      [request],
    );
    expect(auths.map((a) => [a.number, a.services.map((s) => s.code)])).toEqual([
      ['AUTH-DRUG', ['J1745']],
      ['REF-BB-7', ['96413']],
    ]);
  });

  test('a quantity in visits (X12 673 VS, or the unit) limits visits, not units; an A6 addItem without a number takes its item’s', () => {
    const [auth] = authorizationsOf(
      [
        response({
          item: [{ itemSequence: 1, adjudication: [reviewed('A6', 'AUTH-M')] }],
          addItem: [
            {
              itemSequence: [1],
              productOrService: { coding: [{ code: 'J1745' }] },
              quantity: { value: 6, code: 'VS', system: 'https://codesystem.x12.org/005010/673' },
              adjudication: [reviewed('A1')],
            },
            {
              itemSequence: [1],
              productOrService: { coding: [{ code: '96413' }] },
              adjudication: [reviewed('A1')],
              extension: [detail(undefined, { value: 6, unit: 'visits' })],
            },
          ],
        }),
      ],
      [request],
    );
    expect(auth?.number).toBe('AUTH-M');
    expect(auth?.services).toEqual([
      { code: 'J1745', visits: 6, start: '2026-10-01', end: '2027-03-31' },
      { code: '96413', visits: 6, start: '2026-10-01', end: '2027-03-31' },
    ]);
  });

  test('without preAuthPeriod an authorization spans its services’ own periods', () => {
    const [auth] = authorizationsOf(
      [
        response({
          preAuthPeriod: undefined,
          item: [
            {
              itemSequence: 1,
              adjudication: [reviewed('A1', 'AUTH-P')],
              extension: [
                { url: EXT_ITEM_PREAUTH_PERIOD, valuePeriod: { start: '2026-11-01', end: '2027-01-31' } },
              ],
            },
            {
              itemSequence: 2,
              adjudication: [reviewed('A1', 'AUTH-P')],
              extension: [
                { url: EXT_ITEM_PREAUTH_PERIOD, valuePeriod: { start: '2026-10-15', end: '2026-12-31' } },
              ],
            },
          ],
        }),
      ],
      [request],
    );
    expect([auth?.start, auth?.end]).toEqual(['2026-10-15', '2027-01-31']);
  });
});

describe('authorizationOnFile', () => {
  test('an authorization recorded by hand reads back as what was given, and validates as R4', () => {
    const recorded = authorizationOnFile({
      patient: 'Patient/p1',
      payerId: 'LSM01',
      number: 'PORTAL-123',
      start: '2026-11-01',
      end: '2027-04-30',
      services: [{ code: 'J1745', units: 160 }],
      now: new Date('2026-11-01T12:00:00Z'),
    });
    loadFhirDefinitions();
    expect(() => validateResource(recorded)).not.toThrow();
    expect(authorizationsOf([{ ...recorded, id: 'cr-1' }])).toEqual([
      {
        number: 'PORTAL-123',
        source: 'ClaimResponse/cr-1',
        payerId: 'LSM01',
        patient: 'Patient/p1',
        start: '2026-11-01',
        end: '2027-04-30',
        services: [{ code: 'J1745', units: 160, start: '2026-11-01', end: '2027-04-30' }],
      },
    ]);
  });
});

describe('the numbers a claim carries (the ledger counts its charges under them), and withinDates', () => {
  const auths = authorizationsOf(
    [
      response({
        id: 'a',
        preAuthRef: 'PA-LSM',
        addItem: [{ productOrService: { coding: [{ code: 'J1745' }] }, adjudication: [] }],
      }),
      response({ id: 'b', preAuthRef: 'PA-OTHER-PAYER', insurer: { identifier: { value: 'CHP22' } } }),
      response({
        id: 'c',
        preAuthRef: 'PA-EXPIRED',
        preAuthPeriod: { start: '2025-01-01', end: '2025-12-31' },
      }),
    ],
    [request],
  );

  test('numbers of the payer whose authorizations cover a charge (code and date)', () => {
    const numbers = (payerId: string, code: string, date: string): string[] => {
      const charge: ChargeItem = {
        resourceType: 'ChargeItem',
        id: 'c1',
        status: 'billable',
        code: { coding: [{ code }] },
        subject: { reference: 'Patient/p1' },
        occurrenceDateTime: date,
        quantity: { value: 1 },
      };
      const ledger = authorizationLedger({
        authorizations: auths,
        charges: [charge],
        claims: [],
        defaultPayerId: payerId,
        today: '2026-12-04',
      });
      return numbersFor(ledger, ['ChargeItem/c1']);
    };
    expect(numbers('LSM01', 'J1745', '2026-11-20')).toEqual(['PA-LSM']);
    expect(numbers('LSM01', 'J0135', '2026-11-20')).toEqual([]);
    expect(numbers('CHP22', 'J0135', '2026-11-20')).toEqual(['PA-OTHER-PAYER']);
    expect(numbers('LSM01', 'J1745', '2027-04-01')).toEqual([]);
  });

  test('date ranges are inclusive and open ends are open', () => {
    expect(withinDates('2026-10-01', { start: '2026-10-01', end: '2026-10-01' })).toBe(true);
    expect(withinDates('2026-09-30', { start: '2026-10-01' })).toBe(false);
    expect(withinDates('2099-01-01', { start: '2026-10-01' })).toBe(true);
    expect(withinDates('2026-10-02', { end: '2026-10-01' })).toBe(false);
  });
});

// Official Da Vinci PAS 2.2.1 examples (../shared/conformance/pas, not copied into the repo).
describeShared(['conformance', 'pas', 'ig-2.2.1'], 'PAS 2.2.1 IG examples', (pasDir) => {
  const read = (file: string): Bundle => JSON.parse(readFileSync(path.join(pasDir, file), 'utf8')) as Bundle;
  const first = (bundle: Bundle, type: string): unknown =>
    bundle.entry?.map((e) => e.resource).find((r) => r?.resourceType === type);

  test('approved referral → AUTH0001 for the requested service and dates; pended and rejected → none', () => {
    const requestClaim = first(read('Bundle-ReferralAuthorizationBundleExample.json'), 'Claim') as Claim;
    const approved = first(
      read('Bundle-ReferralAuthorizationResponseBundleExample.json'),
      'ClaimResponse',
    ) as ClaimResponse;
    const [auth, ...more] = authorizationsOf([approved], [requestClaim]);
    expect(more).toHaveLength(0);
    expect(auth?.number).toBe('AUTH0001');
    const requested = requestClaim.item?.[0]?.productOrService.coding?.[0]?.code?.toUpperCase();
    // The units are the item's authorizedDetail quantity (1); its code is an X12 service type, so the
    // requested code stands.
    expect(auth?.services).toEqual([{ code: requested, units: 1, start: '2005-05-02', end: '2005-06-02' }]);
    for (const file of [
      'Bundle-ReferralPendingAuthorizationResponseBundleExample.json',
      'Bundle-RejectionResponseBundleExample.json',
    ]) {
      expect(authorizationsOf([first(read(file), 'ClaimResponse') as ClaimResponse], [requestClaim])).toEqual(
        [],
      );
    }
  });
});
