/**
 * The request guards every route gets: a URL whose percent-encoding does not decode, and a body
 * whose JSON shape is not the one its handler reads, are 400s with an OperationOutcome (the review
 * found 500s for both: URIError from path parameters, TypeError in $infusion-charges).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fhirBodyShapeProblem } from '../../src/fhir/body-shape.ts';
import { objectBodyShapeProblem } from '../../src/http/body-shape.ts';
import { percentEncodingValid } from '../../src/http/request-guards.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer({}, { ingest: false, chargeCapture: false, claims: false });
  token = await server.token('sandbox', 'system/*.cruds');
});
afterAll(async () => {
  await server.stop();
});

function expectOutcome(res: { status: number; body: any }, status: number, text: RegExp): void {
  expect(res.status).toBe(status);
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue.map((i: any) => i.details?.text ?? '').join(' ')).toMatch(text);
}

describe('percent-encoding', () => {
  const BAD = ['%ED%A0%80', '%C0%AF', '%'];
  test.each(
    BAD.flatMap((bad) => [
      ['GET', `/api/claims/x12-batches/${bad}`],
      ['POST', `/api/claims/${bad}/override`],
      ['GET', `/fhir/Claim/${bad}/$x12`],
      ['POST', `/ehr/${bad}/notify`],
      ['PUT', `/ehr/conn/notify/Patient/${bad}`],
      ['GET', `/fhir/Patient/${bad}`],
      ['GET', `/fhir/Patient?name=${bad}`],
    ]),
  )('%s %s → 400', async (method, path) => {
    const authenticated = !path.startsWith('/ehr/');
    const res = await fhirFetch(`${server.url}${path}`, authenticated ? token : undefined, {
      method,
      ...(method === 'GET' ? {} : { body: { reason: 'a reason' } }),
    });
    expectOutcome(res, 400, /percent-encoding/);
  });

  test('valid encodings pass', () => {
    expect(percentEncodingValid('/fhir/Patient/a%20b?name=Jos%C3%A9&x=%25')).toBe(true);
    expect(percentEncodingValid('/fhir/Patient/%F0%9F%98%80')).toBe(true);
    expect(percentEncodingValid('/fhir/Patient?name=%E0%A4%A')).toBe(false);
  });
});

describe('$infusion-charges body shapes', () => {
  const url = (): string => `${server.fhir}/Encounter/$infusion-charges`;
  const withEntry = (resource: unknown): unknown => ({
    resourceType: 'Parameters',
    parameter: [
      { name: 'setting', valueCode: 'office' },
      { name: 'bundle', resource: { resourceType: 'Bundle', type: 'collection', entry: [{ resource }] } },
    ],
  });

  test('parameter: [null] → 400', async () => {
    const res = await fhirFetch(url(), token, {
      method: 'POST',
      body: { resourceType: 'Parameters', parameter: [null] },
    });
    expectOutcome(res, 400, /Parameters\.parameter\[0\] is null/);
    expect(res.body.issue[0].expression).toEqual(['Parameters.parameter[0]']);
  });

  test.each([null, 3, 'text', true, false, [], { id: 'no-type' }, { resourceType: 'Spaceship' }])(
    'a bundle entry whose resource is %p → 400',
    async (resource) => {
      const res = await fhirFetch(url(), token, { method: 'POST', body: withEntry(resource) });
      expectOutcome(res, 400, /Parameters\.parameter\[1\]\.resource\.entry\[0\]\.resource/);
    },
  );
});

describe('FHIR body shape', () => {
  test.each([
    ['a null element', { resourceType: 'Patient', birthDate: null }, 'Patient.birthDate'],
    ['a number for an object', { resourceType: 'Patient', meta: 5 }, 'Patient.meta'],
    ['an object for a primitive', { resourceType: 'Patient', birthDate: {} }, 'Patient.birthDate'],
    ['a boolean in an array of objects', { resourceType: 'Patient', name: [true] }, 'Patient.name[0]'],
    ['a single value for an array', { resourceType: 'Patient', name: { family: 'A' } }, 'Patient.name'],
    ['an array for a single value', { resourceType: 'Patient', gender: ['female'] }, 'Patient.gender'],
    ['a string for a boolean', { resourceType: 'Patient', active: 'true' }, 'Patient.active'],
    ['a number as a contained resource', { resourceType: 'Patient', contained: [3] }, 'Patient.contained[0]'],
    [
      'a choice element of the wrong type',
      { resourceType: 'Patient', deceasedBoolean: 'no' },
      'Patient.deceasedBoolean',
    ],
    [
      'an unaligned null in a primitive array',
      { resourceType: 'Patient', name: [{ given: ['A', null] }] },
      'Patient.name[0].given[1]',
    ],
  ])('%s is refused where it is', (_name, body, expression) => {
    expect(fhirBodyShapeProblem(body)?.expression).toBe(expression);
  });

  test.each([
    ['a plain resource', { resourceType: 'Patient', name: [{ family: 'A', given: ['B'] }] }],
    [
      'nulls aligning primitive values with their extensions (R4 JSON)',
      {
        resourceType: 'Patient',
        name: [
          {
            given: ['A', null],
            _given: [null, { extension: [{ url: 'http://example.org/x', valueString: 'y' }] }],
          },
        ],
      },
    ],
    ['unknown properties (left to validation)', { resourceType: 'Patient', nickname: 'x' }],
    ['a decimal', { resourceType: 'Observation', valueQuantity: { value: 1.5 } }],
  ])('%s passes', (_name, body) => {
    expect(fhirBodyShapeProblem(body)).toBeUndefined();
  });

  test('a body that is not a resource', () => {
    for (const body of [null, [], 'x', 3, {}, { resourceType: 'Spaceship' }]) {
      expect(fhirBodyShapeProblem(body)).toBeDefined();
    }
    expect(objectBodyShapeProblem([])?.message).toMatch(/JSON object/);
    expect(objectBodyShapeProblem({ reason: 'x' })).toBeUndefined();
  });
});
