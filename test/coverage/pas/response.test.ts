/**
 * Every PAS answer form is read into the right decision: the IG 2.2.1 response examples, the Inferno
 * test kit's and the reference implementation's (older-style, read but marked nonconformant), and
 * Dripline's own answers for the forms no example shows (A2, A6 with addItem, reasons and notes,
 * more information).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import type { Bundle, ClaimResponse } from '@medplum/fhirtypes';
import { readPasInquiry, readPasResponse } from '../../../src/coverage/pas/response.ts';
import type { PasReading } from '../../../src/coverage/pas/response.ts';
import { PAS_EXT, PAS_X12 } from '../../../src/contract/pas.ts';
import { describeShared } from '../../support/shared.ts';

const summary = (r: PasReading): unknown => ({
  status: r.status,
  number: r.number,
  items: r.items.map((i) => [i.sequence, i.reviewCode, i.status]),
  conformant: r.nonconformance === undefined,
});

describeShared(['conformance', 'pas'], 'the PAS response examples', (dir) => {
  const read = (file: string): unknown => JSON.parse(readFileSync(path.join(dir, file), 'utf8'));

  test.each([
    [
      'ig-2.2.1/Bundle-ReferralAuthorizationResponseBundleExample.json',
      'certified',
      'AUTH0001',
      [[1, 'A1', 'certified']],
      true,
    ],
    [
      'ig-2.2.1/Bundle-ReferralPendingAuthorizationResponseBundleExample.json',
      'pended',
      undefined,
      [[1, 'A4', 'pended']],
      true,
    ],
    ['ig-2.2.1/Bundle-RejectionResponseBundleExample.json', 'denied', undefined, [[1, 'A3', 'denied']], true],
    ['ig-2.2.1/Bundle-ErrorResponseBundleExample.json', 'error', undefined, [], true],
    ['ig-2.2.1/OperationOutcome-InvalidRequestResponse.json', 'rejected', undefined, [], true],
    // A bare ClaimResponse (PAS answers with a Bundle): read, not acted on.
    [
      'ig-2.2.1/ClaimResponse-PractitionerRequestorAdditionalContentResponseExample.json',
      'certified',
      'AUTH0001',
      [[1, 'A1', 'certified']],
      false,
    ],
    // Inferno's 2.0.1-era bundles lack what 2.2.1 requires.
    ['inferno/valid_pa_response_bundle.json', 'certified', 'AUTH0001', [[1, 'A1', 'certified']], false],
    ['inferno/valid_pa_response_bundle_denial.json', 'denied', 'AUTH0001', [[1, 'A3', 'denied']], false],
    // The reference implementation: one claim-level reviewAction, no items; `queued` for pended.
    [
      'ri/GrantedResponse.json',
      'certified',
      'ee7f76f8-5e4e-4733-8f85-3fe3c29cf30f',
      [[0, 'A1', 'certified']],
      false,
    ],
    [
      'ri/DeniedResponse.json',
      'denied',
      '451fe716-4701-4cdf-b5bb-a6eedbe43bbb',
      [[0, 'A3', 'denied']],
      false,
    ],
    [
      'ri/PendedClaimResponse.json',
      'pended',
      '68a03b6d-b792-4de3-95e6-abf36eacb9bc',
      [[0, 'A4', 'pended']],
      false,
    ],
    [
      'ri/PendedFinalResponse.json',
      'certified',
      '8373b834-7369-4a11-a2bf-0b72614cf1e9',
      [[0, 'A1', 'certified']],
      false,
    ],
    ['ri/bundle-response.json', 'certified', undefined, [[0, 'A1', 'certified']], false],
  ])('%s → %s', (file, status, number, items, conformant) => {
    expect(summary(readPasResponse(read(file)))).toEqual({ status, number, items, conformant });
  });

  test('the approval: certification number, authorized period and units', () => {
    const r = readPasResponse(read('ig-2.2.1/Bundle-ReferralAuthorizationResponseBundleExample.json'));
    expect(r.items[0]).toMatchObject({
      number: 'AUTH0001',
      period: { start: '2005-05-02', end: '2005-06-02' },
      authorized: { code: '3', units: 1 },
    });
    expect(r.request).toEqual({ reference: 'Claim/ReferralAuthorizationExample' });
  });

  test('the pend: the payer reference number of the item', () => {
    expect(
      readPasResponse(read('ig-2.2.1/Bundle-ReferralPendingAuthorizationResponseBundleExample.json')).items[0]
        ?.payerReference,
    ).toBe('PEND0001');
  });

  test('the error bundle: X12 901 codes with the element, path and follow-up action', () => {
    expect(readPasResponse(read('ig-2.2.1/Bundle-ErrorResponseBundleExample.json')).errors).toEqual([
      { code: '04' },
      { code: 'T4', element: '2010A-NM103', path: 'Bundle.entry[1].Organization.name', followup: 'C' },
    ]);
  });

  test('an addItem paired with no request item is a service the payer added', () => {
    const r = readPasResponse(
      read('ig-2.2.1/ClaimResponse-PractitionerRequestorAdditionalContentResponseExample.json'),
    );
    expect(r.added).toHaveLength(1);
  });

  test.each([
    ['ig-2.2.1/Parameters-PASClaimInquiryOperationResponseExample.json', true],
    ['ig-2.2.1/Bundle-PASClaimInquiryResponseBundleExample.json', false],
    ['inferno/valid_pa_inquire_response_bundle.json', false],
  ])('$inquire answer %s: certified AUTH0001 (conformant: %s)', (file, conformant) => {
    const readings = readPasInquiry(read(file));
    expect(readings.map(summary)).toEqual([
      { status: 'certified', number: 'AUTH0001', items: [[1, 'A1', 'certified']], conformant },
    ]);
  });
});

describe('forms no example shows', () => {
  const review = (code: string, extra: object[] = []): object => ({
    category: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/adjudication', code: 'submitted' }],
    },
    extension: [
      {
        url: PAS_EXT.reviewAction,
        extension: [
          {
            url: PAS_EXT.reviewActionCode,
            valueCodeableConcept: { coding: [{ system: PAS_X12.reviewAction, code }] },
          },
          ...extra,
        ],
      },
    ],
  });
  const response = (cr: Partial<ClaimResponse>): Bundle => ({
    resourceType: 'Bundle',
    identifier: { system: 'urn:x', value: '1' },
    type: 'collection',
    timestamp: '2026-12-04T10:00:00Z',
    entry: [
      {
        fullUrl: 'http://payer.test/fhir/ClaimResponse/r1',
        resource: {
          resourceType: 'ClaimResponse',
          id: 'r1',
          status: 'active',
          type: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
          },
          use: 'preauthorization',
          patient: { reference: 'Patient/p' },
          created: '2026-12-04T10:00:00Z',
          insurer: { reference: 'Organization/o' },
          request: { reference: 'Claim/c' },
          outcome: 'complete',
          ...cr,
        },
      },
    ],
  });

  test('A6 modified: what was authorized is the paired addItem (fewer units, its own number and period)', () => {
    const r = readPasResponse(
      response({
        item: [{ itemSequence: 1, adjudication: [review('A6')] as never }],
        addItem: [
          {
            itemSequence: [1],
            productOrService: {
              coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'J1745' }],
            },
            quantity: { value: 80 },
            extension: [
              { url: PAS_EXT.itemPreAuthPeriod, valuePeriod: { start: '2026-12-07', end: '2027-03-06' } },
            ],
            adjudication: [review('A1', [{ url: 'number', valueString: 'AUTH-9' }])] as never,
          },
        ],
      }),
    );
    expect(r.nonconformance).toBeUndefined();
    expect(r.status).toBe('modified');
    expect(r.items[0]).toMatchObject({
      status: 'modified',
      number: 'AUTH-9',
      authorized: { code: 'J1745', units: 80, period: { start: '2026-12-07', end: '2027-03-06' } },
    });
    expect(r.added).toEqual([]);
  });

  test('a denial with X12 886 reasons and the note the item points at; A1 and A3 together are partial', () => {
    const r = readPasResponse(
      response({
        item: [
          {
            itemSequence: 1,
            noteNumber: [1],
            adjudication: [
              review('A3', [
                {
                  url: 'reasonCode',
                  valueCodeableConcept: { coding: [{ system: PAS_X12.decisionReason, code: 'MN' }] },
                },
              ]),
            ] as never,
          },
          {
            itemSequence: 2,
            adjudication: [review('A1', [{ url: 'number', valueString: 'AUTH-2' }])] as never,
          },
        ],
        processNote: [{ number: 1, text: 'Step therapy with a preferred agent first' }],
      }),
    );
    expect(r.status).toBe('partial');
    expect(r.items[0]).toMatchObject({
      status: 'denied',
      reasons: ['MN'],
      notes: ['Step therapy with a preferred agent first'],
    });
    expect(r.number).toBe('AUTH-2');
  });

  test('a pend with a CommunicationRequest for attachments asks for more information', () => {
    const b = response({
      item: [{ itemSequence: 1, adjudication: [review('A4')] as never }],
      communicationRequest: [{ reference: 'CommunicationRequest/cr1' }],
    });
    b.entry!.push({
      fullUrl: 'http://payer.test/fhir/CommunicationRequest/cr1',
      resource: {
        resourceType: 'CommunicationRequest',
        id: 'cr1',
        status: 'active',
        payload: [{ contentString: 'Recent infusion flowsheet' }],
      },
    });
    const r = readPasResponse(b);
    expect(r.status).toBe('pended');
    expect(r.moreInformation.map((x) => x.resourceType)).toEqual(['CommunicationRequest']);
  });

  test('outcome queued (removed in 2.2.1), a Bundle without a ClaimResponse, a Patient: read as nonconformant', () => {
    const queued = readPasResponse(
      response({ outcome: 'queued', item: [{ itemSequence: 1, adjudication: [review('A4')] as never }] }),
    );
    expect(queued.nonconformance?.issue?.map((i) => i.details?.text).join()).toMatch(/pas-outcome/);
    expect(readPasResponse({ resourceType: 'Bundle', type: 'collection', entry: [] })).toMatchObject({
      status: 'error',
    });
    expect(readPasResponse({ resourceType: 'Patient' }).nonconformance?.issue?.[0]?.details?.text).toBe(
      'The answer is a Patient, not a PAS Response Bundle',
    );
    expect(readPasResponse('<html>').status).toBe('error');
  });
});
