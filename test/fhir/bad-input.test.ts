/**
 * Every bad input gets its 4xx with an OperationOutcome saying what is wrong — never a 500 — and
 * nothing is half-written.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { patient } from './fixtures.ts';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer({ MAX_BODY_BYTES: '20000', MAX_JSON_DEPTH: '32' });
  token = await server.token('sandbox', 'system/*.cruds');
});
afterAll(async () => {
  await server.stop();
});

function expectOutcome(res: { status: number; body: any }, status: number, text: RegExp): void {
  expect(res.status).toBe(status);
  expect(res.body.resourceType).toBe('OperationOutcome');
  const details = res.body.issue.map((i: any) => `${i.details?.text ?? ''} ${i.diagnostics ?? ''}`).join(' ');
  expect(details).toMatch(text);
}

async function countPatients(): Promise<number> {
  const res = await fhirFetch(`${server.fhir}/Patient?_count=0`, token);
  return res.body.total;
}

describe('bad bodies', () => {
  test.each([
    [
      'malformed JSON',
      { rawBody: '{"resourceType": "Patient",', headers: { 'content-type': 'application/fhir+json' } },
      400,
      /Malformed JSON/,
    ],
    [
      'wrong content type',
      { rawBody: '<Patient/>', headers: { 'content-type': 'application/fhir+xml' } },
      415,
      /Content-Type/,
    ],
    ['no content type', { rawBody: '{}', headers: {} }, 415, /Content-Type/],
    ['empty body', { rawBody: '', headers: { 'content-type': 'application/fhir+json' } }, 400, /empty/],
    [
      'oversize body',
      {
        body: {
          ...patient('BIG'),
          text: {
            status: 'generated',
            div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(30000)}</div>`,
          },
        },
      },
      413,
      /too large/,
    ],
    [
      'deep nesting',
      {
        rawBody: `{"resourceType":"Patient","extension":${'['.repeat(40)}${']'.repeat(40)}}`,
        headers: { 'content-type': 'application/json' },
      },
      400,
      /nesting/,
    ],
    [
      '__proto__ key',
      {
        rawBody: '{"resourceType":"Patient","__proto__":{"admin":true}}',
        headers: { 'content-type': 'application/json' },
      },
      400,
      /__proto__/,
    ],
    [
      'escaped __proto__ key',
      {
        rawBody: '{"resourceType":"Patient","name":[{"\\u005f_proto__":{"x":1}}]}',
        headers: { 'content-type': 'application/json' },
      },
      400,
      /__proto__/,
    ],
    ['a JSON array', { rawBody: '[]', headers: { 'content-type': 'application/json' } }, 400, /resourceType/],
    ['no resourceType', { body: { name: [{ family: 'X' }] } }, 400, /resourceType/],
    [
      'invalid resource (unknown property)',
      { body: { resourceType: 'Patient', nickname: 'x' } },
      400,
      /nickname/,
    ],
    [
      'invalid resource (bad date)',
      { body: { resourceType: 'Patient', birthDate: '1958-02-30' } },
      400,
      /date/i,
    ],
    [
      'type mismatch with URL',
      { body: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } } },
      400,
      /resource type/i,
    ],
  ])('%s', async (_name, init, status, text) => {
    const before = await countPatients();
    const res = await fhirFetch(`${server.fhir}/Patient`, token, { method: 'POST', ...(init as any) });
    expectOutcome(res, status, text);
    expect(await countPatients()).toBe(before);
  });

  test('PUT with an id that differs from the URL', async () => {
    const created = await fhirFetch(`${server.fhir}/Patient`, token, {
      method: 'POST',
      body: patient('PUT-1'),
    });
    const res = await fhirFetch(`${server.fhir}/Patient/${created.body.id}`, token, {
      method: 'PUT',
      body: { ...created.body, id: 'someone-else' },
    });
    expectOutcome(res, 400, /ID/i);
    const read = await fhirFetch(`${server.fhir}/Patient/${created.body.id}`, token);
    expect(read.body.meta.versionId).toBe('1');
  });
});

describe('bad URLs and methods', () => {
  test.each([
    ['unknown resource type', 'GET', '/fhir/Spaceship/1', 404, /Spaceship/],
    ['unknown resource type search', 'GET', '/fhir/Spaceship?name=x', 404, /Spaceship/],
    ['unknown id', 'GET', '/fhir/Patient/nope', 404, /not found/i],
    ['unknown version', 'GET', '/fhir/Patient/nope/_history/9', 404, /not found/i],
    ['unknown search parameter', 'GET', '/fhir/Patient?shoe-size=42', 400, /shoe-size/],
    ['bad date value', 'GET', '/fhir/Encounter?date=yesterday', 400, /date/i],
    ['unsupported modifier', 'GET', '/fhir/Patient?name:contains=al', 400, /contains/],
    ['unsupported prefix', 'GET', '/fhir/Encounter?date=ap2026-01-01', 400, /ap/],
    ['bad _count', 'GET', '/fhir/Patient?_count=-1', 400, /_count/],
    ['bad _sort', 'GET', '/fhir/Encounter?_sort=subject', 400, /sort/i],
    ['bad _include', 'GET', '/fhir/Encounter?_include=Encounter:status', 400, /_include/],
    ['reference without type', 'GET', '/fhir/Encounter?subject=123', 400, /Type\/id/],
    ['unknown route', 'GET', '/not-a-route', 404, /No route/],
    ['wrong method: DELETE', 'DELETE', '/fhir/Patient/abc', 405, /delete/i],
    ['wrong method: PATCH', 'PATCH', '/fhir/Patient/abc', 405, /patch/i],
    ['client writes an AuditEvent', 'POST', '/fhir/AuditEvent', 405, /create/i],
    ['batch/transaction', 'POST', '/fhir', 405, /not supported|not allowed/i],
  ])('%s', async (_name, method, path, status, text) => {
    const needsBody = method === 'POST' || method === 'PATCH';
    const res = await fhirFetch(`${server.url}${path}`, token, {
      method,
      ...(needsBody ? { body: { resourceType: 'Bundle', type: 'batch' } } : {}),
    });
    expectOutcome(res, status, text);
  });

  test('405 names the allowed methods', async () => {
    const res = await fhirFetch(`${server.fhir}/Patient/abc`, token, { method: 'DELETE' });
    expect(res.headers.get('allow')).toBeTruthy();
  });

  test('the server is still healthy after all of that', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(server.logs.join('')).not.toMatch(/unhandled error/);
  });
});
